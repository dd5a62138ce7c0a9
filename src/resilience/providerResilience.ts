import type { Clock } from '../clock.js';
import type { ResilienceConfig } from '../configSlices.js';
import { AppError, CancelledError, ProviderError, errorMessage, redactSecrets } from '../errors.js';
import type { BreakerEvent, EventBus } from '../events.js';
import type { Logger } from '../logger.js';
import type { Slot } from './adaptiveConcurrency.js';
import { defaultSleep, runAttempt } from './attempt.js';
import type { Admission, BreakerTransition } from './circuitBreaker.js';
import { classifyFailure } from './classify.js';
import { createLane, laneSnapshot, type Lane } from './lane.js';
import {
  SHUT_DOWN,
  circuitOpenError,
  deadlineError,
  exhaustedError,
  failureText,
  halfOpenBusyError,
  quotaExhaustedError,
  rateLimitedTooLongError,
  slotDeadlineError,
  targetName,
  waitTooLongError,
  type CallTarget,
} from './messages.js';
import type { Sleep } from './rateLimitGate.js';
import { RECENT_EVENT_LIMIT, iso, type BreakerSnapshot, type HealingStatus, type RecoveryEvent, type RecoveryEventType } from './status.js';
import { backoffDelay, formatDuration, nextDailyQuotaReset } from './timing.js';

export type { CallTarget } from './messages.js';
export type { BreakerState } from './circuitBreaker.js';
export type { BreakerSnapshot, HealingStatus, RecoveryEvent, RecoveryEventType } from './status.js';
export { RECENT_EVENT_LIMIT } from './status.js';

/** The longest provider-named retry delay waited out (see providerDelayCapMs). */
const PROVIDER_DELAY_CAP_MS = 5 * 60_000;
/** Rate-limit answers one call takes before it gives up (they do not use up its retries). */
export const RATE_LIMIT_ANSWERS_PER_CALL = 50;
export { RATE_WINDOW_ATTEMPTS, RATE_WINDOW_MS } from './lane.js';
export { defaultSleep } from './attempt.js';

export interface AttemptFailure {
  /** 1-based attempt number. */
  attempt: number;
  error: Error;
}

export interface ResilientCallOptions {
  /** The caller's cancellation; ends an attempt or a wait at once. */
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout; default config.agents.callTimeoutMs. */
  timeoutMs?: number | undefined;
  /** Epoch ms (injected clock) the whole call must finish by, retries and waits included. */
  deadline?: number | undefined;
  /**
   * false: one attempt only, whatever the failure, and its own error is the answer (a request a
   * person must approve is never asked twice). Default true.
   */
  retry?: boolean | undefined;
  /** Called before each wait for a retry. `attempt` is the attempt that just failed. */
  onRetry?: ((info: { attempt: number; delayMs: number; error: Error }) => void) | undefined;
  /** Called for every attempt that ran and failed (one provider request each), e.g. for the cost ledger. */
  onAttemptFailed?: ((info: AttemptFailure) => void) | undefined;
}

export interface ProviderResilienceDeps {
  config: ResilienceConfig;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  /** Waits `ms` and rejects at once when `signal` aborts. Default: a real timer. */
  sleep?: Sleep;
  /** Uniform [0, 1) source for the backoff jitter. Default Math.random. */
  random?: () => number;
}

/** What the rest of the app needs from the resilience layer. */
export type ResilientCaller = Pick<ProviderResilience, 'call' | 'isAvailable' | 'breakerInfo' | 'status'>;

/** One call's progress through its attempts. */
interface CallState {
  attempts: number;
  /** Failures that used up a retry (rate-limit answers do not). */
  failures: number;
  rateLimited: number;
  rateLimitWaitMs: number;
  /** The last retryable failure, once the call is retrying. */
  last: Error | undefined;
}

/** Thrown inside the loop to end the call with `error` (recorded as a give-up when `gaveUp`). */
class Stop {
  constructor(
    readonly error: Error,
    readonly gaveUp: boolean,
  ) {}
}

/**
 * Every provider call goes through `call()`: a timeout per attempt, retries for what a retry can
 * fix (exponential backoff with jitter, or the delay the provider named), a circuit breaker per
 * (provider, model) for what says the provider is unhealthy, and back-pressure for what says
 * "slower": a 429 (or a 503 naming a delay) holds the model's shared gate until the named time,
 * halves its concurrency and its start rate (AIMD, see AdaptiveConcurrency and AdaptiveRate)
 * and never counts toward the breaker.
 * A per-day quota opens the breaker until the quota resets.
 *
 * Why neither opossum nor p-retry: see the commit that introduced this file. In short, opossum's
 * reset timer and rolling window run on real timers (not the injected clock), it trips on a
 * percentage only, cannot stay open until a named instant, and a filtered error closes a
 * half-open breaker; p-retry computes its own delay (no per-error delay, no injected random or
 * sleep, its time limit is on performance.now) and cannot leave a rate-limit answer unconsumed
 * and wait behind a shared gate.
 */
export class ProviderResilience {
  private readonly config: ResilienceConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: EventBus;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly lanes = new Map<string, Lane>();
  private readonly recent: RecoveryEvent[] = [];
  private totalRetried = 0;
  private totalGaveUp = 0;
  private isShutdown = false;

  constructor(deps: ProviderResilienceDeps) {
    this.config = deps.config;
    this.clock = deps.clock;
    this.logger = deps.logger.child('resilience');
    this.events = deps.events;
    this.sleep = deps.sleep ?? defaultSleep;
    this.random = deps.random ?? Math.random;
  }

  /**
   * Runs `attempt` with a timeout per attempt, retries, back-pressure and the (provider, model)
   * breaker. Rejects with: the attempt's own error when it is not retryable (400, 401, 403, 404,
   * malformed…); AppError `circuit_open` / `quota_exhausted` when the breaker is (or becomes)
   * open; AppError `timeout` when the deadline would be overrun; CancelledError on cancellation;
   * and, when retries are exhausted, an AppError with the last error's code, `cause` = the last
   * error and `details.attempts`.
   */
  async call<T>(
    target: CallTarget,
    attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
    opts: ResilientCallOptions = {},
  ): Promise<{ value: T; attempts: number }> {
    if (this.isShutdown) throw new CancelledError(SHUT_DOWN);
    if (opts.signal?.aborted) throw new CancelledError();
    const lane = this.lane(target);
    const state: CallState = { attempts: 0, failures: 0, rateLimited: 0, rateLimitWaitMs: 0, last: undefined };
    try {
      for (;;) {
        const value = await this.attemptOnce(lane, attempt, opts, state);
        if (value.done) return { value: value.value, attempts: state.attempts };
      }
    } catch (err) {
      if (opts.signal?.aborted || err instanceof CancelledError) throw err instanceof CancelledError ? err : new CancelledError();
      if (err instanceof Stop) {
        if (err.gaveUp) this.recordGiveUp(lane, state.attempts, errorMessage(err.error));
        throw err.error;
      }
      throw err;
    }
  }

  /** False while the breaker is OPEN and not yet due for a test call, or a half-open probe is in flight. */
  isAvailable(provider: string, model: string): boolean {
    return this.lanes.get(this.key({ provider, model }))?.breaker.isAvailable() ?? true;
  }

  breakerInfo(provider: string, model: string): BreakerSnapshot {
    return laneSnapshot(this.lane({ provider, model }, false));
  }

  status(): HealingStatus {
    return {
      breakers: [...this.lanes.values()].map((l) => laneSnapshot(l)),
      retries: { retried: this.totalRetried, gaveUp: this.totalGaveUp },
      recentEvents: [...this.recent],
    };
  }

  /** Later calls fail with CancelledError; waiting calls are cancelled, gate timers stopped. */
  shutdown(): void {
    this.isShutdown = true;
    for (const lane of this.lanes.values()) {
      lane.gate.shutdown();
      lane.concurrency.shutdown();
    }
  }

  // --- one attempt -------------------------------------------------------------------------------

  private async attemptOnce<T>(
    lane: Lane,
    attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
    opts: ResilientCallOptions,
    state: CallState,
  ): Promise<{ done: true; value: T } | { done: false }> {
    this.checkAvailable(lane, state);
    const slot = await this.waitForTurn(lane, opts, state);
    let outcome: 'success' | 'rate_limited' | 'other' = 'other';
    let next: () => Promise<void> | void = () => undefined;
    let windowMs = 0;
    try {
      if (this.isShutdown) throw new CancelledError(SHUT_DOWN);
      const admission = lane.breaker.admit();
      if (!admission) throw this.unavailable(lane, state);
      const now = this.clock.now();
      if (opts.deadline !== undefined && now >= opts.deadline) {
        lane.breaker.abandon(admission);
        throw new Stop(deadlineError(lane.target, state.attempts, 0, opts.deadline, state.last, this.redact), state.last !== undefined);
      }
      const timeoutMs = opts.timeoutMs ?? this.config.agents.callTimeoutMs;
      const budgetMs = opts.deadline === undefined ? timeoutMs : Math.min(timeoutMs, opts.deadline - now);
      lane.concurrency.sent(slot);
      lane.rate.started();
      state.attempts++;
      const attemptNumber = state.attempts;
      try {
        const value = await runAttempt(lane.target, attempt, attemptNumber, opts.signal, budgetMs, budgetMs < timeoutMs);
        lane.breaker.success(admission);
        outcome = 'success';
        return { done: true, value };
      } catch (raw) {
        const err = raw instanceof Error ? raw : new Error(String(raw));
        ({ outcome, next, windowMs } = this.afterFailure(lane, admission, err, attemptNumber, opts, state));
      }
    } finally {
      this.adapt(lane, slot, outcome, windowMs);
    }
    // After the slot is given back: a backoff wait holds no slot, a rate limit has cut the limit.
    await next();
    return { done: false };
  }

  /** Gives the slot back and adapts the model's concurrency and rate to the outcome. */
  private adapt(lane: Lane, slot: Slot, outcome: 'success' | 'rate_limited' | 'other', windowMs: number): void {
    const { cut } = lane.concurrency.release(slot, outcome, windowMs);
    if (cut) lane.rate.cut(windowMs);
    else if (outcome === 'success') lane.rate.succeeded();
    lane.gate.setSpacing(lane.rate.intervalMs);
  }

  /**
   * Records a failed attempt and says what comes next, run once its slot is released: a throw
   * (the call ends) or a wait (the backoff) before the next attempt.
   */
  private afterFailure(
    lane: Lane,
    admission: Admission,
    err: Error,
    attemptNumber: number,
    opts: ResilientCallOptions,
    state: CallState,
  ): { outcome: 'rate_limited' | 'other'; next: () => Promise<void> | void; windowMs: number } {
    const cls = classifyFailure(err);
    const now = this.clock.now();
    if (cls.countsAsFailure || cls.rateLimit) {
      lane.lastError = { code: err instanceof AppError ? err.code : err.name, message: failureText(err, this.redact), at: now };
    }
    if (cls.dailyQuota) {
      const resetAt = nextDailyQuotaReset(now);
      lane.quota = { id: cls.dailyQuota.id, resetAt };
      lane.breaker.failure(admission, {
        opensWith: () => '',
        lastError: lane.lastError!.message,
        holdUntil: { until: resetAt, reason: `daily quota ${cls.dailyQuota.id} exhausted` },
      });
    } else if (cls.countsAsFailure) {
      const message = lane.lastError!.message;
      lane.breaker.failure(admission, { opensWith: (n) => `${n} consecutive failures (last: ${message})`, lastError: message });
    } else {
      // Rate-limit answers and client errors say nothing about health; a cancelled probe proves nothing.
      lane.breaker.neutral(admission, cls.cancelled);
    }
    opts.onAttemptFailed?.({ attempt: attemptNumber, error: err });

    const stop = (error: Error, gaveUp: boolean) => () => {
      throw new Stop(error, gaveUp);
    };
    // A rate limit's window: the delay it named, else the backoff's base.
    const windowMs = err instanceof ProviderError && err.retryAfterMs !== undefined ? err.retryAfterMs : this.config.retry.baseDelayMs;
    if (cls.dailyQuota) return { outcome: 'other', next: stop(quotaExhaustedError(lane.target, state.attempts, now, lane.quota!, err), false), windowMs };
    if (!cls.retry || opts.retry === false) return { outcome: cls.rateLimit ? 'rate_limited' : 'other', next: stop(err, false), windowMs };
    state.last = err;
    if (cls.rateLimit) return { outcome: 'rate_limited', next: () => this.onRateLimited(lane, err, attemptNumber, opts, state), windowMs };
    return { outcome: 'other', next: () => this.backoff(lane, err, attemptNumber, opts, state), windowMs };
  }

  /** The provider said "slower": hold the model's gate; the next turn waits behind it. */
  private onRateLimited(lane: Lane, err: Error, attemptNumber: number, opts: ResilientCallOptions, state: CallState): void {
    state.rateLimited++;
    lane.rateLimitHits++;
    const now = this.clock.now();
    const named = this.retryDelay(err, state.rateLimited);
    const capMs = this.providerDelayCapMs();
    // A provider may name any delay (a 429 saying "in 24 h"); past the cap the caller hears it
    // now instead of a tool call that seems to hang, and the gate is not held that long.
    if (named > capMs) throw new Stop(waitTooLongError(lane.target, state.attempts, named, capMs, err, this.redact), true);
    lane.gate.hold(now + named);
    const until = lane.gate.closedUntil() ?? now;
    const delayMs = until - now;
    const concurrency = lane.concurrency.limit ?? lane.concurrency.inFlight;
    this.events.emit('rate_limit.hit', { ...lane.target, delayMs: named, until, concurrency, at: now });
    this.logger.info(`${targetName(lane.target)} is rate-limited for ${formatDuration(delayMs)}; concurrency ${concurrency}`, {
      delayMs,
      concurrency,
    });
    if (state.rateLimited > RATE_LIMIT_ANSWERS_PER_CALL || state.rateLimitWaitMs + delayMs > capMs) {
      throw new Stop(rateLimitedTooLongError(lane.target, state.attempts, state.rateLimitWaitMs + delayMs, capMs, err, this.redact), true);
    }
    if (opts.deadline !== undefined && until >= opts.deadline) {
      throw new Stop(deadlineError(lane.target, state.attempts, delayMs, opts.deadline, err, this.redact), true);
    }
    this.announceRetry(lane, err, attemptNumber, delayMs, opts);
  }

  /** A failure a retry may fix: wait the backoff (or the provider's delay) on this call's own timer. */
  private async backoff(lane: Lane, err: Error, attemptNumber: number, opts: ResilientCallOptions, state: CallState): Promise<void> {
    state.failures++;
    if (state.failures > this.config.retry.maxRetries) {
      // With retries configured off there was nothing to give up.
      throw new Stop(exhaustedError(lane.target, state.attempts, err, this.redact), this.config.retry.maxRetries > 0);
    }
    // The breaker may have opened on this very failure: stop now, not after a wait.
    this.checkAvailable(lane, state);
    const delayMs = this.retryDelay(err, state.failures);
    const capMs = this.providerDelayCapMs();
    if (delayMs > capMs) throw new Stop(waitTooLongError(lane.target, state.attempts, delayMs, capMs, err, this.redact), true);
    if (opts.deadline !== undefined && this.clock.now() + delayMs >= opts.deadline) {
      throw new Stop(deadlineError(lane.target, state.attempts, delayMs, opts.deadline, err, this.redact), true);
    }
    this.announceRetry(lane, err, attemptNumber, delayMs, opts);
    try {
      await this.sleep(delayMs, opts.signal);
    } catch (sleepErr) {
      if (opts.signal?.aborted || sleepErr instanceof CancelledError) throw new CancelledError('The call was cancelled during a retry wait.');
      throw sleepErr;
    }
  }

  private announceRetry(lane: Lane, err: Error, attemptNumber: number, delayMs: number, opts: ResilientCallOptions): void {
    lane.retried++;
    this.totalRetried++;
    const message = this.redact(errorMessage(err));
    this.events.emit('retry.attempt', { ...lane.target, attempt: attemptNumber, delayMs, error: message, at: this.clock.now() });
    this.logger.info(`Retrying ${targetName(lane.target)} in ${formatDuration(delayMs)} after attempt ${attemptNumber} failed`, {
      attempt: attemptNumber,
      delayMs,
      error: message,
    });
    opts.onRetry?.({ attempt: attemptNumber, delayMs, error: err });
  }

  /**
   * Back-pressure before an attempt: a slot under the model's concurrency limit, then the gate.
   * A slot is held while the gate is closed, so no more than the limit go when it opens.
   */
  private async waitForTurn(lane: Lane, opts: ResilientCallOptions, state: CallState): Promise<Slot> {
    const { deadline, signal } = opts;
    const started = this.clock.now();
    let waited = lane.concurrency.mustWait();
    const slot = await lane.concurrency.acquire(
      signal,
      deadline === undefined ? undefined : Math.max(0, deadline - started),
      () => new Stop(slotDeadlineError(lane.target, state.attempts, deadline!, lane.concurrency.limit, state.last, this.redact), state.last !== undefined),
    );
    try {
      if (lane.gate.mustWait()) {
        waited = true;
        const until = lane.gate.closedUntil();
        if (deadline !== undefined && until !== null && until >= deadline) {
          const delayMs = until - this.clock.now();
          throw new Stop(deadlineError(lane.target, state.attempts, delayMs, deadline, state.last, this.redact), state.last !== undefined);
        }
      }
      await lane.gate.pass(signal);
    } catch (err) {
      lane.concurrency.release(slot, 'other');
      throw err;
    } finally {
      if (waited) {
        const ms = Math.max(0, this.clock.now() - started);
        lane.waits++;
        lane.totalWaitMs += ms;
        if (state.rateLimited > 0) state.rateLimitWaitMs += ms;
      }
    }
    return slot;
  }

  private checkAvailable(lane: Lane, state: CallState): void {
    if (!lane.breaker.isAvailable()) throw this.unavailable(lane, state);
  }

  private unavailable(lane: Lane, state: CallState): Stop {
    const now = this.clock.now();
    const breakerState = lane.breaker.state;
    let error: AppError;
    if (lane.quota && breakerState === 'open' && now < lane.quota.resetAt) {
      error = quotaExhaustedError(lane.target, state.attempts, now, lane.quota, undefined);
    } else if (breakerState === 'half_open') {
      error = halfOpenBusyError(lane.target, state.attempts);
    } else {
      error = circuitOpenError(lane.target, state.attempts, now, lane.breaker.retryAt ?? now + this.config.breaker.resetTimeoutMs, lane.breaker.reason);
    }
    return new Stop(error, state.last !== undefined);
  }

  /** The provider's own delay wins; otherwise exponential backoff with jitter. */
  private retryDelay(error: Error, retry: number): number {
    if (error instanceof ProviderError && error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs)) {
      return Math.max(0, Math.round(error.retryAfterMs));
    }
    return backoffDelay(retry, this.config.retry, this.random);
  }

  /**
   * The longest provider-named delay waited out: 5 minutes, or the backoff cap when larger.
   * (Progress heartbeats keep a client waiting meanwhile; a per-minute quota names well under it.)
   */
  private providerDelayCapMs(): number {
    return Math.max(PROVIDER_DELAY_CAP_MS, this.config.retry.maxDelayMs);
  }

  // --- lanes, transitions, status ----------------------------------------------------------------

  private key(target: CallTarget): string {
    return `${target.provider}\u0000${target.model}`;
  }

  private readonly redact = (text: string): string => redactSecrets(text, this.config.secrets);

  private lane(target: CallTarget, create = true): Lane {
    const key = this.key(target);
    const existing = this.lanes.get(key);
    if (existing) return existing;
    const lane = createLane(target, { clock: this.clock, sleep: this.sleep, breaker: this.config.breaker, onTransition: (l, t) => this.announce(l, t) });
    if (create) this.lanes.set(key, lane);
    return lane;
  }

  private announce(lane: Lane, tr: BreakerTransition): void {
    const name = targetName(lane.target);
    const payload: BreakerEvent = { ...lane.target, at: tr.at };
    let detail: string;
    if (tr.state === 'open') {
      if (tr.retryAt !== null) payload.retryAt = tr.retryAt;
      payload.reason = tr.reason;
      detail = `${name} opened: ${tr.reason}; test call at ${iso(tr.retryAt ?? tr.at)}`;
      this.logger.warn(`Circuit breaker ${detail}`, { ...lane.target });
    } else {
      if (tr.state === 'closed') lane.quota = null;
      detail = tr.state === 'half_open' ? `${name} lets one test call through` : `${name} closed: ${tr.reason}`;
      this.logger.info(`Circuit breaker ${detail}`, { ...lane.target });
    }
    this.remember(tr.state === 'open' ? 'opened' : tr.state, lane.target, tr.at, detail);
    this.events.emit(tr.state === 'open' ? 'breaker.opened' : tr.state === 'half_open' ? 'breaker.half_open' : 'breaker.closed', payload);
  }

  private recordGiveUp(lane: Lane, attempts: number, message: string): void {
    lane.gaveUp++;
    this.totalGaveUp++;
    const now = this.clock.now();
    const text = this.redact(message);
    this.remember('retry_gave_up', lane.target, now, text);
    this.logger.warn(`Gave up retrying ${targetName(lane.target)} after ${attempts} attempt(s)`, { error: text });
    this.events.emit('retry.gave_up', { ...lane.target, attempt: attempts, error: text, at: now });
  }

  private remember(type: RecoveryEventType, target: CallTarget, at: number, detail: string): void {
    this.recent.push({ type, provider: target.provider, model: target.model, at: iso(at), detail: this.redact(detail).slice(0, 500) });
    while (this.recent.length > RECENT_EVENT_LIMIT) this.recent.shift();
  }
}
