import type { AlertCandidate, AlertRule, RuleBasics, RuleInput } from '../types.js';
import { RuleWithBasics } from '../types.js';

/** high_risk: the failure predictor rated a call above the threshold (its own when none is set). */
export class HighRiskRule extends RuleWithBasics implements AlertRule {
  readonly id = 'high_risk' as const;
  readonly events = ['risk.assessed'] as const;

  constructor(
    basics: RuleBasics,
    private readonly threshold: number | undefined,
  ) {
    super(basics);
  }

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'risk.assessed') return [];
    const e = input.event;
    const threshold = this.threshold ?? e.threshold;
    if (!(e.riskScore >= threshold)) return [];
    return this.modelAlert(e, (who) => `A call to ${who} is predicted to fail: risk ${e.riskScore.toFixed(2)} ≥ ${threshold.toFixed(2)}.`, {
      provider: e.provider,
      model: e.model,
      risk_score: e.riskScore,
      threshold,
      model_version: e.modelVersion,
    });
  }
}
