import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config, ModelPrice } from '../config.js';
import type { Db, Migration } from '../db/database.js';
import { BudgetExceededError, InvalidInputError, NotFoundError, errorMessage } from '../errors.js';
import type { BudgetThresholdEvent, EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import { processIsAlive } from '../processAlive.js';
import { PROVIDER_IDS, type ProviderId } from '../providers/types.js';
import { ALL_MODELS, BudgetStore, budgetMigrations, toBudget, type Budget, type BudgetRow, type ReservationRow } from './budgetStore.js';
import { CALL_STATUSES, LedgerStore, ledgerMigrations, type CallStatus, type GroupBy, type LedgerEntry, type TimeRange } from './ledgerStore.js';
import { PriceTable, nanoCost, nanoToUsd, normalizeModelName, unknownPriceHint, usdToNano } from './prices.js';
import { ZonedCalendar, type PeriodRange } from '../zonedCalendar.js';

export type { Budget } from './budgetStore.js';
export type { CallStatus, GroupBy, LedgerEntry } from './ledgerStore.js';

/** Ledger then budgets; add to ALL_MIGRATIONS. */
import { formatUsd } from './money.js';

export { formatUsd };

export const costMigrations: Migration[] = [...ledgerMigrations, ...budgetMigrations];

/**
 * One id per process. A reservation whose owner pid equals ours but whose instance id differs
 * was left by an earlier process that had the same pid (pid 1 in a container), so it is stale.
 */
const PROCESS_INSTANCE_ID = randomUUID();

/** mcp_sampling runs on the host's own model and subscription: it costs us nothing, by definition. */
const FREE_PROVIDERS: ReadonlySet<string> = new Set(['mcp_sampling']);
const ZERO_PRICE: ModelPrice = { input: 0, output: 0 };
const THRESHOLDS = [50, 80, 100] as const;
/** Closed reservations are kept this long for diagnosis, then purged at start-up. */
const CLOSED_RESERVATION_RETENTION_MS = 30 * 86_400_000;

export interface CostServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  config: Config;
  /** Overrides the per-process instance id (tests simulate a dead earlier process with it). */
  instanceId?: string;
}

export interface Reservation {
  id: string;
  provider: string;
  model: string;
  /** Canonical model name budgets group by. */
  modelKey: string;
  maxCostUsd: number;
  priceKnown: boolean;
  expiresAt: string;
}

export interface ReserveRequest {
  provider: string;
  model: string;
  maxCostUsd: number;
  trialId?: string | undefined;
  taskId?: number | null | undefined;
}

export interface CallUsage {
  inputTokens: number;
  outputTokens: number;
  status: CallStatus;
  trialId?: string | null | undefined;
  taskId?: number | null | undefined;
  tags?: readonly string[] | undefined;
}

export interface RecordCall extends CallUsage {
  provider: string;
  model: string;
}

export type SummaryPeriod = 'today' | 'month' | 'all' | { from: string; to: string };

export interface SummaryQuery {
  period?: SummaryPeriod | undefined;
  groupBy?: GroupBy | undefined;
}

export interface PeriodStatus {
  limit_usd: number;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number;
  percent_used: number;
  /** When the period ends (ISO, UTC). */
  resets_at: string;
}

export interface BudgetStatus extends Budget {
  daily: PeriodStatus | null;
  monthly: PeriodStatus | null;
}

export interface CostAmounts {
  usd: number;
  calls: number;
  input_tokens: number;
  output_tokens: number;
}

export interface CostSummary {
  period: { name: 'today' | 'month' | 'all' | 'range'; from: string | null; to: string | null; time_zone: string };
  totals: CostAmounts;
  group_by: GroupBy;
  breakdown: Array<CostAmounts & { key: string }>;
  /** Groups left out of `breakdown` (it holds at most 100). */
  breakdown_omitted: number;
  budgets: BudgetStatus[];
  top_calls: Array<{
    id: number;
    time: string;
    provider: string;
    model: string;
    usd: number;
    input_tokens: number;
    output_tokens: number;
    status: CallStatus;
    trial_id: string | null;
    task_id: number | null;
  }>;
  warnings: string[];
}

export interface SetBudgetRequest {
  provider: string;
  model?: string | null | undefined;
  /** undefined: keep; null: remove this limit. */
  dailyLimitUsd?: number | null | undefined;
  monthlyLimitUsd?: number | null | undefined;
}

const MAX_BREAKDOWN = 100;

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * The ledger and budgets the agent pipeline calls around every provider call:
 * reserve (before) -> settle or release (after), exactly once each. Every read-modify-write is
 * one BEGIN IMMEDIATE transaction, so two server processes sharing the file never overspend.
 */
export class CostService {
  readonly prices: PriceTable;
  readonly calendar: ZonedCalendar;
  readonly instanceId: string;
  private readonly ledger: LedgerStore;
  private readonly budgets: BudgetStore;
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: EventBus;
  private readonly ttlMs: number;
  private readonly warnedUnknown = new Set<string>();
  /**
   * Open reservations of this instance's calls in flight. A reservation is a lease: its expiry
   * frees it only when its owner stopped renewing it (a wedged or vanished process). This
   * instance never expires its own live ones, and renews them every third of the TTL so other
   * processes on the file don't either, however long a call (retries included) runs.
   */
  private readonly held = new Set<string>();
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(deps: CostServiceDeps) {
    this.db = deps.db;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.events = deps.events;
    this.prices = new PriceTable(deps.config.prices);
    this.calendar = new ZonedCalendar(deps.config.budget.timeZone);
    this.ttlMs = deps.config.budget.reservationTtlMs;
    this.instanceId = deps.instanceId ?? PROCESS_INSTANCE_ID;
    this.ledger = new LedgerStore(deps.db, this.calendar, () => deps.clock.now());
    this.budgets = new BudgetStore(deps.db);
  }

  /** The price a call is booked at; undefined when unknown (mcp_sampling is always 0). */
  priceFor(provider: string, model: string): ModelPrice | undefined {
    if (FREE_PROVIDERS.has(provider)) return ZERO_PRICE;
    return this.prices.lookup(model)?.price;
  }

  /** Cost of a usage; an unknown price is charged at the most expensive known rates. */
  costOf(provider: string, model: string, usage: { inputTokens: number; outputTokens: number }): { usd: number; priceKnown: boolean } {
    const { price, known } = this.resolvePrice(provider, model);
    return { usd: nanoToUsd(nanoCost(price, usage)), priceKnown: known };
  }

  /** Worst-case cost of a call (long-context tier included when the prompt crosses it). */
  estimateMaxCostUsd(provider: string, model: string, promptTokens: number, maxOutputTokens: number): number {
    const { price } = this.resolvePrice(provider, model);
    return nanoToUsd(nanoCost(price, { inputTokens: promptTokens, outputTokens: maxOutputTokens }));
  }

  /**
   * Holds `maxCostUsd` against every applicable daily and monthly limit, atomically across
   * processes. Throws BudgetExceededError when spent + reserved + maxCost would pass a limit.
   */
  reserve(req: ReserveRequest): Reservation {
    this.checkProvider(req.provider);
    if (!Number.isFinite(req.maxCostUsd) || req.maxCostUsd < 0) {
      throw new InvalidInputError(`maxCostUsd must be a finite non-negative number (got ${req.maxCostUsd}).`);
    }
    const { known } = this.resolvePrice(req.provider, req.model);
    const modelKey = this.canonicalModel(req.provider, req.model);
    const amount = usdToNano(req.maxCostUsd);
    const now = this.clock.now();
    const id = randomUUID();
    const expires = now + this.ttlMs;

    const attempt = this.db.transaction((): BudgetExceededError | undefined => {
      let refusal = this.findRefusal(req.provider, modelKey, amount, now);
      // Before refusing, free what dead processes or expired calls still hold.
      if (refusal && this.sweepStale(now) > 0) refusal = this.findRefusal(req.provider, modelKey, amount, now);
      if (refusal) return refusal;
      this.budgets.insertReservation({
        id,
        provider: req.provider,
        model: req.model,
        model_key: modelKey,
        amount_nusd: amount,
        price_known: known ? 1 : 0,
        trial_id: req.trialId ?? null,
        task_id: req.taskId ?? null,
        owner_pid: process.pid,
        owner_instance: this.instanceId,
        created_ms: now,
        expires_ms: expires,
      });
      return undefined;
    });
    const refusal = attempt.immediate();
    if (refusal) {
      this.logger.info('budget refused a call', refusal.details);
      throw refusal;
    }
    this.hold(id);
    return {
      id,
      provider: req.provider,
      model: req.model,
      modelKey,
      maxCostUsd: nanoToUsd(amount),
      priceKnown: known,
      expiresAt: new Date(expires).toISOString(),
    };
  }

  /**
   * Books the real cost and closes the reservation in one transaction. A second settle of the
   * same reservation returns the first booking and books nothing. A reservation that expired or
   * was released is still booked (the money was spent), with a warning.
   */
  settle(reservationId: string, call: CallUsage): LedgerEntry {
    this.checkUsage(call);
    const now = this.clock.now();
    let outcome;
    try {
      outcome = this.db
        .transaction(() => {
          const r = this.budgets.getReservation(reservationId);
          if (!r) return { kind: 'missing' as const };
          if (r.state === 'settled') {
            const existing = this.ledger.getByReservation(reservationId);
            if (existing) return { kind: 'duplicate' as const, entry: existing };
          }
          const entry = this.book(r.provider, r.model, call, now, r);
          this.budgets.markSettled(reservationId, now);
          const alerts = this.collectAlerts(r.provider, r.model_key, now);
          return { kind: 'booked' as const, entry, reservation: r, alerts };
        })
        .immediate();
    } finally {
      // Even if the write failed: a lease nobody renews expires after the TTL, as it should.
      this.unhold(reservationId);
    }

    if (outcome.kind === 'missing') {
      throw new NotFoundError(`Reservation ${reservationId} does not exist; book the call with record() instead.`);
    }
    if (outcome.kind === 'duplicate') {
      this.logger.warn('reservation settled twice; the second settle booked nothing', { reservationId });
      return outcome.entry;
    }
    const { entry, reservation, alerts } = outcome;
    if (reservation.state !== 'open') {
      this.logger.warn(`reservation was ${reservation.state} before the call settled; booked its cost anyway`, {
        reservationId,
        provider: reservation.provider,
        model: reservation.model,
        costUsd: entry.cost_usd,
      });
    }
    const reservedUsd = nanoToUsd(reservation.amount_nusd);
    if (entry.cost_usd > reservedUsd) {
      this.logger.warn('call cost more than its reservation: the estimate was too low', {
        reservationId,
        provider: reservation.provider,
        model: reservation.model,
        reservedUsd,
        costUsd: entry.cost_usd,
        inputTokens: entry.input_tokens,
        outputTokens: entry.output_tokens,
      });
    }
    this.emitAlerts(alerts);
    return entry;
  }

  /** Frees a reservation without booking (the call spent nothing). A second call is a no-op. */
  release(reservationId: string): void {
    const now = this.clock.now();
    let changed: boolean;
    try {
      changed = this.db.transaction(() => this.budgets.closeReservation(reservationId, 'released', now)).immediate();
    } finally {
      this.unhold(reservationId); // a release that failed leaves a lease that runs out
    }
    if (!changed) this.logger.debug('release of a reservation that was not open: nothing to do', { reservationId });
  }

  /** Books a call that had no reservation (a judge call, an attempt that failed with usage). */
  record(call: RecordCall): LedgerEntry {
    this.checkProvider(call.provider);
    this.checkUsage(call);
    const now = this.clock.now();
    const modelKey = this.canonicalModel(call.provider, call.model);
    this.resolvePrice(call.provider, call.model); // warns about an unknown price outside the transaction
    const { entry, alerts } = this.db
      .transaction(() => {
        const booked = this.book(call.provider, call.model, call, now, undefined);
        return { entry: booked, alerts: this.collectAlerts(call.provider, modelKey, now) };
      })
      .immediate();
    this.emitAlerts(alerts);
    return entry;
  }

  /**
   * Releases reservations whose expiry passed or whose owning process is gone (call at
   * start-up; reserve() also sweeps before it refuses). Returns how many were released.
   */
  releaseStale(): number {
    const now = this.clock.now();
    const released = this.db
      .transaction(() => {
        const n = this.sweepStale(now);
        this.budgets.purgeClosed(now - CLOSED_RESERVATION_RETENTION_MS);
        return n;
      })
      .immediate();
    if (released > 0) this.logger.warn(`released ${released} stale budget reservation(s) left by expired calls or dead processes`);
    return released;
  }

  summary(query: SummaryQuery = {}): CostSummary {
    const groupBy = query.groupBy ?? 'provider';
    const now = this.clock.now();
    const { name, range } = this.resolvePeriod(query.period ?? 'today', now);
    const totals = this.ledger.totals(range);

    let groups = this.ledger.breakdown(range, groupBy);
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

    const budgets = this.listBudgets();
    const warnings: string[] = [];
    for (const u of this.ledger.unknownPriceModels(range)) {
      warnings.push(
        `${u.calls} call(s) to ${u.provider} model "${u.model}" had no known price and were booked at the most expensive known rates ` +
          `($${this.prices.fallback.input}/$${this.prices.fallback.output} per 1M input/output tokens); set TASK_ORCHESTRATOR_PRICES to price it.`,
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

    return {
      period: {
        name,
        from: range.fromMs === null ? null : new Date(range.fromMs).toISOString(),
        to: range.toMs === null ? null : new Date(range.toMs).toISOString(),
        time_zone: this.calendar.timeZone,
      },
      totals: amounts(totals),
      group_by: groupBy,
      breakdown: groups.map((g) => ({ key: g.key, ...amounts(g) })),
      breakdown_omitted: omitted,
      budgets,
      top_calls: this.ledger.topCalls(range, 5).map((e) => ({
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
      warnings,
    };
  }

  /**
   * Sets, changes or removes limits. undefined keeps a limit, null removes it; a budget left
   * with no limit is deleted. Returns the budget with current spend.
   */
  setBudget(req: SetBudgetRequest): BudgetStatus {
    this.checkProvider(req.provider);
    if (req.dailyLimitUsd === undefined && req.monthlyLimitUsd === undefined) {
      throw new InvalidInputError('Give daily_limit and/or monthly_limit (USD, or null to remove that limit).');
    }
    for (const [k, v] of [['daily_limit', req.dailyLimitUsd], ['monthly_limit', req.monthlyLimitUsd]] as const) {
      if (v !== undefined && v !== null && (!Number.isFinite(v) || v < 0)) {
        throw new InvalidInputError(`${k} must be a finite number of USD >= 0, or null to remove it (got ${v}).`);
      }
    }
    const modelKey = req.model ? this.canonicalModel(req.provider, req.model) : ALL_MODELS;
    const now = this.clock.now();
    const { row, alerts } = this.db
      .transaction(() => {
        const existing = this.budgets.get(req.provider, modelKey);
        const pick = (given: number | null | undefined, old: number | null | undefined) =>
          given === undefined ? (old ?? null) : given === null ? null : usdToNano(given);
        const saved = this.budgets.put(
          req.provider,
          modelKey,
          pick(req.dailyLimitUsd, existing?.daily_limit_nusd),
          pick(req.monthlyLimitUsd, existing?.monthly_limit_nusd),
          now,
        );
        return { row: saved, alerts: saved ? this.collectAlerts(req.provider, modelKey, now) : [] };
      })
      .immediate();
    this.emitAlerts(alerts);
    this.logger.info('budget set', { provider: req.provider, model: modelKey, daily: req.dailyLimitUsd, monthly: req.monthlyLimitUsd });
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
    return this.status(row, now);
  }

  /** Every budget with today's and this month's spend. */
  /**
   * USD a new call to this model may still reserve: the least left (spent and reserved counted)
   * under any budget that applies to it, provider-wide or its own; undefined when none applies.
   */
  remainingUsd(provider: string, model: string): number | undefined {
    let left: number | undefined;
    for (const { limit, spent, reserved } of this.limits(provider, this.canonicalModel(provider, model), this.clock.now())) {
      left = Math.min(left ?? Infinity, Math.max(0, limit - spent - reserved));
    }
    return left === undefined ? undefined : nanoToUsd(left);
  }

  listBudgets(): BudgetStatus[] {
    const now = this.clock.now();
    return this.budgets.list().map((r) => this.status(r, now));
  }

  // ---------------------------------------------------------------------------------------

  private checkProvider(provider: string): asserts provider is ProviderId {
    if (!(PROVIDER_IDS as readonly string[]).includes(provider)) {
      throw new InvalidInputError(`Unknown provider "${provider}"; use one of: ${PROVIDER_IDS.join(', ')}.`);
    }
  }

  private checkUsage(call: CallUsage): void {
    for (const [k, v] of [['inputTokens', call.inputTokens], ['outputTokens', call.outputTokens]] as const) {
      if (!Number.isFinite(v) || v < 0) throw new InvalidInputError(`${k} must be a finite number >= 0 (got ${v}).`);
    }
    if (!CALL_STATUSES.includes(call.status)) throw new InvalidInputError(`status must be one of ${CALL_STATUSES.join(', ')}.`);
  }

  private canonicalModel(provider: string, model: string): string {
    return FREE_PROVIDERS.has(provider) ? normalizeModelName(model) : this.prices.canonicalModel(model);
  }

  /** The price to charge; unknown models get the fallback (most expensive known) and a warning. */
  private resolvePrice(provider: string, model: string): { price: ModelPrice; known: boolean } {
    const price = this.priceFor(provider, model);
    if (price) return { price, known: true };
    const key = `${provider}\u0000${normalizeModelName(model)}`;
    if (!this.warnedUnknown.has(key)) {
      this.warnedUnknown.add(key);
      this.logger.warn(unknownPriceHint(provider, model, this.prices.fallback), { provider, model });
      this.events.emit('price.unknown', { provider, model });
    }
    return { price: this.prices.fallback, known: false };
  }

  private book(provider: string, model: string, call: CallUsage, now: number, reservation: ReservationRow | undefined): LedgerEntry {
    const { price, known } = this.resolvePrice(provider, model);
    return this.ledger.insert({
      timeMs: now,
      provider,
      model,
      modelKey: reservation?.model_key ?? this.canonicalModel(provider, model),
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      costNanoUsd: nanoCost(price, call),
      trialId: call.trialId ?? reservation?.trial_id ?? null,
      taskId: call.taskId ?? reservation?.task_id ?? null,
      tags: call.tags,
      status: call.status,
      priceKnown: known,
      reservationId: reservation?.id ?? null,
    });
  }

  private periods(now: number): Array<{ period: 'daily' | 'monthly'; range: PeriodRange }> {
    return [
      { period: 'daily', range: this.calendar.dayRange(now) },
      { period: 'monthly', range: this.calendar.monthRange(now) },
    ];
  }

  private spent(row: BudgetRow, range: PeriodRange): number {
    return this.ledger.sumCost(
      { fromMs: range.startMs, toMs: range.endMs },
      { provider: row.provider, modelKey: row.model_key === ALL_MODELS ? null : row.model_key },
    );
  }

  /**
   * Every limit that applies to a call to this model (provider-wide and the model's own, daily and
   * monthly), with what its period has spent and what running calls hold reserved (nano-USD).
   */
  private *limits(provider: string, modelKey: string, now: number) {
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

  /** Inside a transaction: the first limit this amount would break, as the error to throw. */
  private findRefusal(provider: string, modelKey: string, amount: number, now: number): BudgetExceededError | undefined {
    for (const { row, period, range, limit, spent, reserved } of this.limits(provider, modelKey, now)) {
      if (spent + reserved + amount > limit) return this.refusal(row, period, range, limit, spent, reserved, amount);
    }
    return undefined;
  }

  private refusal(row: BudgetRow, period: 'daily' | 'monthly', range: PeriodRange, limit: number, spent: number, reserved: number, amount: number): BudgetExceededError {
    const usd = nanoToUsd;
    const who = `${row.provider}${row.model_key === ALL_MODELS ? '' : ` model ${row.model_key}`}`;
    const held = reserved > 0 ? ` (${formatUsd(usd(reserved))} reserved by running calls)` : '';
    const alone = amount > limit ? ' — more than the whole limit, so lower max_output_tokens, use a cheaper model, or raise the limit' : '';
    const message =
      `${period} budget for ${who} is ${formatUsd(usd(limit))}, ${formatUsd(usd(spent))} spent${held}; ` +
      `this call may cost up to ${formatUsd(usd(amount))}${alone}. Raise it with cost_set_budget or wait until ` +
      `${this.calendar.formatLocal(range.endMs)} ${this.calendar.timeZone}.`;
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

  /** Inside a transaction: thresholds newly crossed, each recorded so it is sent once per period. */
  private collectAlerts(provider: string, modelKey: string, now: number): BudgetThresholdEvent[] {
    const alerts: BudgetThresholdEvent[] = [];
    for (const row of this.budgets.applicable(provider, modelKey)) {
      for (const { period, range } of this.periods(now)) {
        const limit = period === 'daily' ? row.daily_limit_nusd : row.monthly_limit_nusd;
        if (limit === null) continue;
        const spent = this.spent(row, range);
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

  private emitAlerts(alerts: readonly BudgetThresholdEvent[]): void {
    for (const a of alerts) {
      this.logger.warn(
        `${a.period} budget for ${a.provider}${a.model ? ` model ${a.model}` : ''} reached ${a.thresholdPercent}%: ` +
          `${formatUsd(a.spentUsd)} of ${formatUsd(a.limitUsd)}`,
        { ...a },
      );
      this.events.emit('budget.threshold', a);
    }
  }

  /** Pushes the expiry of this instance's live reservations one TTL ahead (see `held`). */
  renewLeases(): number {
    if (this.held.size === 0) return 0;
    const expires = this.clock.now() + this.ttlMs;
    const renewed = this.db.transaction(() => [...this.held].filter((id) => this.budgets.renew(id, expires))).immediate();
    // An id no longer open (closed elsewhere, or its insert rolled back with an outer transaction) is not ours to keep.
    if (renewed.length < this.held.size) for (const id of [...this.held]) if (!renewed.includes(id)) this.unhold(id);
    return renewed.length;
  }

  /** The server is closing: stop renewing leases. */
  shutdown(): void {
    this.stopRenewing();
  }

  private stopRenewing(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private hold(id: string): void {
    this.held.add(id);
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      try {
        this.renewLeases();
      } catch (err) {
        this.logger.warn('could not renew budget reservations', { error: errorMessage(err) });
      }
    }, Math.max(1, Math.floor(this.ttlMs / 3)));
    this.renewTimer.unref();
  }

  private unhold(id: string): void {
    this.held.delete(id);
    if (this.held.size === 0) this.stopRenewing();
  }

  /** Inside a transaction: closes open reservations that expired or whose process is gone. */
  private sweepStale(now: number): number {
    let n = 0;
    for (const r of this.budgets.openReservations()) {
      if (this.held.has(r.id)) continue; // our own call, still in flight
      const expired = r.expires_ms <= now;
      if (expired || !this.ownerAlive(r)) {
        if (this.budgets.closeReservation(r.id, 'expired', now)) n++;
      }
    }
    return n;
  }

  private ownerAlive(r: ReservationRow): boolean {
    if (r.owner_pid === process.pid) return r.owner_instance === this.instanceId || r.owner_instance === PROCESS_INSTANCE_ID;
    return processIsAlive(r.owner_pid);
  }

  private status(row: BudgetRow, now: number): BudgetStatus {
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

  private resolvePeriod(period: SummaryPeriod, now: number): { name: CostSummary['period']['name']; range: TimeRange } {
    if (period === 'today') {
      const r = this.calendar.dayRange(now);
      return { name: 'today', range: { fromMs: r.startMs, toMs: r.endMs } };
    }
    if (period === 'month') {
      const r = this.calendar.monthRange(now);
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
    const date = ZonedCalendar.parseDate(text);
    if (date) {
      const start = this.calendar.startOfDay(date);
      return which === 'from' ? start : this.calendar.dayRange(start).endMs;
    }
    const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
    if (!Number.isFinite(ms)) {
      throw new InvalidInputError(`period.${which} must be an ISO date (2026-11-01) or date-time with offset (2026-11-01T08:00:00Z); got "${text}".`);
    }
    return ms;
  }
}

function amounts(a: { calls: number; inputTokens: number; outputTokens: number; costNanoUsd: number }): CostAmounts {
  return { usd: nanoToUsd(a.costNanoUsd), calls: a.calls, input_tokens: a.inputTokens, output_tokens: a.outputTokens };
}
