import { z } from 'zod';
import { ZonedCalendar } from '../zonedCalendar.js';

/**
 * The one place ISO dates and date-times from users become instants. A date ("2026-11-01") is a
 * whole local day in a zone: as a `from` bound its start, as a `to` bound its end (so `to` is
 * inclusive); a date-time must carry its offset ("2026-11-01T08:00:00+01:00") and is exact.
 */

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T/;

export type BoundSide = 'from' | 'to';

/** UTC, for bounds documented as UTC days (trials, the export CLI). */
export const UTC_CALENDAR = new ZonedCalendar('UTC');

/** True for a plain calendar date, YYYY-MM-DD (shape only). */
export function isIsoDate(text: string): boolean {
  return DATE_ONLY.test(text);
}

/** Epoch ms of an ISO date-time ("2026-11-01T08:00:00Z"); NaN for anything else. */
export function isoDateTimeMs(text: string): number {
  return DATE_TIME.test(text) ? Date.parse(text) : Number.NaN;
}

/** Midnight UTC of a date, the order key of an all-day item; NaN when it is not a date. */
export function utcDayStartMs(text: string): number {
  return DATE_ONLY.test(text) ? Date.parse(`${text}T00:00:00Z`) : Number.NaN;
}

/**
 * Epoch ms of a period bound: a date is the start (`from`) or end (`to`, inclusive: the next
 * local midnight, exclusive) of that day in `calendar`'s zone; a date-time is exact. Undefined
 * when the text is neither, so each caller names the field in its own error.
 */
export function parseIsoBound(text: string, side: BoundSide, calendar: ZonedCalendar): number | undefined {
  const trimmed = text.trim();
  const date = ZonedCalendar.parseDate(trimmed);
  if (date) {
    const start = calendar.startOfDay(date);
    return side === 'from' ? start : calendar.dayRange(start).endMs;
  }
  const ms = isoDateTimeMs(trimmed);
  return Number.isFinite(ms) ? ms : undefined;
}

/** zod: a real calendar date, YYYY-MM-DD. */
export const isoDateSchema = z.iso.date();
/** zod: an ISO date-time with a UTC offset or Z. */
export const isoDateTimeSchema = z.iso.datetime({ offset: true });

/** True when zod accepts the text as an ISO date or an ISO date-time with offset. */
export function isIsoDateOrDateTime(text: string): boolean {
  return isoDateSchema.safeParse(text).success || isoDateTimeSchema.safeParse(text).success;
}

/** zod: an ISO date or date-time with offset, listed as either (anyOf), with one error message. */
export function isoBoundSchema(message: string) {
  return z.union([isoDateSchema, isoDateTimeSchema], { error: message });
}
