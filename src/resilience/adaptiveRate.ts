import type { Clock } from '../clock.js';

/** How many recent attempt starts are remembered to measure the rate at a cut. */
const REMEMBERED_STARTS = 1_024;
/** Above this the rate limit is lifted again. */
export const UNLIMITED_ABOVE_PER_SECOND = 1_000;

/**
 * A model's learned requests-per-second limit, AIMD like its concurrency: none until a
 * rate-limit answer; then half the rate at which attempts were started over the provider's window
 * (the delay its answer named); then, on success, one more request per window for every window
 * passed since the last change. Concurrency alone cannot hold a requests-per-second limit when answers are fast (two
 * slots of 100 ms answers are 20 requests/s), so the gate also spaces starts by this rate.
 */
export class AdaptiveRate {
  private readonly starts: number[] = [];
  private perSecondValue: number | null = null;
  private changedAt = 0;
  private windowMs = 1_000;

  constructor(private readonly clock: Clock) {}

  /** Requests per second, null while unlimited. */
  get perSecond(): number | null {
    return this.perSecondValue;
  }

  /** Milliseconds between attempt starts, 0 while unlimited. */
  get intervalMs(): number {
    return this.perSecondValue === null ? 0 : 1_000 / this.perSecondValue;
  }

  started(): void {
    this.starts.push(this.clock.now());
    if (this.starts.length > REMEMBERED_STARTS) this.starts.shift();
  }

  /** A rate-limit answer that cut the concurrency (once per round): halve the rate. */
  cut(windowMs: number): void {
    const now = this.clock.now();
    this.windowMs = Math.max(1, windowMs);
    const since = now - this.windowMs;
    const startedInWindow = this.starts.filter((t) => t >= since).length;
    const measured = (startedInWindow * 1_000) / this.windowMs;
    const base = Math.min(this.perSecondValue ?? Number.POSITIVE_INFINITY, measured);
    this.perSecondValue = Math.max(1_000 / this.windowMs, base / 2);
    this.changedAt = now;
  }

  /** One more request per window for each window passed since the last change (a quiet hour lifts it). */
  succeeded(): void {
    if (this.perSecondValue === null) return;
    const now = this.clock.now();
    const windows = Math.floor((now - this.changedAt) / this.windowMs);
    if (windows < 1) return;
    this.perSecondValue += (windows * 1_000) / this.windowMs;
    this.changedAt = now;
    if (this.perSecondValue > UNLIMITED_ABOVE_PER_SECOND) this.perSecondValue = null;
  }
}
