import { describe, expect, it } from 'vitest';
import { backoffDelay, formatDuration, nextDailyQuotaReset, nextMidnightIn } from '../../../src/resilience/timing.js';

const cfg = { baseDelayMs: 2_000, maxDelayMs: 60_000 };

describe('backoffDelay (exponential, equal jitter, capped)', () => {
  it.each([
    // retry, expected ceiling = min(60 s, 2 s * 2^(retry-1))
    [1, 2_000],
    [2, 4_000],
    [3, 8_000],
    [4, 16_000],
    [5, 32_000],
    [6, 60_000],
    [10, 60_000],
  ])('retry %i stays within [ceiling/2, ceiling] with ceiling %i ms', (retry, ceiling) => {
    expect(backoffDelay(retry, cfg, () => 0)).toBe(ceiling / 2);
    expect(backoffDelay(retry, cfg, () => 0.5)).toBe(Math.round(ceiling * 0.75));
    expect(backoffDelay(retry, cfg, () => 0.999_999)).toBe(Math.round(ceiling / 2 + (0.999_999 * ceiling) / 2));
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(retry, cfg);
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
      expect(d).toBeLessThanOrEqual(cfg.maxDelayMs);
    }
  });

  it('grows exponentially until the cap, and real jitter spreads the waits', () => {
    const mids = [1, 2, 3, 4, 5].map((r) => backoffDelay(r, cfg, () => 0.5));
    for (let i = 1; i < mids.length; i++) expect(mids[i]! / mids[i - 1]!).toBe(2);
    const samples = new Set(Array.from({ length: 20 }, () => backoffDelay(6, cfg)));
    expect(samples.size).toBeGreaterThan(1); // jitter survives at the cap
  });

  it('a zero base means no wait', () => {
    expect(backoffDelay(3, { baseDelayMs: 0, maxDelayMs: 0 }, () => 0.7)).toBe(0);
  });
});

describe('nextMidnightIn / nextDailyQuotaReset (America/Los_Angeles)', () => {
  it.each([
    ['winter (PST, UTC-8)', '2026-01-15T12:00:00.000Z', '2026-01-16T08:00:00.000Z'],
    ['one second before midnight', '2026-01-16T07:59:59.000Z', '2026-01-16T08:00:00.000Z'],
    ['exactly at midnight: the next one', '2026-01-16T08:00:00.000Z', '2026-01-17T08:00:00.000Z'],
    ['summer (PDT, UTC-7)', '2026-07-01T18:30:00.000Z', '2026-07-02T07:00:00.000Z'],
    ['DST starts that day (8 Mar 2026)', '2026-03-08T12:00:00.000Z', '2026-03-09T07:00:00.000Z'],
    ['evening before DST starts', '2026-03-08T05:00:00.000Z', '2026-03-08T08:00:00.000Z'],
    ['DST ends that day (1 Nov 2026)', '2026-11-01T12:00:00.000Z', '2026-11-02T08:00:00.000Z'],
    ['evening before DST ends', '2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z'],
  ])('%s: %s -> %s', (_label, now, expected) => {
    expect(new Date(nextDailyQuotaReset(Date.parse(now))).toISOString()).toBe(expected);
  });

  it('works for other zones too', () => {
    expect(new Date(nextMidnightIn('UTC', Date.parse('2026-01-15T12:00:00Z'))).toISOString()).toBe('2026-01-16T00:00:00.000Z');
    expect(new Date(nextMidnightIn('Asia/Kolkata', Date.parse('2026-01-15T12:00:00Z'))).toISOString()).toBe('2026-01-15T18:30:00.000Z');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [999, '1 s'],
    [30_000, '30 s'],
    [60_000, '1 min'],
    [725_000, '12 min 5 s'],
    [3_600_000, '1 h'],
    [20 * 3_600_000 + 180_000, '20 h 3 min'],
  ])('%i ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
