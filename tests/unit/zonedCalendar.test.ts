import { describe, expect, it } from 'vitest';
import { ZonedCalendar } from '../../src/zonedCalendar.js';

describe('ZonedCalendar', () => {
  it.each(['Europe/Berlin', 'America/Santiago', 'America/Havana', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'UTC'])(
    'every day of 2026 in %s starts at the first instant of its local date',
    (zone) => {
      const cal = new ZonedCalendar(zone);
      let ms = Date.UTC(2026, 0, 1, 12);
      for (let i = 0; i < 365; i++, ms += 86_400_000) {
        const d = cal.localDate(ms);
        const start = cal.startOfDay(d);
        expect(cal.localDate(start)).toEqual(d);
        expect(cal.localDate(start - 1000)).not.toEqual(d);
        const r = cal.dayRange(ms);
        expect(r.startMs).toBeLessThanOrEqual(ms);
        expect(r.endMs).toBeGreaterThan(ms);
      }
    },
  );

  it('knows DST days are 23 and 25 hours long and months start on the 1st at local midnight', () => {
    const cal = new ZonedCalendar('Europe/Berlin');
    const spring = cal.dayRange(Date.UTC(2026, 2, 29, 12));
    expect((spring.endMs - spring.startMs) / 3_600_000).toBe(23);
    const autumn = cal.dayRange(Date.UTC(2026, 9, 25, 12));
    expect((autumn.endMs - autumn.startMs) / 3_600_000).toBe(25);
    expect(cal.monthRange(Date.UTC(2026, 11, 31, 23, 30))).toEqual({
      startMs: Date.UTC(2026, 11, 31, 23), // 2027-01-01 00:00 Berlin
      endMs: Date.UTC(2027, 0, 31, 23),
      label: '2027-01',
    });
    expect(cal.formatLocal(Date.UTC(2026, 10, 27, 23))).toBe('2026-11-28 00:00');
  });

  it('finds the offset changes over a range', () => {
    const cal = new ZonedCalendar('Europe/Berlin');
    expect(cal.offsetSegments(Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1))).toEqual([
      { fromMs: Date.UTC(2026, 0, 1), offsetMs: 3_600_000 },
      { fromMs: Date.UTC(2026, 2, 29, 1), offsetMs: 7_200_000 },
      { fromMs: Date.UTC(2026, 9, 25, 1), offsetMs: 3_600_000 },
    ]);
  });

  it.each(['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/New_York'])('knows the days of year 0000 and the year before it in %s', (zone) => {
    // Intl numbers those years by era (0000 is "1 BC"); the calendar must not read them as 0001, 0002…
    const cal = new ZonedCalendar(zone);
    const newYear = { year: 0, month: 1, day: 1 };
    const start = cal.startOfDay(newYear);
    expect(cal.localDate(start)).toEqual(newYear);
    expect(cal.localDate(start - 1000)).toEqual({ year: -1, month: 12, day: 31 });
    const day = cal.dayRange(start);
    expect(day.startMs).toBe(start);
    expect(day.endMs - day.startMs).toBe(86_400_000);
    expect(cal.localDate(day.endMs)).toEqual({ year: 0, month: 1, day: 2 });
    // Year 0 is a leap year in the proleptic Gregorian calendar.
    expect(cal.monthRange(cal.startOfDay({ year: 0, month: 2, day: 10 })).endMs).toBe(cal.startOfDay({ year: 0, month: 3, day: 1 }));
    expect(cal.localDate(cal.startOfDay({ year: 0, month: 3, day: 1 }) - 1000)).toEqual({ year: 0, month: 2, day: 29 });
  });

  it('puts year 0000 where ISO 8601 does', () => {
    const utc = new ZonedCalendar('UTC');
    const start = utc.startOfDay({ year: 0, month: 1, day: 1 });
    expect(new Date(start).toISOString()).toBe('0000-01-01T00:00:00.000Z');
    expect(utc.offsetMs(start)).toBe(0);
    // Berlin kept local mean time, +0:53:28, until 1893.
    expect(new Date(new ZonedCalendar('Europe/Berlin').startOfDay({ year: 0, month: 1, day: 1 })).toISOString()).toBe('-000001-12-31T23:06:32.000Z');
  });

  it('parses only real calendar dates', () => {
    expect(ZonedCalendar.parseDate('2026-02-28')).toEqual({ year: 2026, month: 2, day: 28 });
    expect(ZonedCalendar.parseDate('2026-02-30')).toBeUndefined();
    // Date.UTC reads years 0-99 as 1900-1999; these are real ISO dates all the same.
    expect(ZonedCalendar.parseDate('0050-01-01')).toEqual({ year: 50, month: 1, day: 1 });
    expect(new Date(new ZonedCalendar('UTC').startOfDay({ year: 50, month: 1, day: 1 })).toISOString()).toBe('0050-01-01T00:00:00.000Z');
    expect(ZonedCalendar.parseDate('0000-02-29')).toEqual({ year: 0, month: 2, day: 29 });
    expect(ZonedCalendar.parseDate('2026-2-3')).toBeUndefined();
  });
});
