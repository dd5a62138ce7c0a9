import { describe, expect, it } from 'vitest';
import { dueSpan, dueState, formatDue, parseDuration } from '../../../src/time/due.js';
import { resolveTimeZone, windowsToIana } from '../../../src/time/zones.js';
import { ZonedCalendar } from '../../../src/zonedCalendar.js';

describe('time zones', () => {
  it('resolves IANA, Windows and UTC spellings to one IANA name; unknown names to undefined', () => {
    expect(resolveTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(resolveTimeZone('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(resolveTimeZone('"Pacific Standard Time"')).toBe('America/Los_Angeles');
    expect(resolveTimeZone('tokyo standard time')).toBe('Asia/Tokyo');
    expect(resolveTimeZone('Z')).toBe('UTC');
    expect(resolveTimeZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(windowsToIana('Romance Standard Time')).toBe('Europe/Paris');
  });
});

describe('due dates in the user zone', () => {
  const berlin = new ZonedCalendar('Europe/Berlin');
  // 2026-11-25 23:30 in Berlin (UTC+1) is 22:30 UTC: still the 25th there, already late on the 25th in UTC.
  const now = Date.UTC(2026, 10, 25, 22, 30);

  it('shows a date-time in the zone and leaves a date alone', () => {
    expect(formatDue('2026-12-01T16:00:00.000Z', berlin)).toBe('2026-12-01 17:00 Europe/Berlin');
    expect(formatDue('2026-12-24', berlin)).toBe('2026-12-24');
  });

  it('a date is due today all that local day and overdue only after it ends', () => {
    expect(dueState('2026-11-25', now, berlin)).toBe('due today');
    expect(dueState('2026-11-25', Date.UTC(2026, 10, 25, 23, 0), berlin)).toBe('overdue');
    expect(dueState('2026-11-25', Date.UTC(2026, 10, 25, 23, 0), new ZonedCalendar('America/New_York'))).toBe('due today');
    expect(dueState('2026-11-26', now, berlin)).toBeUndefined();
    expect(dueSpan('2026-11-26', berlin)).toEqual({ startMs: Date.UTC(2026, 10, 25, 23), endMs: Date.UTC(2026, 10, 26, 23) });
  });

  it('a date-time is overdue once past, due today until local midnight', () => {
    expect(dueState('2026-11-25T22:00:00Z', now, berlin)).toBe('overdue');
    expect(dueState('2026-11-25T22:45:00Z', now, berlin)).toBe('due today');
    expect(dueState('2026-11-25T23:15:00Z', now, berlin)).toBeUndefined();
  });

  it('parses "24h", "7d", "2w", ISO durations; refuses months, zero and junk', () => {
    expect(['24h', '7d', '2w', '90m', 'P7D', 'PT36H', 'P1DT12H', 'P1W'].map(parseDuration)).toEqual([
      86_400_000, 604_800_000, 1_209_600_000, 5_400_000, 604_800_000, 129_600_000, 129_600_000, 604_800_000,
    ]);
    expect(['P1M', 'P1Y', '0d', 'PT', 'P', 'soon', ''].map(parseDuration)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
  });
});
