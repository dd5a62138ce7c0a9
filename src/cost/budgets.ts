import type { Clock } from '../clock.js';
import { atomicRunner, type Atomic, type Db } from '../db/database.js';
import { InvalidInputError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ALL_MODELS, type BudgetStore } from './budgetStore.js';
import type { BudgetLimits } from './budgetLimits.js';
import { nanoToUsd, usdToNano } from './prices.js';
import type { Pricing } from './pricing.js';
import { checkProvider } from './reservations.js';
import type { ThresholdPolicy } from './thresholdPolicy.js';
import type { BudgetStatus, SetBudgetRequest } from './types.js';

/** Budget CRUD: set, change or remove limits, and read them with their current spend. */
export class BudgetService {
  private readonly atomic: Atomic;

  constructor(
    private readonly d: {
      db: Db;
      clock: Clock;
      logger: Logger;
      pricing: Pricing;
      budgets: BudgetStore;
      limits: BudgetLimits;
      thresholds: ThresholdPolicy;
    },
  ) {
    this.atomic = atomicRunner(d.db);
  }

  /**
   * Sets, changes or removes limits. undefined keeps a limit, null removes it; a budget left
   * with no limit is deleted. Returns the budget with current spend.
   */
  setBudget(req: SetBudgetRequest): BudgetStatus {
    checkProvider(req.provider);
    if (req.dailyLimitUsd === undefined && req.monthlyLimitUsd === undefined) {
      throw new InvalidInputError('Give daily_limit and/or monthly_limit (USD, or null to remove that limit).');
    }
    for (const [k, v] of [['daily_limit', req.dailyLimitUsd], ['monthly_limit', req.monthlyLimitUsd]] as const) {
      if (v !== undefined && v !== null && (!Number.isFinite(v) || v < 0)) {
        throw new InvalidInputError(`${k} must be a finite number of USD >= 0, or null to remove it (got ${v}).`);
      }
    }
    const modelKey = req.model ? this.d.pricing.canonicalModel(req.provider, req.model) : ALL_MODELS;
    const now = this.d.clock.now();
    const { row, alerts } = this.atomic(() => {
      const existing = this.d.budgets.get(req.provider, modelKey);
      const pick = (given: number | null | undefined, old: number | null | undefined) =>
        given === undefined ? (old ?? null) : given === null ? null : usdToNano(given);
      const saved = this.d.budgets.put(
        req.provider,
        modelKey,
        pick(req.dailyLimitUsd, existing?.daily_limit_nusd),
        pick(req.monthlyLimitUsd, existing?.monthly_limit_nusd),
        now,
      );
      return { row: saved, alerts: saved ? this.d.thresholds.collect(req.provider, modelKey, now) : [] };
    });
    this.d.thresholds.publish(alerts);
    this.d.logger.info('budget set', { provider: req.provider, model: modelKey, daily: req.dailyLimitUsd, monthly: req.monthlyLimitUsd });
    if (!row) {
      return {
        provider: req.provider,
        model: modelKey === ALL_MODELS ? null : modelKey,
        daily_limit_usd: null,
        monthly_limit_usd: null,
        updated_at: new Date(now).toISOString(),
        daily: null,
        monthly: null,
      };
    }
    return this.d.limits.status(row, now);
  }

  /**
   * USD a new call to this model may still reserve: the least left (spent and reserved counted)
   * under any budget that applies to it, provider-wide or its own; undefined when none applies.
   */
  remainingUsd(provider: string, model: string): number | undefined {
    const left = this.d.limits.remaining(provider, this.d.pricing.canonicalModel(provider, model), this.d.clock.now());
    return left === undefined ? undefined : nanoToUsd(left);
  }

  /** Every budget with today's and this month's spend. */
  listBudgets(): BudgetStatus[] {
    return this.d.limits.list(this.d.clock.now());
  }
}
