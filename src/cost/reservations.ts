import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { atomicRunner, type Atomic, type Db } from '../db/database.js';
import { InvalidInputError, NotFoundError, errorMessage, type BudgetExceededError } from '../errors.js';
import type { BudgetThresholdEvent, EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { InstanceIdentity } from '../instance.js';
import { PROVIDER_IDS, type ProviderId } from '../providers/types.js';
import { AdmissionGate } from './admissionGate.js';
import type { BudgetLimits } from './budgetLimits.js';
import type { BudgetStore, ReservationRow } from './budgetStore.js';
import type { CostRatioStore, Learned } from './costRatios.js';
import { CALL_STATUSES, type LedgerEntry, type LedgerStore } from './ledgerStore.js';
import { formatUsd } from './money.js';
import { nanoToUsd, usdToNano } from './prices.js';
import type { Pricing } from './pricing.js';
import type { ThresholdPolicy } from './thresholdPolicy.js';
import type { CallUsage, RecordCall, Reservation, ReserveRequest } from './types.js';

/** Closed reservations are kept this long for diagnosis, then purged at start-up. */
const CLOSED_RESERVATION_RETENTION_MS = 30 * 86_400_000;

export interface ReservationDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  pricing: Pricing;
  ledger: LedgerStore;
  budgets: BudgetStore;
  limits: BudgetLimits;
  thresholds: ThresholdPolicy;
  ratios: CostRatioStore;
  ttlMs: number;
  /** This server instance: the owner of the reservations it takes, and the one rule for whose owner is gone. */
  instance: InstanceIdentity;
}

export function checkProvider(provider: string): asserts provider is ProviderId {
  if (!(PROVIDER_IDS as readonly string[]).includes(provider)) {
    throw new InvalidInputError(`Unknown provider "${provider}"; use one of: ${PROVIDER_IDS.join(', ')}.`);
  }
}

/** An open reservation whose lease ran out while its owner process is still alive. */
export interface LateLease {
  id: string;
  ownerPid: number;
  amountNano: number;
  /** How long ago the lease ran out. */
  lateMs: number;
}

/**
 * The reservation protocol the agent pipeline runs around every provider call: admit → reserve
 * (before) → settle or release (after), exactly once each. Every read-modify-write is one BEGIN
 * IMMEDIATE transaction, so two server processes sharing the file never overspend.
 *
 * What a lease protects: a reservation's `expires_ms` is its owner's promise that it is still
 * working on the call; the owner renews it every third of the TTL while the call runs. An
 * expired lease only says "the owner has not renewed lately", which is just as true of a frozen
 * or suspended process (SIGSTOP, a laptop lid, a long GC pause) as of a lost one, and a frozen
 * owner may still wake up and pay for its call. So expiry never frees another live process's
 * reservation: it is held (and reported as late) until its owner settles it, releases it, or is
 * gone. Expiry frees only a reservation of this very instance that nobody here renews any more
 * (its release failed, or another service object of this instance took it and dropped it). A
 * reservation whose owner is gone (InstanceIdentity.ownerIsGone: its process exited, its instance
 * stopped, or it was an earlier process with our pid) is freed at once. The cost of this rule:
 * if a dead owner's pid is reused by another process before anyone sweeps, its reservation stays
 * held until that process exits too — a budget that refuses too much, never one that overspends.
 */
export class ReservationBook {
  private readonly gate: AdmissionGate;
  /**
   * Open reservations of this instance's calls in flight, renewed every third of the TTL
   * so other processes on the file see them as live however long a call (retries included) runs.
   */
  private readonly held = new Set<string>();
  private readonly warnedLate = new Set<string>();
  private renewTimer: NodeJS.Timeout | undefined;

  private readonly atomic: Atomic;

  constructor(private readonly d: ReservationDeps) {
    this.atomic = atomicRunner(d.db);
    this.gate = new AdmissionGate({
      observed: (key) => {
        const [provider, modelKey] = key.split('\u0000') as [string, string];
        return d.ratios.observed(provider, modelKey);
      },
    });
  }

  /**
   * Waits until a call to this model may reserve (see AdmissionGate: a model whose real cost is
   * unknown, or that just overran, is admitted a few calls at a time while a budget applies).
   * Resolves to the function to call once the call is settled or released.
   */
  admit(provider: string, model: string, signal: AbortSignal): (() => void) | Promise<() => void> {
    if (this.d.pricing.isFree(provider)) return () => {};
    const modelKey = this.d.pricing.canonicalModel(provider, model);
    return this.gate.admit(gateKey(provider, modelKey), this.d.limits.anyApplies(provider, modelKey), signal);
  }

  /** The model's admission window now (Infinity when open). */
  admissionWindow(provider: string, model: string): number {
    return this.gate.windowOf(gateKey(provider, this.d.pricing.canonicalModel(provider, model)));
  }

  /**
   * Holds `maxCostUsd` against every applicable daily and monthly limit, atomically across
   * processes. Throws BudgetExceededError when spent + reserved + maxCost would pass a limit.
   */
  reserve(req: ReserveRequest): Reservation {
    checkProvider(req.provider);
    if (!Number.isFinite(req.maxCostUsd) || req.maxCostUsd < 0) {
      throw new InvalidInputError(`maxCostUsd must be a finite non-negative number (got ${req.maxCostUsd}).`);
    }
    const { known } = this.d.pricing.resolve(req.provider, req.model);
    const modelKey = this.d.pricing.canonicalModel(req.provider, req.model);
    const amount = usdToNano(req.maxCostUsd);
    const now = this.d.clock.now();
    const id = randomUUID();
    const expires = now + this.d.ttlMs;

    const attempt = (): BudgetExceededError | undefined => {
      let refusal = this.d.limits.findRefusal(req.provider, modelKey, amount, now);
      if (refusal) {
        // Before refusing, free what dead processes (or this one's lost calls) still hold; say what late owners hold.
        const swept = this.sweepStale(now);
        refusal = this.d.limits.findRefusal(req.provider, modelKey, amount, now, lateNote(swept.late.filter((r) => r.provider === req.provider)));
      }
      if (refusal) return refusal;
      this.d.budgets.insertReservation({
        id,
        provider: req.provider,
        model: req.model,
        model_key: modelKey,
        amount_nusd: amount,
        price_known: known ? 1 : 0,
        trial_id: req.trialId ?? null,
        task_id: req.taskId ?? null,
        owner_pid: this.d.instance.pid,
        owner_instance: this.d.instance.id,
        created_ms: now,
        expires_ms: expires,
        // estimateMaxCostUsd applied this model's learned ratio; settling learns relative to it.
        ratio: this.d.ratios.ratio(req.provider, modelKey),
      });
      return undefined;
    };
    const refusal = this.atomic(attempt);
    if (refusal) {
      this.d.logger.info('budget refused a call', refusal.details);
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
   * Books the real cost and closes the reservation in one transaction, and learns the model's
   * cost ratio from it. A second settle of the same reservation returns the first booking and
   * books nothing. A reservation that expired or was released is still booked (the money was
   * spent), with a warning.
   */
  settle(reservationId: string, call: CallUsage): LedgerEntry {
    checkUsage(call);
    const now = this.d.clock.now();
    let outcome;
    try {
      outcome = this.atomic(() => {
        const r = this.d.budgets.getReservation(reservationId);
        if (!r) return { kind: 'missing' as const };
        if (r.state === 'settled') {
          const existing = this.d.ledger.getByReservation(reservationId);
          if (existing) return { kind: 'duplicate' as const, entry: existing };
        }
        const { entry, costNano } = this.book(r.provider, r.model, call, now, r);
        this.d.budgets.markSettled(reservationId, now);
        const learned: Learned | undefined =
          this.d.pricing.isFree(r.provider) || (r.amount_nusd === 0 && costNano === 0)
            ? undefined
            : this.d.ratios.learn({
                provider: r.provider,
                modelKey: r.model_key,
                reservedNano: r.amount_nusd,
                appliedRatio: r.ratio,
                costNano,
                trialId: entry.trial_id,
                reservationId,
                nowMs: now,
              });
        const alerts = this.d.thresholds.collect(r.provider, r.model_key, now);
        return { kind: 'booked' as const, entry, reservation: r, alerts, learned };
      });
    } finally {
      // Even if the write failed: a lease nobody renews expires after the TTL, as it should.
      this.unhold(reservationId);
    }

    if (outcome.kind === 'missing') {
      throw new NotFoundError(`Reservation ${reservationId} does not exist; book the call with record() instead.`);
    }
    if (outcome.kind === 'duplicate') {
      this.d.logger.warn('reservation settled twice; the second settle booked nothing', { reservationId });
      return outcome.entry;
    }
    const { entry, reservation, alerts, learned } = outcome;
    if (reservation.state !== 'open') {
      this.d.logger.warn(`reservation was ${reservation.state} before the call settled; booked its cost anyway`, {
        reservationId,
        provider: reservation.provider,
        model: reservation.model,
        costUsd: entry.cost_usd,
      });
    }
    const reservedUsd = nanoToUsd(reservation.amount_nusd);
    if (learned) this.gate.observe(gateKey(reservation.provider, reservation.model_key), learned.overrun);
    if (learned?.overrun) {
      this.d.logger.warn('call cost more than its reservation: the estimate was too low', {
        reservationId,
        provider: reservation.provider,
        model: reservation.model,
        reservedUsd,
        costUsd: entry.cost_usd,
        inputTokens: entry.input_tokens,
        outputTokens: entry.output_tokens,
        learnedRatio: learned.ratio,
      });
      this.d.events.emit('cost.overrun', {
        provider: reservation.provider,
        model: reservation.model_key,
        reservedUsd,
        costUsd: entry.cost_usd,
        ratio: learned.observed,
        trialId: entry.trial_id,
        at: now,
      });
    }
    this.publishBooked(entry, reservedUsd, now, alerts);
    return entry;
  }

  /** Frees a reservation without booking (the call spent nothing). A second call is a no-op. */
  release(reservationId: string): void {
    const now = this.d.clock.now();
    let changed: boolean;
    try {
      changed = this.atomic(() => this.d.budgets.closeReservation(reservationId, 'released', now));
    } finally {
      this.unhold(reservationId); // a release that failed leaves a lease that runs out
    }
    if (!changed) this.d.logger.debug('release of a reservation that was not open: nothing to do', { reservationId });
  }

  /** Books a call that had no reservation (a judge call, an attempt that failed with usage). */
  record(call: RecordCall): LedgerEntry {
    checkProvider(call.provider);
    checkUsage(call);
    const now = this.d.clock.now();
    const modelKey = this.d.pricing.canonicalModel(call.provider, call.model);
    this.d.pricing.resolve(call.provider, call.model); // warns about an unknown price outside the transaction
    const { entry, alerts } = this.atomic(() => {
      const booked = this.book(call.provider, call.model, call, now, undefined);
      return { entry: booked.entry, alerts: this.d.thresholds.collect(call.provider, modelKey, now) };
    });
    this.publishBooked(entry, null, now, alerts);
    return entry;
  }

  /**
   * Releases reservations whose owner is gone, and this instance's own that nobody renews (at
   * start-up and by the periodic sweep; reserve() also sweeps before it refuses). Returns how many.
   */
  releaseStale(): number {
    const now = this.d.clock.now();
    const swept = this.atomic(() => {
        const s = this.sweepStale(now);
        this.d.budgets.purgeClosed(now - CLOSED_RESERVATION_RETENTION_MS);
        return s;
      });
    if (swept.closed > 0) this.d.logger.warn(`released ${swept.closed} stale budget reservation(s) left by dead processes or lost calls`);
    return swept.closed;
  }

  /** Open reservations of live processes whose lease ran out (held; see the class comment). */
  lateLeases(): LateLease[] {
    const now = this.d.clock.now();
    return this.d.budgets
      .openReservations()
      .filter((r) => r.expires_ms <= now && !this.held.has(r.id) && !this.ownedHere(r) && this.ownerAlive(r))
      .map((r) => ({ id: r.id, ownerPid: r.owner_pid, amountNano: r.amount_nusd, lateMs: now - r.expires_ms }));
  }

  /** Pushes the expiry of this instance's live reservations one TTL ahead (see `held`). */
  renewLeases(): number {
    if (this.held.size === 0) return 0;
    const expires = this.d.clock.now() + this.d.ttlMs;
    const renewed = this.atomic(() => [...this.held].filter((id) => this.d.budgets.renew(id, expires)));
    // An id no longer open (closed elsewhere, or its insert rolled back with an outer transaction) is not ours to keep.
    if (renewed.length < this.held.size) for (const id of [...this.held]) if (!renewed.includes(id)) this.unhold(id);
    return renewed.length;
  }

  /** The server is closing: stop renewing leases. */
  shutdown(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  // ---------------------------------------------------------------------------------------

  private book(provider: string, model: string, call: CallUsage, now: number, reservation: ReservationRow | undefined): { entry: LedgerEntry; costNano: number } {
    const { nano, known } = this.d.pricing.costNano(provider, model, call);
    const entry = this.d.ledger.insert({
      timeMs: now,
      provider,
      model,
      modelKey: reservation?.model_key ?? this.d.pricing.canonicalModel(provider, model),
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      costNanoUsd: nano,
      trialId: call.trialId ?? reservation?.trial_id ?? null,
      taskId: call.taskId ?? reservation?.task_id ?? null,
      tags: call.tags,
      status: call.status,
      priceKnown: known,
      reservationId: reservation?.id ?? null,
    });
    return { entry, costNano: nano };
  }

  /** After the commit: the facts alerting and other listeners build on. */
  private publishBooked(entry: LedgerEntry, reservedUsd: number | null, now: number, alerts: readonly BudgetThresholdEvent[]): void {
    this.d.events.emit('spend.booked', {
      provider: entry.provider,
      model: entry.model_key,
      costUsd: entry.cost_usd,
      reservedUsd,
      status: entry.status,
      trialId: entry.trial_id,
      taskId: entry.task_id,
      at: now,
    });
    this.d.thresholds.publish(alerts);
  }

  private hold(id: string): void {
    this.held.add(id);
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      try {
        this.renewLeases();
      } catch (err) {
        this.d.logger.warn('could not renew budget reservations', { error: errorMessage(err) });
      }
    }, Math.max(1, Math.floor(this.d.ttlMs / 3)));
    this.renewTimer.unref();
  }

  private unhold(id: string): void {
    this.held.delete(id);
    if (this.held.size === 0) this.shutdown();
  }

  /**
   * Inside a transaction: closes open reservations whose owner is gone, and this process's own
   * expired ones nobody here renews. Another live process's expired lease is kept, and returned
   * as late (logged once per reservation).
   */
  private sweepStale(now: number): { closed: number; late: ReservationRow[] } {
    let closed = 0;
    const late: ReservationRow[] = [];
    for (const r of this.d.budgets.openReservations()) {
      if (this.held.has(r.id)) continue; // our own call, still in flight
      const expired = r.expires_ms <= now;
      const free = !this.ownerAlive(r) || (expired && this.ownedHere(r));
      if (free) {
        if (this.d.budgets.closeReservation(r.id, 'expired', now)) closed++;
      } else if (expired) {
        late.push(r);
        if (!this.warnedLate.has(r.id)) {
          this.warnedLate.add(r.id);
          this.d.logger.warn(
            `process ${r.owner_pid} is alive but has not renewed its budget reservation for ${Math.round((now - r.expires_ms) / 1000)} s ` +
              `(stopped or frozen?): it stays held until that process settles it or exits`,
            { reservationId: r.id, ownerPid: r.owner_pid, amountUsd: nanoToUsd(r.amount_nusd) },
          );
        }
      }
    }
    return { closed, late };
  }

  /** Written by this very instance (by another service object of it, or a call whose release was lost). */
  private ownedHere(r: ReservationRow): boolean {
    return this.d.instance.isSelf({ pid: r.owner_pid, instance: r.owner_instance });
  }

  /** A live owner's lease that ran out is late, not free: see the class comment. */
  private ownerAlive(r: ReservationRow): boolean {
    return !this.d.instance.ownerIsGone({ pid: r.owner_pid, instance: r.owner_instance });
  }
}

const gateKey = (provider: string, modelKey: string) => `${provider}\u0000${modelKey}`;

function lateNote(late: readonly ReservationRow[]): string {
  if (late.length === 0) return '';
  const amount = late.reduce((s, r) => s + r.amount_nusd, 0);
  const pids = [...new Set(late.map((r) => r.owner_pid))].join(', ');
  return (
    ` ${formatUsd(nanoToUsd(amount))} of what is reserved belongs to live process ${pids} whose lease ran out (stopped or frozen?); ` +
    `it stays held until that process settles it or exits.`
  );
}

function checkUsage(call: CallUsage): void {
  for (const [k, v] of [['inputTokens', call.inputTokens], ['outputTokens', call.outputTokens]] as const) {
    if (!Number.isFinite(v) || v < 0) throw new InvalidInputError(`${k} must be a finite number >= 0 (got ${v}).`);
  }
  if (!CALL_STATUSES.includes(call.status)) throw new InvalidInputError(`status must be one of ${CALL_STATUSES.join(', ')}.`);
}
