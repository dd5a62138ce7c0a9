import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { AdaptiveConcurrency } from './adaptiveConcurrency.js';
import { AdaptiveRate } from './adaptiveRate.js';
import { allOf, consecutiveFailures, failureRateOverWindow } from './breakerRules.js';
import { CircuitBreaker, type BreakerTransition } from './circuitBreaker.js';
import type { CallTarget } from './messages.js';
import { RateLimitGate, type Sleep } from './rateLimitGate.js';
import { iso, type BreakerSnapshot } from './status.js';

/** How many recent attempts, and how far back, the failure-rate condition looks at. */
export const RATE_WINDOW_ATTEMPTS = 20;
export const RATE_WINDOW_MS = 60_000;

/** Everything kept per (provider, model). */
export interface Lane {
  target: CallTarget;
  breaker: CircuitBreaker;
  /** Back-pressure: the provider's "not before" time, and how many attempts may be in flight. */
  gate: RateLimitGate;
  concurrency: AdaptiveConcurrency;
  /** The learned requests-per-second the gate spaces starts by. */
  rate: AdaptiveRate;
  retried: number;
  gaveUp: number;
  lastError: { code: string; message: string; at: number } | null;
  quota: { id: string; resetAt: number } | null;
  rateLimitHits: number;
  waits: number;
  totalWaitMs: number;
}

export interface LaneDeps {
  clock: Clock;
  sleep: Sleep;
  breaker: Config['breaker'];
  onTransition: (lane: Lane, t: BreakerTransition) => void;
}

/** A fresh lane: breaker closed, gate open, no limits learned. */
export function createLane(target: CallTarget, deps: LaneDeps): Lane {
  const { breaker: cfg, clock } = deps;
  const lane: Lane = {
    target: { provider: target.provider, model: target.model },
    breaker: new CircuitBreaker({
      clock,
      resetTimeoutMs: cfg.resetTimeoutMs,
      // With many calls in flight, a flaky provider (say 30% 503s) produces runs of failures
      // in completion order; an outage fails nearly everything. Open only on the latter.
      rule: allOf(
        consecutiveFailures(cfg.failureThreshold),
        failureRateOverWindow({ minRate: cfg.minFailureRate, windowMs: RATE_WINDOW_MS, maxSamples: RATE_WINDOW_ATTEMPTS }),
      ),
      onTransition: (t) => deps.onTransition(lane, t),
    }),
    gate: new RateLimitGate(clock, deps.sleep),
    concurrency: new AdaptiveConcurrency(clock),
    rate: new AdaptiveRate(clock),
    retried: 0,
    gaveUp: 0,
    lastError: null,
    quota: null,
    rateLimitHits: 0,
    waits: 0,
    totalWaitMs: 0,
  };
  return lane;
}

/** What healing_status shows for one lane. */
export function laneSnapshot(lane: Lane): BreakerSnapshot {
  const { breaker } = lane;
  const state = breaker.state;
  const gateUntil = lane.gate.closedUntil();
  return {
    ...lane.target,
    state,
    available: breaker.isAvailable(),
    consecutiveFailures: breaker.consecutiveFailures,
    totalFailures: breaker.totalFailures,
    totalSuccesses: breaker.totalSuccesses,
    retried: lane.retried,
    gaveUp: lane.gaveUp,
    lastError: lane.lastError ? { ...lane.lastError, at: iso(lane.lastError.at) } : null,
    openedAt: breaker.openedAt === null ? null : iso(breaker.openedAt),
    halfOpenAt: breaker.retryAt === null ? null : iso(breaker.retryAt),
    reason: breaker.reason,
    quota: lane.quota && state !== 'closed' ? { id: lane.quota.id, resetsAt: iso(lane.quota.resetAt) } : null,
    concurrencyLimit: lane.concurrency.limit,
    inFlight: lane.concurrency.inFlight,
    rateLimit: {
      requestsPerSecond: lane.rate.perSecond === null ? null : Math.round(lane.rate.perSecond * 100) / 100,
      hits: lane.rateLimitHits,
      waits: lane.waits,
      totalWaitMs: lane.totalWaitMs,
      gateUntil: gateUntil === null ? null : iso(gateUntil),
    },
  };
}
