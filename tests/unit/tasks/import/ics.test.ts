import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mapCalendar, priorityFromIcal } from '../../../../src/tasks/import/ics.js';
import type { ImportedTask } from '../../../../src/tasks/taskStore.js';
import { REPO_ROOT } from '../../../helpers/paths.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0); // Wednesday 25 November 2026, 12:00 UTC
const fixture = (name: string) => fs.readFileSync(path.join(REPO_ROOT, 'tests/fixtures/import', name), 'utf8');
const map = (text: string) => mapCalendar(text, { nowMs: NOW, windowDays: 366, file: 'test.ics' });
const byTitle = (items: ImportedTask[]) => new Map(items.map((i) => [i.title, i]));

describe('iCalendar import (node-ical)', () => {
  it('Outlook: Windows zone names, VTIMEZONE, folded and escaped text, EXDATE and a moved occurrence', async () => {
    const { items, skipped } = await map(fixture('outlook.ics'));
    expect(skipped).toEqual([]);
    const tasks = byTitle(items);
    const weekly = tasks.get('Weekly sync')!;
    // Mon 30 Nov is an EXDATE; 7 Dec 10:00 was moved to Tue 8 Dec 14:00 Berlin (UTC+1) = 13:00 UTC.
    expect(weekly.due).toBe('2026-12-08T13:00:00.000Z');
    expect(weekly.externalId).toBe('ical:040000008200E00074C5B7101A82E00800000000B0C5F1B5E3A4DC01000000000000000010000000C4C0E0C3E0F4B84B8A3B5F6E0A1D2C3B');
    expect(weekly.description).toBe(
      'Agenda:\n1. Status, blockers; risks\n2. Next steps\n\nJoin the meeting from the Teams link in the invitation. This line is long enough that Outlook folds it.',
    );
    expect(weekly.priority).toBe('medium');
    expect(weekly.origin).toMatchObject({ kind: 'event', location: 'Room 4.01', recurrence: expect.stringContaining('FREQ=WEEKLY') });
    // "Pacific Standard Time" 09:00 in December is UTC-8.
    expect(tasks.get('Q4 review')).toMatchObject({ due: '2026-12-01T17:00:00.000Z', priority: 'high', status: 'open' });
    // Older Outlook writes the Windows display label as the TZID.
    expect(tasks.get('Budget review')?.due).toBe('2026-12-10T13:00:00.000Z');
  });

  it('Google: all-day events as dates, daily RRULE with EXDATEs and an override, cancelled events marked to close their task', async () => {
    const { items, skipped } = await map(fixture('google.ics'));
    const tasks = byTitle(items);
    expect(tasks.get('Christmas break')).toMatchObject({ due: '2026-12-24', description: 'Office closed, see https://intranet.example.com/holidays' });
    // Thu 26 and Fri 27 are EXDATEs; Mon 30 Nov 09:00 Berlin is the next one (its override keeps the time).
    expect(tasks.get('Daily stand-up')?.due).toBe('2026-11-30T08:00:00.000Z');
    expect(tasks.get('Daily stand-up')?.description).toBe("<b>Stand-up</b> – what I did; what I'll do; what blocks me.");
    expect(tasks.get("Anna's birthday")?.due).toBe('2027-01-04');
    expect(tasks.get('Vendor call')).toMatchObject({ externalId: 'ical:cancelled-1@google.com', cancelled: true });
    expect(items.filter((i) => i.cancelled)).toHaveLength(1);
    expect(skipped).toEqual([]);
  });

  it('Apple: VTODO priorities and status, DUE as a date and in a zone', async () => {
    const { items, skipped } = await map(fixture('apple.ics'));
    expect(skipped).toEqual([]);
    const tasks = byTitle(items);
    expect(tasks.get('File the tax return')).toMatchObject({ due: '2026-12-31', priority: 'high', status: 'open', description: 'Forms in the blue folder, receipts in the shoebox.' });
    expect(tasks.get('Call the plumber')).toMatchObject({ due: '2026-11-26T21:30:00.000Z', priority: 'medium' });
    expect(tasks.get('Renew passport')).toMatchObject({ status: 'done', priority: 'low', due: null });
    expect(tasks.get('Water the plants')).toMatchObject({ status: 'open', priority: 'medium', due: null });
    expect(tasks.get("Farmers' market")).toMatchObject({ due: '2026-11-28', origin: { kind: 'event' } });
    expect(tasks.get('File the tax return')?.origin.kind).toBe('todo');
  });

  it('maps the 1-9 PRIORITY scale: 1-4 high (never critical), 5 medium, 6-9 low, 0 or none medium', () => {
    expect([1, 2, 3, 4, 5, 6, 9, 0, undefined, 'x'].map(priorityFromIcal)).toEqual(['high', 'high', 'high', 'high', 'medium', 'low', 'low', 'medium', 'medium', 'medium']);
  });

  it('a truncated file imports what is complete and reports the cut-off component', async () => {
    const text = fixture('apple.ics');
    const cut = text.slice(0, text.indexOf('SUMMARY:Renew passport'));
    const { items, skipped } = await map(cut);
    expect(items.map((i) => i.title)).toEqual(['File the tax return', 'Call the plumber']);
    expect(skipped).toEqual([{ item: expect.stringMatching(/^VTODO starting at line \d+$/), reason: expect.stringContaining('truncated') }]);
  });

  it('skips an event in an unknown zone or with a broken date instead of shifting it silently', async () => {
    const ics = [
      'BEGIN:VCALENDAR', 'VERSION:2.0',
      'BEGIN:VEVENT', 'UID:mars', 'DTSTAMP:20261101T000000Z', 'DTSTART;TZID=Mars/Olympus_Mons:20261201T100000', 'SUMMARY:On Mars', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:broken', 'DTSTAMP:20261101T000000Z', 'DTSTART:garbage', 'SUMMARY:Broken', 'END:VEVENT',
      'BEGIN:VEVENT', 'DTSTAMP:20261101T000000Z', 'DTSTART:20261201T100000Z', 'SUMMARY:No UID', 'END:VEVENT',
      'END:VCALENDAR', '',
    ].join('\r\n');
    const { items, skipped } = await map(ics);
    expect(skipped.map((s) => s.reason)).toEqual([expect.stringContaining('unknown time zone "Mars/Olympus_Mons"'), expect.stringContaining('DTSTART is missing or not a date')]);
    // Without a UID the content names it, so a second import still finds it.
    expect(items).toHaveLength(1);
    expect(items[0]!.externalId).toMatch(/^ical-sha256:/);
    expect((await map(ics)).items[0]!.externalId).toBe(items[0]!.externalId);
  });

  it('a recurring event whose series ended is skipped with the window named', async () => {
    const ics = ['BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'UID:old', 'DTSTAMP:20200101T000000Z', 'DTSTART:20200106T090000Z', 'RRULE:FREQ=WEEKLY;COUNT=3', 'SUMMARY:Old series', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    expect((await map(ics)).skipped).toEqual([{ item: 'event "Old series" (UID old)', reason: 'recurring event with no occurrence in the next 366 days' }]);
  });

  it('a cancelled to-do without a UID and with a broken DUE is still read as a cancellation', async () => {
    const ics = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nSUMMARY:Old chore\r\nDUE:not-a-date\r\nSTATUS:CANCELLED\r\nEND:VTODO\r\nEND:VCALENDAR\r\n';
    const { items, skipped } = await map(ics);
    expect(skipped).toEqual([]);
    expect(items).toEqual([expect.objectContaining({ title: 'Old chore', cancelled: true, externalId: expect.stringMatching(/^ical-sha256:/) })]);
  });

  it('refuses text that is not iCalendar', async () => {
    await expect(map('hello')).rejects.toThrow(/not an iCalendar file/);
  });
});

describe('a large calendar', () => {
  it('is parsed and mapped in batches: the event loop keeps turning (other tool calls are served meanwhile)', async () => {
    const events = Array.from(
      { length: 1_000 },
      (_, i) => `BEGIN:VEVENT\r\nUID:e${i}@x\r\nDTSTART;TZID=Europe/Berlin:20270${1 + (i % 9)}10T100000\r\nSUMMARY:Meeting ${i}\r\nEND:VEVENT\r\n`,
    );
    const ics = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\n${events.join('')}END:VCALENDAR\r\n`;
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const { items } = await map(ics);
    ticking = false;
    expect(items).toHaveLength(1_000);
    // Parsed whole in one go, the import would let the ticker run only after it ended (0 turns).
    expect(turns).toBeGreaterThanOrEqual(5);
  });
});
