import { BudgetExceededError } from '../errors.js';
import type { ZonedCalendar, PeriodRange } from '../zonedCalendar.js';
import { ALL_MODELS, toBudget, type BudgetRow, type BudgetStore } from './budgetStore.js';
import type { LedgerStore } from './ledgerStore.js';
import { formatUsd } from './money.js';
import { nanoToUsd } from './prices.js';
import type { BudgetStatus, PeriodStatus } from './types.js';

export type Period = 'daily' | 'monthly';

export interface ApplicableLimit {
  row: BudgetRow;
  period: Period;
  range: PeriodRange;
  /** nano-USD. */
  limit: number;
  spent: number;
  reserved: number;
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * The limit logic every writer and reader shares: which limits apply to a call, what each period
 * has spent and holds reserved, the refusal a call that does not fit gets, and a budget's status.
 * Reads only; callers run it inside their transaction.
 */
export class BudgetLimits {
  constructor(
    private readonly budgets: BudgetStore,
    private readonly ledger: LedgerStore,
    private readonly calendar: ZonedCalendar,
  ) {}

  periods(now: number): Array<{ period: Period; range: PeriodRange }> {
    return [
      { period: 'daily', range: this.calendar.dayRange(now) },
      { period: 'monthly', range: this.calendar.monthRange(now) },
    ];
  }

  spent(row: BudgetRow, range: PeriodRange): number {
    return this.ledger.sumCost(
      { fromMs: range.startMs, toMs: range.endMs },
      { provider: row.provider, modelKey: row.model_key === ALL_MODELS ? null : row.model_key },
    );
  }

  /** Whether any budget applies to calls of this model. */
  anyApplies(provider: string, modelKey: string): boolean {
    return this.budgets.applicable(provider, modelKey).length > 0;
  }

  /**
   * Every limit that applies to a call to this model (provider-wide and the model's own, daily and
   * monthly), with what its period has spent and what running calls hold reserved (nano-USD).
   */
  *applicable(provider: string, modelKey: string, now: number): Generator<ApplicableLimit> {
    for (const row of this.budgets.applicable(provider, modelKey)) {
      let reserved: number | undefined;
      for (const { period, range } of this.periods(now)) {
        const limit = period === 'daily' ? row.daily_limit_nusd : row.monthly_limit_nusd;
        if (limit === null) continue;
        const spent = this.spent(row, range);
        reserved ??= this.budgets.reserved(provider, row.model_key);
        yield { row, period, range, limit, spent, reserved };
      }
    }
  }

  /** nano-USD a new call may still reserve: the least left under any applicable limit; undefined when none applies. */
  remaining(provider: string, modelKey: string, now: number): number | undefined {
    let left: number | undefined;
    for (const { limit, spent, reserved } of this.applicable(provider, modelKey, now)) {
      left = Math.min(left ?? Infinity, Math.max(0, limit - spent - reserved));
    }
    return left;
  }

  /** The first limit this amount would break, as the error to throw. */
  findRefusal(provider: string, modelKey: string, amount: number, now: number, note = ''): BudgetExceededError | undefined {
    for (const l of this.applicable(provider, modelKey, now)) {
      if (l.spent + l.reserved + amount > l.limit) return this.refusal(l, amount, note);
    }
    return undefined;
  }

  status(row: BudgetRow, now: number): BudgetStatus {
    const reserved = this.budgets.reserved(row.provider, row.model_key);
    const one = (limit: number | null, range: PeriodRange): PeriodStatus | null => {
      if (limit === null) return null;
      const spent = this.spent(row, range);
      return {
        limit_usd: nanoToUsd(limit),
        spent_usd: nanoToUsd(spent),
        reserved_usd: nanoToUsd(reserved),
        remaining_usd: nanoToUsd(Math.max(0, limit - spent - reserved)),
        percent_used: limit === 0 ? (spent > 0 ? 100 : 0) : round6((spent / limit) * 100),
        resets_at: new Date(range.endMs).toISOString(),
      };
    };
    return {
      ...toBudget(row),
      daily: one(row.daily_limit_nusd, this.calendar.dayRange(now)),
      monthly: one(row.monthly_limit_nusd, this.calendar.monthRange(now)),
    };
  }

  list(now: number): BudgetStatus[] {
    return this.budgets.list().map((r) => this.status(r, now));
  }

  private refusal({ row, period, range, limit, spent, reserved }: ApplicableLimit, amount: number, note: string): BudgetExceededError {
    const usd = nanoToUsd;
    const who = `${row.provider}${row.model_key === ALL_MODELS ? '' : ` model ${row.model_key}`}`;
    const held = reserved > 0 ? ` (${formatUsd(usd(reserved))} reserved by running calls)` : '';
    const alone = amount > limit ? ' — more than the whole limit, so lower max_output_tokens, use a cheaper model, or raise the limit' : '';
    const message =
      `${period} budget for ${who} is ${formatUsd(usd(limit))}, ${formatUsd(usd(spent))} spent${held}; ` +
      `this call may cost up to ${formatUsd(usd(amount))}${alone}. Raise it with cost_set_budget or wait until ` +
      `${this.calendar.formatLocal(range.endMs)} ${this.calendar.timeZone}.${note}`;
    return new BudgetExceededError(message, {
      provider: row.provider,
      model: row.model_key === ALL_MODELS ? null : row.model_key,
      period,
      limit_usd: usd(limit),
      spent_usd: usd(spent),
      reserved_usd: usd(reserved),
      requested_usd: usd(amount),
      remaining_usd: usd(Math.max(0, limit - spent - reserved)),
      resets_at: new Date(range.endMs).toISOString(),
      time_zone: this.calendar.timeZone,
    });
  }
}
