import type { Clock } from '../clock.js';
import type { BreakerRule } from './breakerRules.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Leave to make one attempt; a probe is the one test call of a half-open breaker. */
export interface Admission {
  probe: boolean;
  /** The breaker period it was granted in; an outcome from an older period moves nothing. */
  period: number;
}

export interface BreakerTransition {
  state: BreakerState;
  at: number;
  /** OPEN: when it lets a test call through. */
  retryAt: number | null;
  /** OPEN: why it opened; CLOSED: why it closed. */
  reason: string;
}

export interface CircuitBreakerOptions {
  clock: Clock;
  /** When a counted failure opens the breaker (see breakerRules.ts). */
  rule: BreakerRule;
  resetTimeoutMs: number;
  /** Every state change, once. */
  onTransition: (t: BreakerTransition) => void;
}

/**
 * One (provider, model)'s breaker: CLOSED lets calls through and feeds outcomes to its rule;
 * OPEN rejects until `retryAt`, on the injected clock (checked on every read, no timer); then
 * HALF_OPEN admits exactly one probe: its success closes, its failure reopens for another reset
 * period, and a cancelled probe proves nothing (the next call probes). `openUntil` holds it open
 * to a named instant (a daily quota's reset).
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private period = 0;
  private probeInFlight = false;
  private openedAtMs: number | null = null;
  private retryAtMs: number | null = null;
  private why: string | null = null;
  consecutiveFailures = 0;
  totalFailures = 0;
  totalSuccesses = 0;

  constructor(private readonly opts: CircuitBreakerOptions) {}

  get state(): BreakerState {
    this.refresh();
    return this.current;
  }

  get openedAt(): number | null {
    return this.state === 'closed' ? null : this.openedAtMs;
  }

  get retryAt(): number | null {
    return this.state === 'closed' ? null : this.retryAtMs;
  }

  get reason(): string | null {
    return this.state === 'closed' ? null : this.why;
  }

  /** Whether a call would be admitted now (false while OPEN, or while a probe is in flight). */
  isAvailable(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half_open' && !this.probeInFlight);
  }

  /** Leave for one attempt, or null when the breaker rejects it. */
  admit(): Admission | null {
    const state = this.state;
    if (state === 'closed') return { probe: false, period: this.period };
    if (state === 'half_open' && !this.probeInFlight) {
      this.probeInFlight = true;
      return { probe: true, period: this.period };
    }
    return null;
  }

  success(admission: Admission): void {
    this.totalSuccesses++;
    this.consecutiveFailures = 0;
    this.opts.rule.success(this.opts.clock.now());
    if (this.isCurrentProbe(admission)) this.close('the test call succeeded');
  }

  /**
   * A failure that says the provider is unhealthy. `opensWith` gives the reason when the rule
   * trips; `holdUntil` opens it to a named instant whatever the rule says (a daily quota).
   */
  failure(
    admission: Admission,
    why: { opensWith: (consecutive: number) => string; lastError: string; holdUntil?: { until: number; reason: string } | undefined },
  ): void {
    const now = this.opts.clock.now();
    this.totalFailures++;
    this.consecutiveFailures++;
    const trips = this.opts.rule.failure(now);
    const probe = this.isCurrentProbe(admission);
    if (probe) this.probeInFlight = false;
    if (why.holdUntil) this.openUntil(why.holdUntil.until, why.holdUntil.reason);
    else if (probe) this.moveToOpen(now + this.opts.resetTimeoutMs, `the test call failed (${why.lastError})`);
    else if (this.current === 'closed' && trips) this.moveToOpen(now + this.opts.resetTimeoutMs, why.opensWith(this.consecutiveFailures));
  }

  /** An answer that says nothing about health (a client error) or a cancellation. */
  neutral(admission: Admission, cancelled: boolean): void {
    if (!this.isCurrentProbe(admission)) return;
    this.probeInFlight = false;
    if (cancelled) return; // still half-open: the next call is the probe
    this.close('the provider answered the test call');
  }

  /** Gives back a probe that never ran. */
  abandon(admission: Admission): void {
    if (this.isCurrentProbe(admission)) this.probeInFlight = false;
  }

  /** Opens (or keeps open, extending a shorter wait) until `until`, whatever the rule says. */
  openUntil(until: number, reason: string): void {
    this.refresh();
    if (this.current === 'open' && (this.retryAtMs ?? 0) >= until) return;
    this.probeInFlight = false;
    this.moveToOpen(until, reason);
  }

  private isCurrentProbe(admission: Admission): boolean {
    return admission.probe && admission.period === this.period && this.current === 'half_open';
  }

  private refresh(): void {
    if (this.current !== 'open' || this.retryAtMs === null || this.opts.clock.now() < this.retryAtMs) return;
    this.current = 'half_open';
    this.period++;
    this.probeInFlight = false;
    this.opts.onTransition({ state: 'half_open', at: this.opts.clock.now(), retryAt: this.retryAtMs, reason: this.why ?? '' });
  }

  private moveToOpen(retryAt: number, reason: string): void {
    const now = this.opts.clock.now();
    if (this.current !== 'open') this.openedAtMs = now;
    this.current = 'open';
    this.period++;
    this.retryAtMs = retryAt;
    this.why = reason;
    this.opts.onTransition({ state: 'open', at: now, retryAt, reason });
  }

  private close(reason: string): void {
    this.current = 'closed';
    this.period++;
    this.probeInFlight = false;
    this.openedAtMs = null;
    this.retryAtMs = null;
    this.why = null;
    this.consecutiveFailures = 0;
    this.opts.rule.reset();
    this.opts.onTransition({ state: 'closed', at: this.opts.clock.now(), retryAt: null, reason });
  }
}
