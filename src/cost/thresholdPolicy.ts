import type { BudgetThresholdEvent, EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { ALL_MODELS, type BudgetStore } from './budgetStore.js';
import type { BudgetLimits } from './budgetLimits.js';
import { formatUsd } from './money.js';
import { nanoToUsd } from './prices.js';

const THRESHOLDS = [50, 80, 100] as const;

/**
 * Threshold alerts: 50%, 80% and 100% of each limit, once per period across every process on the
 * file (the first writer to insert the budget_alerts row owns the alert). `collect` runs inside
 * the writing transaction; `publish` after it commits, as a log warning and a `budget.threshold`
 * event (alerting turns those into notifications).
 */
export class ThresholdPolicy {
  constructor(
    private readonly budgets: BudgetStore,
    private readonly limits: BudgetLimits,
    private readonly logger: Logger,
    private readonly events: EventBus,
  ) {}

  /** Inside a transaction: thresholds newly crossed, each recorded so it is sent once per period. */
  collect(provider: string, modelKey: string, now: number): BudgetThresholdEvent[] {
    const alerts: BudgetThresholdEvent[] = [];
    for (const row of this.budgets.applicable(provider, modelKey)) {
      for (const { period, range } of this.limits.periods(now)) {
        const limit = period === 'daily' ? row.daily_limit_nusd : row.monthly_limit_nusd;
        if (limit === null) continue;
        const spent = this.limits.spent(row, range);
        const percent = limit === 0 ? (spent > 0 ? Infinity : 0) : (spent / limit) * 100;
        for (const t of THRESHOLDS) {
          if (percent >= t && this.budgets.markAlert(row.provider, row.model_key, period, range.label, t, now)) {
            alerts.push({
              provider: row.provider,
              model: row.model_key === ALL_MODELS ? null : row.model_key,
              period,
              thresholdPercent: t,
              spentUsd: nanoToUsd(spent),
              limitUsd: nanoToUsd(limit),
              at: now,
            });
          }
        }
      }
    }
    return alerts;
  }

  publish(alerts: readonly BudgetThresholdEvent[]): void {
    for (const a of alerts) {
      this.logger.warn(
        `${a.period} budget for ${a.provider}${a.model ? ` model ${a.model}` : ''} reached ${a.thresholdPercent}%: ` +
          `${formatUsd(a.spentUsd)} of ${formatUsd(a.limitUsd)}`,
        { ...a },
      );
      this.events.emit('budget.threshold', a);
    }
  }
}
