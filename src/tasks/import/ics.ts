import { createHash } from 'node:crypto';
import { setImmediate as nextTurnOfTheLoop } from 'node:timers/promises';
import ical, { type CalendarResponse, type DateWithTimeZone, type ParameterValue, type VEvent, type VTodo } from 'node-ical';
import { InvalidInputError } from '../../errors.js';
import { dateLabel } from '../../time/due.js';
import { memoizedZoneResolver, type ZoneResolver } from '../../time/zones.js';
import type { ImportedTask, Priority } from '../taskStore.js';
import { DESCRIPTION_MAX, TITLE_MAX, clip, tidyText, type MapOptions, type MappedItems, type SkippedItem } from './types.js';

/**
 * iCalendar (RFC 5545) → tasks, parsed by node-ical: a VTODO becomes a task; a VEVENT a task due
 * at its start (a recurring one at its next occurrence within the window, EXDATEs left out and
 * moved occurrences at their new time).
 */

const DAY_MS = 86_400_000;

/** RFC 5545 PRIORITY: 1-4 high (import never says "critical": that is the user's call), 5 medium, 6-9 low, 0 none. */
export function priorityFromIcal(value: unknown): Priority {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 9) return 'medium';
  if (n <= 4) return 'high';
  return n === 5 ? 'medium' : 'low';
}

function text(value: ParameterValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value.val ?? '');
}

function isDate(value: unknown): value is DateWithTimeZone {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** An all-day value as the date written (node-ical builds it at local midnight); else UTC ISO. */
function dueValue(date: DateWithTimeZone, allDay: boolean): string {
  return allDay ? dateLabel(date.getFullYear(), date.getMonth() + 1, date.getDate()) : date.toISOString();
}

/** The import's options, and whether the calendar is a CANCEL message. */
type ItemOptions = MapOptions & { cancelAll: boolean };

/** node-ical falls back to UTC for a zone it cannot resolve; that would silently shift the time. */
function unknownZone(date: DateWithTimeZone, zoneOf: ZoneResolver): string | undefined {
  const tz = date.tz;
  if (!tz || date.dateOnly) return undefined;
  if (/^(?:UTC|GMT)?[+-]\d{1,2}(?::?\d{2})?$/i.test(tz) || /^Etc\//.test(tz)) return undefined;
  return zoneOf(tz) ? undefined : tz;
}

interface Cut {
  text: string;
  skipped: SkippedItem[];
}

/**
 * A file cut short (a download or copy that stopped) ends inside a component. node-ical then
 * mixes the loose lines into its answer, so the text is cut after the last complete component,
 * and the unfinished one is reported.
 */
function cutTruncated(source: string): Cut {
  const lines = source.split(/\r?\n/);
  const stack: Array<{ name: string; line: number }> = [];
  let lastCompleteEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(BEGIN|END):([A-Za-z-]+)\s*$/i.exec(lines[i]!);
    if (!m) continue;
    const name = m[2]!.toUpperCase();
    if (m[1]!.toUpperCase() === 'BEGIN') stack.push({ name, line: i + 1 });
    else {
      if (stack.at(-1)?.name !== name) break;
      stack.pop();
      if (stack.length === 1) lastCompleteEnd = i;
      if (stack.length === 0) return { text: source, skipped: [] };
    }
  }
  const open = stack[1] ?? stack[0];
  const skipped: SkippedItem[] = open
    ? [{ item: `${open.name} starting at line ${open.line}`, reason: 'file is truncated: this component has no END line; everything before it was imported' }]
    : [];
  if (lastCompleteEnd < 0) return { text: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', skipped };
  return { text: `${lines.slice(0, lastCompleteEnd + 1).join('\r\n')}\r\nEND:VCALENDAR\r\n`, skipped };
}

/** Parsed in batches of lines (node-ical's async mode), so a large calendar does not stall the server. */
export async function parseCalendar(source: string): Promise<{ calendar: CalendarResponse; skipped: SkippedItem[] }> {
  const body = source.replace(/^\uFEFF/, '');
  if (!/^\s*BEGIN:VCALENDAR/i.test(body)) {
    throw new InvalidInputError('not an iCalendar file: it does not start with BEGIN:VCALENDAR');
  }
  const cut = cutTruncated(body);
  try {
    return { calendar: await ical.async.parseICS(cut.text), skipped: cut.skipped };
  } catch (err) {
    throw new InvalidInputError(`cannot read the iCalendar data: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function externalId(kind: string, uid: string | undefined, title: string, start: Date | undefined): string {
  if (uid) return `ical:${uid}`;
  // No UID (RFC 5545 requires one, some exporters omit it): the content names the item.
  return `ical-sha256:${createHash('sha256').update(`${kind}\n${title}\n${start?.toISOString() ?? ''}`).digest('base64url')}`;
}

/** What every task from a calendar item has: its id, names, tag and source. */
function calendarTask(kind: 'VTODO' | 'VEVENT', uid: string | undefined, title: string, start: Date | undefined, label: string, opts: MapOptions) {
  return { externalId: externalId(kind, uid, title, start), label, title, tags: ['calendar'], source: opts.file ? `calendar ${opts.file}` : 'calendar' };
}

/** An item the calendar cancelled: it closes the task imported from it, and creates none. */
function cancelledItem(kind: 'VTODO' | 'VEVENT', uid: string | undefined, title: string, start: Date | undefined, label: string, opts: MapOptions): ImportedTask {
  return {
    ...calendarTask(kind, uid, title, start, label, opts),
    description: null,
    priority: 'medium',
    due: null,
    status: 'done',
    origin: { kind: kind === 'VTODO' ? 'todo' : 'event', file: opts.file },
    cancelled: true,
  };
}

function mapTodo(todo: VTodo, opts: ItemOptions, zoneOf: ZoneResolver): ImportedTask | SkippedItem {
  const title = clip(text(todo.summary).trim() || '(untitled to-do)', TITLE_MAX);
  const label = `to-do "${clip(title, 80)}"${todo.uid ? ` (UID ${todo.uid})` : ''}`;
  // The same id the to-do was imported under (its DUE counts only when it is a date).
  if (todo.status === 'CANCELLED' || opts.cancelAll) return cancelledItem('VTODO', todo.uid, title, isDate(todo.due) ? todo.due : undefined, label, opts);
  let due: string | null = null;
  if (todo.due !== undefined) {
    if (!isDate(todo.due)) return { item: label, reason: `DUE is not a date: ${String(todo.due).slice(0, 40)}` };
    const zone = unknownZone(todo.due, zoneOf);
    if (zone) return { item: label, reason: `unknown time zone "${zone}" (not IANA, not a Windows zone name)` };
    due = dueValue(todo.due, Boolean(todo.due.dateOnly));
  }
  const done = todo.status === 'COMPLETED' || todo.completion === '100' || isDate(todo.completed);
  const location = text(todo.location as ParameterValue | undefined);
  return {
    ...calendarTask('VTODO', todo.uid, title, todo.due, label, opts),
    description: clip(tidyText(text(todo.description)), DESCRIPTION_MAX) || null,
    priority: priorityFromIcal(todo.priority),
    due,
    status: done ? 'done' : 'open',
    origin: { kind: 'todo', location: location || undefined, file: opts.file },
  };
}

function rruleLine(event: VEvent): string | undefined {
  const rule = event.rrule?.toString();
  return rule?.split('\n').find((l) => l.startsWith('RRULE:'))?.slice('RRULE:'.length);
}

function mapEvent(event: VEvent, opts: ItemOptions, zoneOf: ZoneResolver): ImportedTask | SkippedItem {
  const title = clip(text(event.summary).trim() || '(untitled event)', TITLE_MAX);
  const label = `event "${clip(title, 80)}"${event.uid ? ` (UID ${event.uid})` : ''}`;
  if (event.status === 'CANCELLED' || opts.cancelAll) return cancelledItem('VEVENT', event.uid, title, isDate(event.start) ? event.start : undefined, label, opts);
  if (!isDate(event.start)) return { item: label, reason: `DTSTART is missing or not a date${event.start ? `: ${String(event.start).slice(0, 40)}` : ''}` };
  const zone = unknownZone(event.start, zoneOf);
  if (zone) return { item: label, reason: `unknown time zone "${zone}" (not IANA, not a Windows zone name)` };
  let start: DateWithTimeZone = event.start;
  let allDay = event.datetype === 'date' || Boolean(event.start.dateOnly);
  const recurrence = rruleLine(event);
  if (event.rrule) {
    const from = new Date(opts.nowMs);
    const to = new Date(opts.nowMs + opts.windowDays * DAY_MS);
    let next;
    try {
      next = ical.expandRecurringEvent(event, { from, to, includeOverrides: true, excludeExdates: true }).find((i) => i.start.getTime() >= opts.nowMs || i.isFullDay);
    } catch (err) {
      return { item: label, reason: `cannot expand its RRULE: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!next) return { item: label, reason: `recurring event with no occurrence in the next ${opts.windowDays} days` };
    start = next.start;
    allDay = next.isFullDay;
  }
  const location = text(event.location);
  return {
    ...calendarTask('VEVENT', event.uid, title, event.start, label, opts),
    description: clip(tidyText(text(event.description)), DESCRIPTION_MAX) || null,
    priority: priorityFromIcal(event.priority),
    due: dueValue(start, allDay),
    status: 'open',
    origin: { kind: 'event', location: location || undefined, recurrence, file: opts.file },
  };
}

/** Components mapped between two turns of the event loop (a recurring event's expansion costs ~1 ms). */
const MAP_BATCH = 200;

/** Every VTODO and VEVENT of the text as a task, or as a skipped item with its reason. */
export async function mapCalendar(source: string, opts: MapOptions): Promise<MappedItems> {
  const { calendar, skipped } = await parseCalendar(source);
  const zoneOf = memoizedZoneResolver();
  // A CANCEL message (RFC 5546) cancels every component it carries, whatever their STATUS says.
  const method = (calendar as { vcalendar?: { method?: unknown } }).vcalendar?.method;
  const itemOpts: ItemOptions = { ...opts, cancelAll: typeof method === 'string' && method.toUpperCase() === 'CANCEL' };
  const items: ImportedTask[] = [];
  const out: MappedItems = { items, skipped: [] };
  let mappedSinceYield = 0;
  for (const component of Object.values(calendar)) {
    if (!component || typeof component !== 'object' || !('type' in component)) continue;
    let mapped: ImportedTask | SkippedItem | undefined;
    if (component.type === 'VTODO') mapped = mapTodo(component as VTodo, itemOpts, zoneOf);
    else if (component.type === 'VEVENT') mapped = mapEvent(component as VEvent, itemOpts, zoneOf);
    if (mapped === undefined) continue;
    if ('externalId' in mapped) items.push(mapped);
    else out.skipped.push(mapped);
    if (++mappedSinceYield === MAP_BATCH) {
      mappedSinceYield = 0;
      await nextTurnOfTheLoop();
    }
  }
  out.skipped.push(...skipped);
  return out;
}
