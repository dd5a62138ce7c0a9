import CircuitBreaker from 'opossum';
import pRetry, { AbortError } from 'p-retry';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { AppError, CancelledError, ProviderError, TimeoutError, errorMessage, redactSecrets } from '../errors.js';
import type { BreakerEvent, EventBus, RetryEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { classifyFailure } from './classify.js';
import { backoffDelay, formatDuration, nextDailyQuotaReset } from './timing.js';

/** The longest provider-named retry delay waited out (see providerDelayCapMs). */
const PROVIDER_DELAY_CAP_MS = 5 * 60_000;

/**
 * The self-healing layer: every provider call goes through `HealingService.call()`, which gives
 * each attempt its own timeout signal, retries what can succeed on a retry (p-retry), and guards
 * each (provider, model) with an opossum circuit breaker.
 *
 * Design decisions:
 * - Retries run OUTSIDE the breaker: each attempt is one `breaker.fire()`, so each failed attempt
 *   counts toward the breaker, and once it opens the next step of the retry loop stops at once
 *   with `circuit_open` (no backoff wait first).
 * - Opossum trips on an error percentage over a rolling window; the spec wants N CONSECUTIVE
 *   failures. Opossum's own trip is disabled (`errorThresholdPercentage: 100` can never be
 *   exceeded) and this class counts consecutive failures and calls `breaker.open()`. Opossum still
 *   does the gating: it rejects calls while OPEN without running them, lets exactly one probe
 *   through while HALF_OPEN, closes on the probe's success and reopens on its failure.
 * - OPEN -> HALF_OPEN follows the injected clock, checked lazily on every call/isAvailable/status:
 *   once `clock.now() >= retryAt` the breaker is replaced by an opossum breaker restored in the
 *   half-open state (opossum's documented `state` option). Opossum's own reset timer is parked at
 *   its maximum so it never races the clock, and is cleared by `shutdown()`.
 * - p-retry runs the loop with `minTimeout: 0`; the wait happens in `shouldRetry` through the
 *   injectable `sleep(ms, signal)`, because the wait depends on the error (Retry-After wins over
 *   the backoff) and must be checked against the call's deadline before it starts.
 */

export interface CallTarget {
  provider: string;
  model: string;
}

export interface AttemptFailure {
  /** 1-based attempt number. */
  attempt: number;
  error: Error;
}

export interface ResilientCallOptions {
  /** The caller's cancellation; ends an attempt or a backoff wait at once. */
  signal?: AbortSignal | undefined;
  /** Per-attempt timeout; default config.agents.callTimeoutMs. */
  timeoutMs?: number | undefined;
  /** Epoch ms (injected clock) the whole call must finish by, retries included. */
  deadline?: number | undefined;
  /**
   * false: one attempt only, whatever the failure, and its own error is the answer (a request a
   * person must approve is never asked twice). Default true.
   */
  retry?: boolean | undefined;
  /** Called before each backoff wait. `attempt` is the attempt that just failed. */
  onRetry?: ((info: { attempt: number; delayMs: number; error: Error }) => void) | undefined;
  /** Called for every attempt that ran and failed (one provider request each), e.g. for the cost ledger. */
  onAttemptFailed?: ((info: AttemptFailure) => void) | undefined;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerSnapshot {
  provider: string;
  model: string;
  state: BreakerState;
  /** False while OPEN before its retry time, or while a half-open probe is in flight. */
  available: boolean;
  consecutiveFailures: number;
  totalFailures: number;
  totalSuccesses: number;
  /** Attempts that failed and were retried. */
  retried: number;
  /** Calls whose retries were given up (exhausted, deadline, or the breaker opened mid-retry). */
  gaveUp: number;
  lastError: { code: string; message: string; at: string } | null;
  /** When the breaker last opened (ISO), null while closed. */
  openedAt: string | null;
  /** When it lets a test call through (ISO), null while closed. */
  halfOpenAt: string | null;
  /** Why it opened. */
  reason: string | null;
  /** Set while a per-day quota is exhausted. */
  quota: { id: string; resetsAt: string } | null;
}

export type RecoveryEventType = 'opened' | 'half_open' | 'closed' | 'retry_gave_up';

export interface RecoveryEvent {
  type: RecoveryEventType;
  provider: string;
  model: string;
  at: string;
  detail: string;
}

export interface HealingStatus {
  breakers: BreakerSnapshot[];
  retries: { retried: number; gaveUp: number };
  recentEvents: RecoveryEvent[];
}

export interface HealingServiceDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  /** Waits `ms` and rejects at once when `signal` aborts. Default: a real timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) source for the backoff jitter. Default Math.random. */
  random?: () => number;
}

/** What the rest of the app needs from the self-healing layer. */
export type ResilientCaller = Pick<HealingService, 'call' | 'isAvailable' | 'breakerInfo' | 'status'>;

/** How many recovery events `status()` keeps. */
export const RECENT_EVENT_LIMIT = 50;
/** Longest setTimeout Node accepts; opossum's own reset timer is parked here (the clock decides). */
const PARKED_RESET_TIMEOUT_MS = 2_147_483_647;

type Thunk = () => Promise<unknown>;
type Breaker = CircuitBreaker<[Thunk], unknown>;

interface Entry {
  target: CallTarget;
  breaker: Breaker;
  consecutiveFailures: number;
  totalFailures: number;
  totalSuccesses: number;
  retried: number;
  gaveUp: number;
  lastError: { code: string; message: string; at: number } | null;
  openedAt: number | null;
  retryAt: number | null;
  reason: string | null;
  quota: { id: string; resetAt: number } | null;
  /** The state last announced on the bus, so each transition is announced once. */
  announced: BreakerState;
  /** Outcomes of the latest attempts (newest last), for the failure-rate condition. */
  outcomes: Array<{ at: number; failed: boolean }>;
}

/** How many recent attempts, and how far back, the failure-rate condition looks at. */
export const RATE_WINDOW_ATTEMPTS = 20;
export const RATE_WINDOW_MS = 60_000;

/** Sleeps on a real timer; rejects with CancelledError as soon as `signal` aborts. */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new CancelledError('The call was cancelled during a retry wait.'));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError('The call was cancelled during a retry wait.'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isOpossumRejection(err: unknown, code: 'EOPENBREAKER' | 'ESHUTDOWN'): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === code;
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class HealingService {
  private readonly config: Config;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly events: EventBus;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly recent: RecoveryEvent[] = [];
  private totalRetried = 0;
  private totalGaveUp = 0;
  private isShutdown = false;

  constructor(deps: HealingServiceDeps) {
    this.config = deps.config;
    this.clock = deps.clock;
    this.logger = deps.logger.child('healing');
    this.events = deps.events;
    this.sleep = deps.sleep ?? defaultSleep;
    this.random = deps.random ?? Math.random;
  }

  /**
   * Runs `attempt` with a timeout per attempt, retries and the (provider, model) breaker.
   * Rejects with: the attempt's own error when it is not retryable (400, 401, 403, 404, malformed…);
   * AppError `circuit_open` / `quota_exhausted` when the breaker is (or becomes) open;
   * AppError `timeout` when the deadline would be overrun; CancelledError on cancellation; and, when
   * retries are exhausted, an AppError with the last error's code, `cause` = the last error and
   * `details.attempts`.
   */
  async call<T>(
    target: CallTarget,
    attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
    opts: ResilientCallOptions = {},
  ): Promise<{ value: T; attempts: number }> {
    const { signal, deadline } = opts;
    if (this.isShutdown) throw new CancelledError('The self-healing layer is shut down; the call was not made.');
    if (signal?.aborted) throw new CancelledError();
    const entry = this.entry(target);
    const timeoutMs = opts.timeoutMs ?? this.config.agents.callTimeoutMs;
    let attempts = 0;
    let lastRetryable: Error | undefined;
    let giveUp: AppError | undefined;

    const run = async (attemptNumber: number): Promise<T> => {
      this.refresh(entry);
      const now = this.clock.now();
      if (deadline !== undefined && now >= deadline) {
        const err = this.deadlineError(entry, attempts, 0, deadline, lastRetryable);
        if (lastRetryable) giveUp = err;
        throw new AbortError(err);
      }
      const budgetMs = deadline === undefined ? timeoutMs : Math.min(timeoutMs, deadline - now);
      const breaker = entry.breaker;
      const wasHalfOpen = breaker.halfOpen;
      let value: T;
      try {
        attempts++;
        value = (await breaker.fire(() =>
          this.runAttempt(target, attempt, attemptNumber, signal, budgetMs, budgetMs < timeoutMs),
        )) as T;
      } catch (raw) {
        if (isOpossumRejection(raw, 'EOPENBREAKER')) {
          attempts--; // opossum did not run it: no provider request was made
          const err = this.unavailableError(entry, attempts);
          if (lastRetryable) giveUp = err;
          throw new AbortError(err);
        }
        if (isOpossumRejection(raw, 'ESHUTDOWN')) {
          attempts--;
          throw new AbortError(new CancelledError('The self-healing layer is shut down; the call was not made.'));
        }
        const err = toError(raw);
        const cls = classifyFailure(err);
        // Half-open transitions only apply if this attempt ran on the breaker that is still current.
        const probe = wasHalfOpen && entry.breaker === breaker;
        if (cls.countsAsFailure) this.recordFailure(entry, err, cls.dailyQuota, probe);
        else this.recordNeutral(entry, cls.cancelled, probe);
        opts.onAttemptFailed?.({ attempt: attemptNumber, error: err });
        if (cls.dailyQuota) throw new AbortError(this.quotaError(entry, attempts, err));
        if (!cls.retry || opts.retry === false) throw new AbortError(err);
        lastRetryable = err;
        throw err;
      }
      this.recordSuccess(entry, wasHalfOpen && entry.breaker === breaker);
      return value;
    };

    try {
      const value = await pRetry(run, {
        retries: this.config.retry.maxRetries,
        minTimeout: 0,
        factor: 1,
        randomize: false,
        signal,
        shouldRetry: async ({ error, attemptNumber, retriesConsumed }) => {
          // The breaker may have opened on this very failure: stop now, not after a wait.
          this.refresh(entry);
          if (!entry.breaker.closed && !entry.breaker.pendingClose) {
            giveUp = this.unavailableError(entry, attempts);
            throw giveUp;
          }
          const delayMs = this.retryDelay(error, retriesConsumed + 1);
          // A provider may name any delay (a 429 saying "in 24 h"); past the cap the caller hears
          // it now instead of a tool call that seems to hang.
          if (delayMs > this.providerDelayCapMs()) {
            giveUp = this.waitTooLongError(entry, attempts, delayMs, error);
            throw giveUp;
          }
          if (deadline !== undefined && this.clock.now() + delayMs >= deadline) {
            giveUp = this.deadlineError(entry, attempts, delayMs, deadline, error);
            throw giveUp;
          }
          entry.retried++;
          this.totalRetried++;
          const message = this.redact(errorMessage(error));
          this.emitRetry('retry.attempt', { ...target, attempt: attemptNumber, delayMs, error: message, at: this.clock.now() });
          this.logger.info(`Retrying ${this.name(target)} in ${formatDuration(delayMs)} after attempt ${attemptNumber} failed`, {
            attempt: attemptNumber,
            delayMs,
            error: message,
          });
          opts.onRetry?.({ attempt: attemptNumber, delayMs, error });
          try {
            await this.sleep(delayMs, signal);
          } catch (sleepErr) {
            if (signal?.aborted || sleepErr instanceof CancelledError) throw new CancelledError('The call was cancelled during a retry wait.');
            throw sleepErr;
          }
          return true;
        },
      });
      return { value, attempts };
    } catch (err) {
      if (signal?.aborted || err instanceof CancelledError) {
        throw err instanceof CancelledError ? err : new CancelledError();
      }
      if (giveUp !== undefined && err === giveUp) {
        this.recordGiveUp(entry, attempts, giveUp.message);
        throw giveUp;
      }
      if (lastRetryable !== undefined && err === lastRetryable) {
        const exhausted = this.exhaustedError(entry, attempts, lastRetryable);
        // With retries configured off there was nothing to give up.
        if (this.config.retry.maxRetries > 0) this.recordGiveUp(entry, attempts, exhausted.message);
        throw exhausted;
      }
      throw err;
    }
  }

  /** False while the breaker is OPEN and not yet due for a test call, or a half-open probe is in flight. */
  isAvailable(provider: string, model: string): boolean {
    const entry = this.entries.get(this.key({ provider, model }));
    if (!entry) return true;
    this.refresh(entry);
    return entry.breaker.closed || entry.breaker.pendingClose;
  }

  breakerInfo(provider: string, model: string): BreakerSnapshot {
    const entry = this.entries.get(this.key({ provider, model }));
    if (!entry) {
      return {
        provider,
        model,
        state: 'closed',
        available: true,
        consecutiveFailures: 0,
        totalFailures: 0,
        totalSuccesses: 0,
        retried: 0,
        gaveUp: 0,
        lastError: null,
        openedAt: null,
        halfOpenAt: null,
        reason: null,
        quota: null,
      };
    }
    this.refresh(entry);
    return this.snapshot(entry);
  }

  status(): HealingStatus {
    const breakers = [...this.entries.values()].map((e) => {
      this.refresh(e);
      return this.snapshot(e);
    });
    return {
      breakers,
      retries: { retried: this.totalRetried, gaveUp: this.totalGaveUp },
      recentEvents: [...this.recent],
    };
  }

  /** Stops every breaker (clears opossum's timers); later calls fail with CancelledError. */
  shutdown(): void {
    this.isShutdown = true;
    for (const entry of this.entries.values()) entry.breaker.shutdown();
  }

  // ---------------------------------------------------------------------------------------------

  private key(target: CallTarget): string {
    return `${target.provider}\u0000${target.model}`;
  }

  private name(target: CallTarget): string {
    return `${target.provider}/${target.model}`;
  }

  private redact(text: string): string {
    return redactSecrets(text, this.config.secrets);
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  private entry(target: CallTarget): Entry {
    const key = this.key(target);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {
        target: { provider: target.provider, model: target.model },
        breaker: this.createBreaker(target, false),
        consecutiveFailures: 0,
        outcomes: [],
        totalFailures: 0,
        totalSuccesses: 0,
        retried: 0,
        gaveUp: 0,
        lastError: null,
        openedAt: null,
        retryAt: null,
        reason: null,
        quota: null,
        announced: 'closed',
      };
      this.entries.set(key, entry);
    }
    return entry;
  }

  private createBreaker(target: CallTarget, halfOpen: boolean): Breaker {
    const options: CircuitBreaker.Options<[Thunk]> & { state?: Record<string, unknown> } = {
      name: this.name(target),
      // Timeouts are ours (an AbortSignal per attempt), so the HTTP request is really aborted.
      timeout: false,
      // Never exceeded: opossum's percentage trip is off, consecutive failures are counted here.
      errorThresholdPercentage: 100,
      resetTimeout: PARKED_RESET_TIMEOUT_MS,
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
      // Client errors and cancellations are not failures.
      errorFilter: (err: unknown) => !classifyFailure(err).countsAsFailure,
    };
    if (halfOpen) {
      options.state = { enabled: true, closed: false, open: false, halfOpen: true, warmUp: false, shutdown: false };
    }
    return new CircuitBreaker<[Thunk], unknown>((thunk: Thunk) => thunk(), options);
  }

  private state(entry: Entry): BreakerState {
    if (entry.breaker.halfOpen) return 'half_open';
    if (entry.breaker.opened) return 'open';
    return 'closed';
  }

  /** Lazy OPEN -> HALF_OPEN on the injected clock. */
  private refresh(entry: Entry): void {
    if (!entry.breaker.opened || entry.retryAt === null || this.clock.now() < entry.retryAt) return;
    this.replaceBreaker(entry, true);
    this.announce(entry, 'half_open', `${this.name(entry.target)} lets one test call through`);
  }

  private replaceBreaker(entry: Entry, halfOpen: boolean): void {
    const old = entry.breaker;
    entry.breaker = this.createBreaker(entry.target, halfOpen);
    old.shutdown();
  }

  private async runAttempt<T>(
    target: CallTarget,
    attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>,
    attemptNumber: number,
    callerSignal: AbortSignal | undefined,
    timeoutMs: number,
    cappedByDeadline: boolean,
  ): Promise<T> {
    const controller = new AbortController();
    const aborted = new Promise<never>((_resolve, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    const onCallerAbort = () => controller.abort(new CancelledError());
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => {
      controller.abort(
        cappedByDeadline
          ? new TimeoutError(`Attempt ${attemptNumber} to ${this.name(target)} was stopped at the call's deadline after ${timeoutMs} ms.`, {
              callerLimit: true,
            })
          : new TimeoutError(`Attempt ${attemptNumber} to ${this.name(target)} timed out after ${timeoutMs} ms.`),
      );
    }, Math.max(0, timeoutMs));
    try {
      const work = Promise.resolve().then(() => attempt(controller.signal, attemptNumber));
      return await Promise.race([work, aborted]);
    } catch (err) {
      // Whatever the attempt threw once its signal fired (an AbortError, a network error…),
      // the reason is the timeout or the cancellation.
      if (controller.signal.aborted) throw controller.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** The provider's own delay wins; otherwise exponential backoff with jitter. */
  private retryDelay(error: Error, retry: number): number {
    if (error instanceof ProviderError && error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs)) {
      return Math.max(0, Math.round(error.retryAfterMs));
    }
    return backoffDelay(retry, this.config.retry, this.random);
  }

  private recordOutcome(entry: Entry, failed: boolean): void {
    entry.outcomes.push({ at: this.clock.now(), failed });
    if (entry.outcomes.length > RATE_WINDOW_ATTEMPTS) entry.outcomes.shift();
  }

  /** Share of failures among the attempts of the last minute (at most the last 20). */
  private recentFailureRate(entry: Entry): number {
    const since = this.clock.now() - RATE_WINDOW_MS;
    const window = entry.outcomes.filter((o) => o.at >= since);
    return window.length === 0 ? 0 : window.filter((o) => o.failed).length / window.length;
  }

  private recordSuccess(entry: Entry, wasHalfOpen: boolean): void {
    this.recordOutcome(entry, false);
    entry.totalSuccesses++;
    entry.consecutiveFailures = 0;
    if (wasHalfOpen && entry.breaker.closed) this.markClosed(entry, 'the test call succeeded');
  }

  /** Client errors and cancellations: not failures. */
  private recordNeutral(entry: Entry, cancelled: boolean, wasHalfOpen: boolean): void {
    if (!wasHalfOpen || !entry.breaker.closed) return;
    if (cancelled) {
      // Opossum closed on the filtered error, but a cancelled probe proves nothing: test again.
      this.replaceBreaker(entry, true);
      return;
    }
    entry.consecutiveFailures = 0;
    this.markClosed(entry, 'the provider answered the test call');
  }

  private recordFailure(entry: Entry, err: Error, dailyQuota: { id: string } | undefined, wasHalfOpen: boolean): void {
    const now = this.clock.now();
    this.recordOutcome(entry, true);
    entry.totalFailures++;
    entry.consecutiveFailures++;
    const code = err instanceof AppError ? err.code : err.name;
    // Providers usually put the status in their message already; don't say it twice.
    const status = err instanceof ProviderError && err.status !== undefined && !errorMessage(err).includes(`HTTP ${err.status}`) ? `HTTP ${err.status}: ` : '';
    const message = this.redact(`${status}${errorMessage(err)}`).slice(0, 500);
    entry.lastError = { code, message, at: now };
    if (dailyQuota) {
      const resetAt = nextDailyQuotaReset(now);
      entry.quota = { id: dailyQuota.id, resetAt };
      this.open(entry, resetAt, `daily quota ${dailyQuota.id} exhausted`, true);
    } else if (wasHalfOpen || entry.breaker.opened) {
      // Opossum already reopened it when the half-open probe failed.
      if (wasHalfOpen) this.open(entry, now + this.config.breaker.resetTimeoutMs, `the test call failed (${message})`, false);
    } else if (
      entry.consecutiveFailures >= this.config.breaker.failureThreshold &&
      // With many calls in flight, a flaky provider (say 30% 503s) produces runs of failures
      // in completion order; an outage fails nearly everything. Open only on the latter.
      this.recentFailureRate(entry) >= this.config.breaker.minFailureRate
    ) {
      this.open(entry, now + this.config.breaker.resetTimeoutMs, `${entry.consecutiveFailures} consecutive failures (last: ${message})`, false);
    }
  }

  private open(entry: Entry, retryAt: number, reason: string, extend: boolean): void {
    const alreadyOpen = entry.announced === 'open' && entry.breaker.opened;
    if (alreadyOpen && !(extend && retryAt > (entry.retryAt ?? 0))) return;
    entry.breaker.open();
    const now = this.clock.now();
    if (!alreadyOpen) entry.openedAt = now;
    entry.retryAt = retryAt;
    entry.reason = reason;
    this.announce(entry, 'open', `${this.name(entry.target)} opened: ${reason}; test call at ${this.iso(retryAt)}`);
  }

  private markClosed(entry: Entry, why: string): void {
    entry.openedAt = null;
    entry.retryAt = null;
    entry.reason = null;
    entry.quota = null;
    this.announce(entry, 'closed', `${this.name(entry.target)} closed: ${why}`);
  }

  private announce(entry: Entry, state: BreakerState, detail: string): void {
    entry.announced = state;
    const now = this.clock.now();
    const payload: BreakerEvent = { provider: entry.target.provider, model: entry.target.model, at: now };
    if (state === 'open') {
      if (entry.retryAt !== null) payload.retryAt = entry.retryAt;
      if (entry.reason !== null) payload.reason = entry.reason;
    }
    const eventName = state === 'open' ? 'breaker.opened' : state === 'half_open' ? 'breaker.half_open' : 'breaker.closed';
    this.remember(state === 'open' ? 'opened' : state, entry.target, now, detail);
    if (state === 'open') this.logger.warn(`Circuit breaker ${detail}`, { provider: payload.provider, model: payload.model });
    else this.logger.info(`Circuit breaker ${detail}`, { provider: payload.provider, model: payload.model });
    this.events.emit(eventName, payload);
  }

  private recordGiveUp(entry: Entry, attempts: number, message: string): void {
    entry.gaveUp++;
    this.totalGaveUp++;
    const now = this.clock.now();
    const text = this.redact(message);
    this.remember('retry_gave_up', entry.target, now, text);
    this.logger.warn(`Gave up retrying ${this.name(entry.target)} after ${attempts} attempt(s)`, { error: text });
    this.emitRetry('retry.gave_up', { ...entry.target, attempt: attempts, error: text, at: now });
  }

  private remember(type: RecoveryEventType, target: CallTarget, at: number, detail: string): void {
    this.recent.push({ type, provider: target.provider, model: target.model, at: this.iso(at), detail: this.redact(detail).slice(0, 500) });
    while (this.recent.length > RECENT_EVENT_LIMIT) this.recent.shift();
  }

  private emitRetry(name: 'retry.attempt' | 'retry.gave_up', payload: RetryEvent): void {
    this.events.emit(name, payload);
  }


  private snapshot(entry: Entry): BreakerSnapshot {
    const state = this.state(entry);
    return {
      provider: entry.target.provider,
      model: entry.target.model,
      state,
      available: entry.breaker.closed || entry.breaker.pendingClose,
      consecutiveFailures: entry.consecutiveFailures,
      totalFailures: entry.totalFailures,
      totalSuccesses: entry.totalSuccesses,
      retried: entry.retried,
      gaveUp: entry.gaveUp,
      lastError: entry.lastError ? { ...entry.lastError, at: this.iso(entry.lastError.at) } : null,
      openedAt: state === 'closed' || entry.openedAt === null ? null : this.iso(entry.openedAt),
      halfOpenAt: state === 'closed' || entry.retryAt === null ? null : this.iso(entry.retryAt),
      reason: state === 'closed' ? null : entry.reason,
      quota: entry.quota && state !== 'closed' ? { id: entry.quota.id, resetsAt: this.iso(entry.quota.resetAt) } : null,
    };
  }

  // --- errors a calling model reads -------------------------------------------------------------

  private unavailableError(entry: Entry, attempts: number): AppError {
    const now = this.clock.now();
    const name = this.name(entry.target);
    if (entry.quota && entry.breaker.opened && now < entry.quota.resetAt) {
      return this.quotaExhausted(entry, attempts, undefined);
    }
    if (entry.breaker.halfOpen) {
      return new AppError(
        'circuit_open',
        `Circuit breaker for ${name} is half-open and its one test call is in flight; retry in a few seconds or use another model.`,
        { retryable: true, details: { ...entry.target, state: 'half_open', attempts } },
      );
    }
    const retryAt = entry.retryAt ?? now + this.config.breaker.resetTimeoutMs;
    const seconds = Math.max(0, Math.ceil((retryAt - now) / 1000));
    return new AppError(
      'circuit_open',
      `Circuit breaker for ${name} is open (${entry.reason ?? 'too many failures'}); it will let a test call through at ` +
        `${this.iso(retryAt)} (in ${seconds} s). Use another model or retry after that.`,
      {
        retryable: true,
        details: { ...entry.target, state: 'open', retryAt: this.iso(retryAt), retryInSeconds: seconds, attempts },
      },
    );
  }

  private quotaError(entry: Entry, attempts: number, cause: Error): AppError {
    return this.quotaExhausted(entry, attempts, cause);
  }

  private quotaExhausted(entry: Entry, attempts: number, cause: Error | undefined): AppError {
    const now = this.clock.now();
    const quota = entry.quota ?? { id: 'unknown', resetAt: nextDailyQuotaReset(now) };
    return new AppError(
      'quota_exhausted',
      `The daily quota ${quota.id} for ${this.name(entry.target)} is used up; it resets at ${this.iso(quota.resetAt)} ` +
        `(midnight America/Los_Angeles, in ${formatDuration(quota.resetAt - now)}). Use another model until then.`,
      {
        retryable: false,
        cause,
        details: {
          ...entry.target,
          quotaId: quota.id,
          resetsAt: this.iso(quota.resetAt),
          resetInSeconds: Math.max(0, Math.ceil((quota.resetAt - now) / 1000)),
          attempts,
        },
      },
    );
  }

  /**
   * The longest provider-named delay waited out: 5 minutes, or the backoff cap when larger.
   * (Progress heartbeats keep a client waiting meanwhile; a per-minute quota names well under it.)
   */
  private providerDelayCapMs(): number {
    return Math.max(PROVIDER_DELAY_CAP_MS, this.config.retry.maxDelayMs);
  }

  private waitTooLongError(entry: Entry, attempts: number, delayMs: number, last: Error): AppError {
    const code = last instanceof AppError ? last.code : 'provider_error';
    return new AppError(
      code,
      `${this.name(entry.target)} asked to wait ${formatDuration(delayMs)} before a retry, longer than the ${formatDuration(this.providerDelayCapMs())} ` +
        `this server waits; gave up after ${attempts} attempt(s). Last error: ${this.redact(errorMessage(last)).slice(0, 300)}`,
      { retryable: true, cause: last, details: { ...entry.target, attempts, retryAfterMs: delayMs } },
    );
  }

  private deadlineError(entry: Entry, attempts: number, delayMs: number, deadline: number, last: Error | undefined): AppError {
    const lastText = last ? ` Last error: ${this.redact(errorMessage(last)).slice(0, 300)}` : '';
    const why =
      attempts === 0
        ? `the call's deadline ${this.iso(deadline)} has already passed`
        : delayMs > 0
          ? `waiting ${formatDuration(delayMs)} for the next retry would pass the call's deadline ${this.iso(deadline)}`
          : `the call's deadline ${this.iso(deadline)} has passed`;
    return new AppError('timeout', `Gave up on ${this.name(entry.target)} after ${attempts} attempt(s): ${why}.${lastText}`, {
      retryable: true,
      cause: last,
      details: { ...entry.target, attempts, deadline: this.iso(deadline), nextDelayMs: delayMs },
    });
  }

  private exhaustedError(entry: Entry, attempts: number, last: Error): AppError {
    const code = last instanceof AppError ? last.code : 'provider_error';
    const status = last instanceof ProviderError ? last.status : undefined;
    return new AppError(
      code,
      `${this.name(entry.target)} failed ${attempts} time(s) (1 attempt + ${attempts - 1} retries); last error: ` +
        `${this.redact(errorMessage(last)).slice(0, 300)}. Try again later or use another model.`,
      { retryable: true, cause: last, details: { ...entry.target, attempts, status } },
    );
  }
}
