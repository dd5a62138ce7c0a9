import { describe, expect, it } from 'vitest';
import { isIsoDateOrDateTime, isoDateTimeMs, parseIsoBound, UTC_CALENDAR, utcDayStartMs } from '../../../src/time/isoBounds.js';
import { ZonedCalendar } from '../../../src/zonedCalendar.js';

describe('ISO bounds', () => {
  const berlin = new ZonedCalendar('Europe/Berlin');

  it('reads a date as the start of that local day for from, and its end for to (inclusive)', () => {
    expect(parseIsoBound('2026-11-01', 'from', berlin)).toBe(Date.parse('2026-10-31T23:00:00Z'));
    expect(parseIsoBound('2026-11-01', 'to', berlin)).toBe(Date.parse('2026-11-01T23:00:00Z'));
    expect(parseIsoBound('2026-11-01', 'to', UTC_CALENDAR)).toBe(Date.parse('2026-11-02T00:00:00Z'));
  });

  it('keeps a local day across a DST change whole (25 hours on 2026-10-25 in Berlin)', () => {
    const from = parseIsoBound('2026-10-25', 'from', berlin)!;
    expect(parseIsoBound('2026-10-25', 'to', berlin)! - from).toBe(25 * 3_600_000);
  });

  it('reads a date-time with offset exactly, whatever the zone', () => {
    expect(parseIsoBound('2026-11-01T08:00:00+01:00', 'from', berlin)).toBe(Date.parse('2026-11-01T07:00:00Z'));
    expect(parseIsoBound('2026-11-01T08:00:00Z', 'to', berlin)).toBe(Date.parse('2026-11-01T08:00:00Z'));
  });

  it('refuses what is neither, including impossible dates', () => {
    expect(parseIsoBound('2026-02-30', 'from', berlin)).toBeUndefined();
    expect(parseIsoBound('yesterday', 'to', berlin)).toBeUndefined();
    expect(parseIsoBound('11/01/2026', 'to', berlin)).toBeUndefined();
    expect(isoDateTimeMs('2026-11-01')).toBeNaN();
    expect(utcDayStartMs('2026-11-01T00:00:00Z')).toBeNaN();
  });

  it('accepts in zod only real dates and date-times with an offset', () => {
    expect(isIsoDateOrDateTime('2026-11-01')).toBe(true);
    expect(isIsoDateOrDateTime('2026-11-01T08:00:00Z')).toBe(true);
    expect(isIsoDateOrDateTime('2026-11-01T08:00:00')).toBe(false);
    expect(isIsoDateOrDateTime('2026-02-30')).toBe(false);
  });
});
