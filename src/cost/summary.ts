import type { Clock } from '../clock.js';
import { InvalidInputError } from '../errors.js';
import { ZonedCalendar } from '../zonedCalendar.js';
import { parseIsoBound } from '../time/isoBounds.js';
import type { BudgetLimits } from './budgetLimits.js';
import type { CostRatioStore } from './costRatios.js';
import type { LedgerStore, TimeRange } from './ledgerStore.js';
import { formatUsd } from './money.js';
import { nanoToUsd } from './prices.js';
import type { Pricing } from './pricing.js';
import type { LateLease } from './reservations.js';
import type { CostAmounts, CostSummary, OverrunSummary, SummaryPeriod, SummaryQuery } from './types.js';

const MAX_BREAKDOWN = 100;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** The cost_summary read model: totals, breakdown, budgets, top calls, overruns and warnings for a period. */
export class CostSummaryReader {
  constructor(
    private readonly d: {
      clock: Clock;
      calendar: ZonedCalendar;
      ledger: LedgerStore;
      limits: BudgetLimits;
      ratios: CostRatioStore;
      pricing: Pricing;
      lateLeases: () => LateLease[];
    },
  ) {}

  summary(query: SummaryQuery = {}): CostSummary {
    const { ledger, pricing } = this.d;
    const groupBy = query.groupBy ?? 'provider';
    const now = this.d.clock.now();
    const { name, range } = this.resolvePeriod(query.period ?? 'today', now);
    const totals = ledger.totals(range);

    let groups = ledger.breakdown(range, groupBy);
    let omitted = 0;
    if (groupBy === 'day') {
      if (groups.length > MAX_BREAKDOWN) {
        omitted = groups.length - MAX_BREAKDOWN;
        groups = groups.slice(-MAX_BREAKDOWN);
      }
    } else {
      groups.sort((a, b) => b.costNanoUsd - a.costNanoUsd || b.calls - a.calls || (a.key < b.key ? -1 : 1));
      if (groups.length > MAX_BREAKDOWN) {
        omitted = groups.length - MAX_BREAKDOWN;
        groups = groups.slice(0, MAX_BREAKDOWN);
      }
    }

    const budgets = this.d.limits.list(now);
    const warnings: string[] = [];
    for (const u of ledger.unknownPriceModels(range)) {
      warnings.push(
        `${u.calls} call(s) to ${u.provider} model "${u.model}" had no known price and were booked at the most expensive known rates ` +
          `($${pricing.table.fallback.input}/$${pricing.table.fallback.output} per 1M input/output tokens); set TASK_ORCHESTRATOR_PRICES to price it.`,
      );
    }
    for (const b of budgets) {
      for (const [label, st] of [['daily', b.daily], ['monthly', b.monthly]] as const) {
        if (st && st.percent_used >= 80) {
          warnings.push(
            `${label} budget for ${b.provider}${b.model ? ` model ${b.model}` : ''} is ${Math.floor(st.percent_used)}% used ` +
              `(${formatUsd(st.spent_usd)} of ${formatUsd(st.limit_usd)}).`,
          );
        }
      }
    }
    const overruns = this.overruns(range);
    for (const o of overruns) {
      warnings.push(
        `${o.calls} call(s) to ${o.provider} model "${o.model}" cost more than was reserved for them (up to ${o.max_ratio}x; ` +
          `${formatUsd(o.cost_usd)} against ${formatUsd(o.reserved_usd)} reserved); its calls are now reserved at ${o.reserve_ratio}x the estimate.`,
      );
    }
    const late = this.d.lateLeases();
    if (late.length > 0) {
      const pids = [...new Set(late.map((l) => l.ownerPid))].join(', ');
      warnings.push(
        `${late.length} budget reservation(s) (${formatUsd(nanoToUsd(late.reduce((s, l) => s + l.amountNano, 0)))}) belong to live process ${pids} ` +
          `that stopped renewing them (stopped or frozen?); they stay held until it settles them or exits.`,
      );
    }

    return {
      period: {
        name,
        from: range.fromMs === null ? null : new Date(range.fromMs).toISOString(),
        to: range.toMs === null ? null : new Date(range.toMs).toISOString(),
        time_zone: this.d.calendar.timeZone,
      },
      totals: amounts(totals),
      group_by: groupBy,
      breakdown: groups.map((g) => ({ key: g.key, ...amounts(g) })),
      breakdown_omitted: omitted,
      budgets,
      top_calls: ledger.topCalls(range, 5).map((e) => ({
        id: e.id,
        time: e.time,
        provider: e.provider,
        model: e.model,
        usd: e.cost_usd,
        input_tokens: e.input_tokens,
        output_tokens: e.output_tokens,
        status: e.status,
        trial_id: e.trial_id,
        task_id: e.task_id,
      })),
      overruns,
      warnings,
    };
  }

  private overruns(range: TimeRange): OverrunSummary[] {
    return this.d.ratios.overruns(range.fromMs ?? -8.64e15, range.toMs ?? 8.64e15).map((o) => ({
      provider: o.provider,
      model: o.modelKey,
      calls: o.calls,
      reserved_usd: nanoToUsd(o.reservedNano),
      cost_usd: nanoToUsd(o.costNano),
      max_ratio: round2(o.maxRatio),
      reserve_ratio: round2(this.d.ratios.ratio(o.provider, o.modelKey)),
    }));
  }

  private resolvePeriod(period: SummaryPeriod, now: number): { name: CostSummary['period']['name']; range: TimeRange } {
    const { calendar } = this.d;
    if (period === 'today') {
      const r = calendar.dayRange(now);
      return { name: 'today', range: { fromMs: r.startMs, toMs: r.endMs } };
    }
    if (period === 'month') {
      const r = calendar.monthRange(now);
      return { name: 'month', range: { fromMs: r.startMs, toMs: r.endMs } };
    }
    if (period === 'all') return { name: 'all', range: { fromMs: null, toMs: null } };
    const fromMs = this.parseBound(period.from, 'from');
    const toMs = this.parseBound(period.to, 'to');
    if (fromMs >= toMs) throw new InvalidInputError(`period.from (${period.from}) must be before period.to (${period.to}).`);
    return { name: 'range', range: { fromMs, toMs } };
  }

  /** A date is a whole local day (from: its start; to: inclusive, so its end); a date-time is exact. */
  private parseBound(text: string, which: 'from' | 'to'): number {
    const ms = parseIsoBound(text, which, this.d.calendar);
    if (ms === undefined) {
      throw new InvalidInputError(`period.${which} must be an ISO date (2026-11-01) or date-time with offset (2026-11-01T08:00:00Z); got "${text}".`);
    }
    return ms;
  }
}

function amounts(a: { calls: number; inputTokens: number; outputTokens: number; costNanoUsd: number }): CostAmounts {
  return { usd: nanoToUsd(a.costNanoUsd), calls: a.calls, input_tokens: a.inputTokens, output_tokens: a.outputTokens };
}
