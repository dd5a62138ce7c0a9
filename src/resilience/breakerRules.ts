/**
 * When a circuit breaker trips, as small composable rules (the shape cockatiel uses): the breaker
 * reports each counted outcome to its rule, and `failure()` answers whether to open now. Rules see
 * only outcomes that speak about the provider's health: client errors, cancellations and
 * rate-limit answers never reach them.
 */
export interface BreakerRule<S = unknown> {
  /** What the rule has counted, for status views. */
  readonly state: S;
  success(now: number): void;
  /** Records a failure; true when the breaker should open. */
  failure(now: number): boolean;
  /** Forgets everything (the breaker closed after a test call). */
  reset(): void;
}

/** Opens on `threshold` failures in a row; a success ends the run. */
export function consecutiveFailures(threshold: number): BreakerRule<{ consecutive: number }> {
  const state = { consecutive: 0 };
  return {
    state,
    success() {
      state.consecutive = 0;
    },
    failure() {
      state.consecutive++;
      return state.consecutive >= threshold;
    },
    reset() {
      state.consecutive = 0;
    },
  };
}

export interface FailureRateOptions {
  /** Share of failures, in [0, 1], at or above which the rule says open. 0: always. */
  minRate: number;
  /** Only outcomes this recent count. */
  windowMs: number;
  /** At most this many of the latest outcomes count. */
  maxSamples: number;
}

/** Opens when at least `minRate` of the recent outcomes (by time and by count) failed. */
export function failureRateOverWindow(opts: FailureRateOptions): BreakerRule<{ samples: Array<{ at: number; failed: boolean }> }> {
  const state = { samples: [] as Array<{ at: number; failed: boolean }> };
  const record = (at: number, failed: boolean) => {
    state.samples.push({ at, failed });
    if (state.samples.length > opts.maxSamples) state.samples.shift();
  };
  return {
    state,
    success(now) {
      record(now, false);
    },
    failure(now) {
      record(now, true);
      const recent = state.samples.filter((s) => s.at >= now - opts.windowMs);
      const rate = recent.length === 0 ? 0 : recent.filter((s) => s.failed).length / recent.length;
      return rate >= opts.minRate;
    },
    reset() {
      state.samples.length = 0;
    },
  };
}

/** Opens only when every rule says open; every rule sees every outcome. */
export function allOf(...rules: BreakerRule[]): BreakerRule<unknown[]> {
  return {
    state: rules.map((r) => r.state),
    success(now) {
      for (const r of rules) r.success(now);
    },
    failure(now) {
      // No short-circuit: each rule must record the failure.
      return rules.map((r) => r.failure(now)).every(Boolean);
    },
    reset() {
      for (const r of rules) r.reset();
    },
  };
}
