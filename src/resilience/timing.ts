/**
 * Pure timing helpers for the self-healing layer: the retry backoff, the next daily-quota reset,
 * and a short human duration for error messages. No clocks or timers here: callers pass `now`.
 */

import { ZonedCalendar } from '../zonedCalendar.js';

export interface BackoffConfig {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Wait before retry number `retry` (1 = first retry): exponential ceiling
 * `min(maxDelayMs, baseDelayMs * 2^(retry-1))` with "equal jitter", i.e. a uniform draw from
 * [ceiling/2, ceiling]. Jitter survives at the cap (clients that all hit the cap do not
 * synchronise), the wait never exceeds the cap, and it is never ~0 against an overloaded server.
 */
export function backoffDelay(retry: number, cfg: BackoffConfig, random: () => number = Math.random): number {
  const exponent = Math.max(0, retry - 1);
  const ceiling = Math.min(cfg.maxDelayMs, cfg.baseDelayMs * 2 ** exponent);
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

/** Gemini's per-day quotas reset at midnight in this zone. */
export const QUOTA_RESET_TIME_ZONE = 'America/Los_Angeles';

/** The first instant after `now` at which the wall clock in `timeZone` shows 00:00:00 (DST-safe). */
export function nextMidnightIn(timeZone: string, now: number): number {
  return new ZonedCalendar(timeZone).dayRange(now).endMs;
}

/** When a Gemini per-day quota exhausted at `now` becomes available again. */
export function nextDailyQuotaReset(now: number): number {
  return nextMidnightIn(QUOTA_RESET_TIME_ZONE, now);
}

/** "45 s", "12 min 5 s", "7 h 3 min": for messages a calling model reads. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.ceil(ms / 1000));
  if (totalSeconds < 60) return `${totalSeconds} s`;
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) {
    const s = totalSeconds % 60;
    return s === 0 ? `${minutes} min` : `${minutes} min ${s} s`;
  }
  const hours = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${hours} h` : `${hours} h ${m} min`;
}
