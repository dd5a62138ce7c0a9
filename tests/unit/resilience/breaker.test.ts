import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { allOf, consecutiveFailures, failureRateOverWindow } from '../../../src/resilience/breakerRules.js';
import { CircuitBreaker, type BreakerTransition } from '../../../src/resilience/circuitBreaker.js';

describe('breaker rules', () => {
  it('consecutiveFailures(3) opens on the third failure in a row; a success ends the run', () => {
    const rule = consecutiveFailures(3);
    expect([rule.failure(0), rule.failure(0)]).toEqual([false, false]);
    rule.success(0);
    expect([rule.failure(0), rule.failure(0), rule.failure(0)]).toEqual([false, false, true]);
    expect(rule.state.consecutive).toBe(3);
    rule.reset();
    expect(rule.state.consecutive).toBe(0);
  });

  it('failureRateOverWindow counts only the window (by time and by count)', () => {
    const rule = failureRateOverWindow({ minRate: 0.8, windowMs: 60_000, maxSamples: 5 });
    for (let i = 0; i < 4; i++) rule.success(0);
    expect(rule.failure(0)).toBe(false); // 1 of 5
    // A minute later the old successes no longer count: 1 of 1.
    expect(rule.failure(61_000)).toBe(true);
    // Only the last 5 count: 4 successes push the failures out.
    for (let i = 0; i < 4; i++) rule.success(61_000);
    expect(rule.failure(61_000)).toBe(false);
  });

  it('allOf opens only when every rule says so, and every rule records every failure', () => {
    const consecutive = consecutiveFailures(2);
    const rate = failureRateOverWindow({ minRate: 0.5, windowMs: 1_000, maxSamples: 10 });
    const rule = allOf(consecutive, rate);
    rule.success(0);
    rule.success(0);
    rule.success(0);
    expect(rule.failure(0)).toBe(false); // 1 in a row, 25%
    expect(rule.failure(0)).toBe(false); // 2 in a row, 40%
    expect(consecutive.state.consecutive).toBe(2);
    expect(rule.failure(0)).toBe(true); // 3 in a row, 50%
  });
});

function breaker(threshold = 2, resetTimeoutMs = 1_000) {
  const clock = new ManualClock(0);
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker({ clock, rule: consecutiveFailures(threshold), resetTimeoutMs, onTransition: (t) => transitions.push(t) });
  const why = { opensWith: (n: number) => `${n} in a row`, lastError: 'HTTP 503' };
  return { clock, b, transitions, why };
}

describe('CircuitBreaker', () => {
  it('opens on its rule, turns half-open on the injected clock, and admits exactly one probe', () => {
    const { clock, b, transitions, why } = breaker();
    b.failure(b.admit()!, why);
    b.failure(b.admit()!, why);
    expect(b.state).toBe('open');
    expect(b.admit()).toBeNull();
    expect(b.retryAt).toBe(1_000);
    expect(b.reason).toBe('2 in a row');
    clock.advance(999);
    expect(b.isAvailable()).toBe(false);
    clock.advance(1);
    expect(b.state).toBe('half_open');
    const probe = b.admit()!;
    expect(probe.probe).toBe(true);
    expect(b.admit()).toBeNull();
    expect(b.isAvailable()).toBe(false);
    b.success(probe);
    expect(b.state).toBe('closed');
    expect(transitions.map((t) => t.state)).toEqual(['open', 'half_open', 'closed']);
  });

  it('a failed probe reopens for another period; a cancelled probe leaves it half-open', () => {
    const { clock, b, why } = breaker();
    b.failure(b.admit()!, why);
    b.failure(b.admit()!, why);
    clock.advance(1_000);
    b.neutral(b.admit()!, true);
    expect(b.state).toBe('half_open');
    expect(b.isAvailable()).toBe(true);
    b.failure(b.admit()!, why);
    expect(b.state).toBe('open');
    expect(b.retryAt).toBe(2_000);
    expect(b.reason).toBe('the test call failed (HTTP 503)');
  });

  it('an outcome from an earlier period moves nothing', () => {
    const { clock, b, why } = breaker();
    const early = b.admit()!;
    b.failure(b.admit()!, why);
    b.failure(b.admit()!, why);
    clock.advance(1_000);
    const probe = b.admit()!;
    b.success(early); // started while closed, answered now: not the probe
    expect(b.state).toBe('half_open');
    b.success(probe);
    expect(b.state).toBe('closed');
  });

  it('holdUntil opens to a named instant, extends a shorter wait and never shortens a longer one', () => {
    const { b, why } = breaker(100);
    b.failure(b.admit()!, { ...why, holdUntil: { until: 50_000, reason: 'daily quota Q exhausted' } });
    expect(b.state).toBe('open');
    expect(b.retryAt).toBe(50_000);
    b.openUntil(10_000, 'shorter');
    expect(b.retryAt).toBe(50_000);
    expect(b.reason).toBe('daily quota Q exhausted');
    b.openUntil(90_000, 'longer');
    expect(b.retryAt).toBe(90_000);
  });
});
