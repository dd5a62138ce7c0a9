/**
 * Calendar days and months in one IANA time zone, computed with Intl.DateTimeFormat only.
 * Budgets reset at local midnight / the first of the month in `config.budget.timeZone`.
 */

export interface LocalDate {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
}

export interface PeriodRange {
  /** UTC ms, inclusive. */
  startMs: number;
  /** UTC ms, exclusive. */
  endMs: number;
  /** "2026-11-27" for a day, "2026-11" for a month. */
  label: string;
}

/** A stretch of time with one UTC offset (offsets change at DST transitions). */
export interface OffsetSegment {
  fromMs: number;
  offsetMs: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export class ZonedCalendar {
  private readonly fmt: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      // Years are numbered by era: ISO year 0000 is "1 BC", -0001 is "2 BC". Without the era a
      // date in year 0 reads as year 1, and every offset and day computed from it is a year off.
      era: 'short',
    });
  }

  /** Local wall time at an instant, with ISO (astronomical) years: 0 for 1 BC, -1 for 2 BC. */
  private parts(ms: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
    const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    let beforeChrist = false;
    for (const p of this.fmt.formatToParts(ms)) {
      if (p.type === 'era') beforeChrist = p.value === 'BC';
      else if (p.type in out) out[p.type as keyof typeof out] = Number(p.value);
    }
    if (beforeChrist) out.year = 1 - out.year;
    return out;
  }

  /** Local wall time minus UTC at an instant, in ms (e.g. +3_600_000 for Berlin in winter). */
  offsetMs(ms: number): number {
    const p = this.parts(ms);
    const wall = utcMs(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return wall - Math.floor(ms / 1000) * 1000;
  }

  localDate(ms: number): LocalDate {
    const p = this.parts(ms);
    return { year: p.year, month: p.month, day: p.day };
  }

  /** "2026-11-27 00:00" style wall-clock text, for messages. */
  formatLocal(ms: number): string {
    const p = this.parts(ms);
    return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`;
  }

  /**
   * The first instant of a local date. Where DST skips midnight, the day starts at the first
   * instant whose local date is that day.
   */
  startOfDay(d: LocalDate): number {
    const wall = utcMs(d.year, d.month - 1, d.day);
    let guess = wall - this.offsetMs(wall);
    guess = wall - this.offsetMs(guess);
    const check = this.parts(guess);
    if (check.year === d.year && check.month === d.month && check.day === d.day && check.hour === 0 && check.minute === 0) {
      return guess;
    }
    // Midnight does not exist (or is ambiguous): binary-search the first minute of that date.
    const key = d.year * 10_000 + d.month * 100 + d.day;
    let lo = wall - 30 * 3_600_000;
    let hi = wall + 30 * 3_600_000;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      const p = this.localDate(mid);
      if (p.year * 10_000 + p.month * 100 + p.day >= key) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  dayRange(ms: number): PeriodRange {
    const d = this.localDate(ms);
    const next = new Date(utcMs(d.year, d.month - 1, d.day + 1));
    return {
      startMs: this.startOfDay(d),
      endMs: this.startOfDay({ year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() }),
      label: `${d.year}-${pad(d.month)}-${pad(d.day)}`,
    };
  }

  monthRange(ms: number): PeriodRange {
    const d = this.localDate(ms);
    const nextYear = d.month === 12 ? d.year + 1 : d.year;
    const nextMonth = d.month === 12 ? 1 : d.month + 1;
    return {
      startMs: this.startOfDay({ year: d.year, month: d.month, day: 1 }),
      endMs: this.startOfDay({ year: nextYear, month: nextMonth, day: 1 }),
      label: `${d.year}-${pad(d.month)}`,
    };
  }

  /** Parses "YYYY-MM-DD" as a local date in this zone. */
  static parseDate(text: string): LocalDate | undefined {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) return undefined;
    const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
    const check = new Date(utcMs(d.year, d.month - 1, d.day));
    if (check.getUTCFullYear() !== d.year || check.getUTCMonth() + 1 !== d.month || check.getUTCDate() !== d.day) return undefined;
    return d;
  }

  /**
   * The offsets in force over [fromMs, toMs): one segment per DST period. Sampled weekly (zones
   * change offset at most a few times a year) and refined to the millisecond by binary search.
   */
  offsetSegments(fromMs: number, toMs: number): OffsetSegment[] {
    const step = 7 * 86_400_000;
    const segments: OffsetSegment[] = [{ fromMs, offsetMs: this.offsetMs(fromMs) }];
    let prevMs = fromMs;
    let prevOffset = segments[0]!.offsetMs;
    for (let t = fromMs + step; ; t += step) {
      const at = Math.min(t, toMs);
      const off = this.offsetMs(at);
      if (off !== prevOffset) {
        let lo = prevMs;
        let hi = at;
        while (hi - lo > 1) {
          const mid = lo + Math.floor((hi - lo) / 2);
          if (this.offsetMs(mid) === prevOffset) lo = mid;
          else hi = mid;
        }
        segments.push({ fromMs: hi, offsetMs: off });
        prevOffset = off;
      }
      prevMs = at;
      if (at >= toMs) break;
    }
    return segments;
  }

  /** Days since 1970-01-01 of a local day label, and back. */
  static dayNumberToLabel(dayNumber: number): string {
    const d = new Date(dayNumber * 86_400_000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  }
}

/** Date.UTC without its quirk of reading years 0-99 as 1900-1999. */
function utcMs(year: number, monthIndex: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}
