/**
 * Pure timing helpers for the self-healing layer: the retry backoff, the next daily-quota reset,
 * and a short human duration for error messages. No clocks or timers here: callers pass `now`.
 */

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

/** Offset of `timeZone` from UTC at instant `ms` (wall time minus UTC), in ms. */
function zoneOffsetMs(timeZone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wallAsUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wallAsUtc - Math.floor(ms / 1000) * 1000;
}

/** The first instant after `now` at which the wall clock in `timeZone` shows 00:00:00 (DST-safe). */
export function nextMidnightIn(timeZone: string, now: number): number {
  const offsetNow = zoneOffsetMs(timeZone, now);
  const wall = new Date(now + offsetNow);
  const nextWallMidnight = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() + 1);
  // The offset at midnight may differ from now (DST change during the day): refine twice.
  let guess = nextWallMidnight - offsetNow;
  for (let i = 0; i < 2; i++) guess = nextWallMidnight - zoneOffsetMs(timeZone, guess);
  return guess;
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
