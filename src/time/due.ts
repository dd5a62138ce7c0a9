import { ZonedCalendar } from '../zonedCalendar.js';
import { isIsoDate } from './isoBounds.js';

/**
 * Due dates are stored in UTC (a date-time) or as a plain date (an all-day item); they are shown,
 * and judged overdue or due today, in the user's zone (TASK_ORCHESTRATOR_TIMEZONE).
 */

export function isDateOnly(due: string): boolean {
  return isIsoDate(due);
}

/** The instants a due value covers in a zone: a whole local day for a date, one instant otherwise. */
export function dueSpan(due: string, calendar: ZonedCalendar): { startMs: number; endMs: number } {
  if (isDateOnly(due)) {
    const day = ZonedCalendar.parseDate(due);
    if (!day) throw new RangeError(`not a date: ${due}`);
    const startMs = calendar.startOfDay(day);
    return { startMs, endMs: calendar.dayRange(startMs).endMs };
  }
  const ms = Date.parse(due);
  if (Number.isNaN(ms)) throw new RangeError(`not a date: ${due}`);
  return { startMs: ms, endMs: ms };
}

export type DueState = 'overdue' | 'due today';

/**
 * Overdue once the moment (or the whole day, for a date) has passed; due today when it falls in
 * the current local day. Undefined otherwise.
 */
export function dueState(due: string, nowMs: number, calendar: ZonedCalendar): DueState | undefined {
  const span = dueSpan(due, calendar);
  if (isDateOnly(due) ? span.endMs <= nowMs : span.startMs < nowMs) return 'overdue';
  const today = calendar.dayRange(nowMs);
  return span.startMs < today.endMs && span.endMs >= today.startMs ? 'due today' : undefined;
}

/** "2026-12-24" stays a date; a date-time reads "2026-12-01 17:00 Europe/Berlin". */
export function formatDue(due: string, calendar: ZonedCalendar): string {
  if (isDateOnly(due)) return due;
  const ms = Date.parse(due);
  return Number.isNaN(ms) ? due : `${calendar.formatLocal(ms)} ${calendar.timeZone}`;
}

const SHORT = /^(\d{1,6})\s*(m|h|d|w)$/i;
const ISO = /^P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?$/i;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/**
 * "24h", "7d", "90m", "2w" or an ISO 8601 duration in weeks, days, hours, minutes, seconds
 * ("P7D", "PT36H", "P1DT12H"). Years and months are refused: their length depends on the date.
 * Undefined when the text is none of these or is zero.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  const short = SHORT.exec(t);
  if (short) {
    const ms = Number(short[1]) * UNIT_MS[short[2]!.toLowerCase() as keyof typeof UNIT_MS];
    return ms > 0 ? ms : undefined;
  }
  const iso = ISO.exec(t);
  if (!iso || t.toUpperCase() === 'P' || t.toUpperCase().endsWith('T')) return undefined;
  const [w, d, h, m, s] = iso.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number];
  const ms = w * UNIT_MS.w + d * UNIT_MS.d + h * UNIT_MS.h + m * UNIT_MS.m + s * 1_000;
  return ms > 0 ? ms : undefined;
}

/** A local calendar date as "YYYY-MM-DD". */
export function dateLabel(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
