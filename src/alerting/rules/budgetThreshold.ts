import type { Severity } from '../config.js';
import type { AlertCandidate, AlertRule, RuleBasics, RuleInput } from '../types.js';
import { modelSubject, RuleWithBasics } from '../types.js';

/**
 * budget_threshold: the cost service's fact "spend crossed p% of a limit" (recorded once per
 * period across processes) becomes an alert when p is one of `percents`. Severity rises with p
 * unless configured.
 */
export class BudgetThresholdRule extends RuleWithBasics<RuleBasics & { severityConfigured: boolean }> implements AlertRule {
  readonly id = 'budget_threshold' as const;
  readonly events = ['budget.threshold'] as const;

  constructor(
    basics: RuleBasics & { severityConfigured: boolean },
    private readonly percents: readonly number[],
  ) {
    super(basics);
  }

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'budget.threshold') return [];
    const e = input.event;
    if (!this.percents.includes(e.thresholdPercent)) return [];
    const who = modelSubject(e.provider, e.model);
    const severity: Severity = this.basics.severityConfigured ? this.basics.severity : e.thresholdPercent >= 100 ? 'critical' : e.thresholdPercent >= 80 ? 'warning' : 'info';
    return [
      {
        rule: this.id,
        severity,
        subject: `${who} ${e.period} ${e.thresholdPercent}%`,
        group: `${who} ${e.period}`,
        message: `The ${e.period} budget of ${who} reached ${e.thresholdPercent}%: $${e.spentUsd.toFixed(2)} of $${e.limitUsd.toFixed(2)}.`,
        details: { provider: e.provider, model: e.model, period: e.period, threshold_percent: e.thresholdPercent, spent_usd: e.spentUsd, limit_usd: e.limitUsd },
      },
    ];
  }
}
