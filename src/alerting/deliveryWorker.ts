import type { Clock } from '../clock.js';
import { errorMessage, redactSecrets } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AlertStore, ClaimedDelivery } from './alertStore.js';
import type { DeliveryOutcome, Notifier } from './notifiers/types.js';

export interface DeliveryWorkerDeps {
  store: AlertStore;
  notifiers: readonly Notifier[];
  clock: Clock;
  logger: Logger;
  /** Lease owner id: this service instance. */
  owner: string;
  timeoutMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  secrets: readonly string[];
  /** How often the outbox is looked at for rows other processes queued or left behind. */
  pollMs?: number;
}

const MAX_RETRY_DELAY_MS = 60 * 60_000;

/**
 * Sends what the outbox holds, one lane per receiver (in order, one request in flight), off every
 * agent call's path: it is woken by a timer or a kick, never awaited by an emitter. Retries are
 * rows in the outbox, not an in-memory loop (p-retry), because they must survive a restart.
 */
export class DeliveryWorker {
  private readonly lanes: Lane[];
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;
  private readonly shutdown = new AbortController();
  /** Since start, this process: for the status view. */
  readonly counters = { delivered: 0, failedAttempts: 0, dead: 0, disabled: 0 };

  constructor(private readonly deps: DeliveryWorkerDeps) {
    this.lanes = deps.notifiers.map((notifier) => ({ notifier, busy: undefined, lastSentMs: -Infinity }));
    this.pollMs = deps.pollMs ?? 1_000;
  }

  get leaseMs(): number {
    return this.deps.timeoutMs + 2_000;
  }

  start(): void {
    if (this.lanes.length > 0) this.schedule(0);
  }

  /** Look at the outbox soon (after the current call stack: never inside an emitter). */
  kick(): void {
    if (!this.stopped && this.lanes.length > 0) this.schedule(0);
  }

  /** Starts what is due now; resolves when those deliveries finished (tests, alerts_test). */
  async runDue(): Promise<void> {
    for (;;) {
      for (const lane of this.lanes) this.pump(lane);
      const busy = this.lanes.map((l) => l.busy).filter((p): p is Promise<void> => p !== undefined);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /** Stops timers, aborts requests in flight (their rows go back to the outbox) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.shutdown.abort(new Error('server shutting down'));
    await Promise.all(this.lanes.map((l) => l.busy));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    // Now: on the next turn of the event loop (a 0 ms timer waits a millisecond or more).
    if (delayMs <= 0) {
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.tick();
      });
      return;
    }
    this.timer = setTimeout(() => this.tick(), Math.min(delayMs, this.pollMs));
    this.timer.unref();
  }

  private tick(): void {
    for (const lane of this.lanes) this.pump(lane);
    this.scheduleNext();
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    let wait = this.pollMs;
    for (const lane of this.lanes) {
      if (lane.busy) continue;
      const due = this.safe(() => this.deps.store.nextDueMs(lane.notifier.receiver));
      if (due !== undefined) wait = Math.min(wait, Math.max(due, lane.lastSentMs + lane.notifier.minIntervalMs) - now);
    }
    this.schedule(wait);
  }

  /** Claims and sends the lane's next due row, unless it is busy or rate limited. */
  private pump(lane: Lane): Promise<void> | undefined {
    if (this.stopped || lane.busy) return undefined;
    const now = this.deps.clock.now();
    if (now < lane.lastSentMs + lane.notifier.minIntervalMs) return undefined;
    const claimed = this.safe(() => this.deps.store.claim(lane.notifier.receiver, this.deps.owner, now, this.leaseMs));
    if (!claimed) return undefined;
    lane.lastSentMs = now;
    const run = this.send(lane, claimed).finally(() => {
      lane.busy = undefined;
      if (!this.stopped) this.schedule(0);
    });
    lane.busy = run;
    return run;
  }

  private async send(lane: Lane, d: ClaimedDelivery): Promise<void> {
    const { notifier } = lane;
    let outcome: DeliveryOutcome;
    try {
      outcome = await notifier.deliver({ notificationId: d.notificationId, createdMs: d.createdMs, alerts: d.alerts }, this.shutdown.signal);
    } catch (err) {
      outcome = { kind: 'retry', error: errorMessage(err) };
    }
    const now = this.deps.clock.now();
    const { store, owner, logger } = this.deps;
    this.safe(() => {
      if (outcome.kind === 'delivered') {
        store.delivered(d, owner, outcome.status, now);
        this.counters.delivered++;
        logger.debug(`delivered ${d.notificationId} to ${notifier.channel}`, { attempts: d.attempts });
      } else if (outcome.kind === 'aborted') {
        store.release(d, owner);
      } else if (outcome.kind === 'gone') {
        store.disable(notifier.receiver, outcome.error, now);
        this.counters.disabled++;
        logger.error(`the ${notifier.channel} alert endpoint answered 410 Gone: disabled; configure a new URL to send there again`);
      } else {
        const error = redactSecrets(outcome.error, this.deps.secrets).slice(0, 500);
        const dead = d.attempts >= this.deps.maxAttempts;
        const backoff = Math.min(MAX_RETRY_DELAY_MS, this.deps.retryBaseMs * 2 ** (d.attempts - 1));
        const next = dead ? null : now + Math.max(backoff, outcome.retryAfterMs ?? 0);
        store.failed(d, owner, error, outcome.status ?? null, next, now);
        this.counters.failedAttempts++;
        if (dead) this.counters.dead++;
        logger.warn(
          dead
            ? `gave up sending alert notification ${d.notificationId} to ${notifier.channel} after ${d.attempts} attempts: ${error}`
            : `alert delivery to ${notifier.channel} failed (attempt ${d.attempts} of ${this.deps.maxAttempts}), retrying in ${Math.round((next! - now) / 1000)} s: ${error}`,
        );
      }
    });
  }

  /** The outbox must never take the server down: a database error is logged and retried on the next tick. */
  private safe<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.deps.logger.error(`alert outbox: ${errorMessage(err)}`);
      return undefined;
    }
  }
}

interface Lane {
  notifier: Notifier;
  busy: Promise<void> | undefined;
  lastSentMs: number;
}
