import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dueFromText, mapEmail } from '../../../../src/tasks/import/email.js';
import { REPO_ROOT } from '../../../helpers/paths.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const fixture = (name: string) => fs.readFileSync(path.join(REPO_ROOT, 'tests/fixtures/import', name));
const map = (raw: Buffer | string, where = 'test.eml') => mapEmail(raw, where, { nowMs: NOW, windowDays: 366, file: where });

describe('e-mail import (postal-mime, chrono-node)', () => {
  it('decodes RFC 2047 subjects and a quoted-printable ISO-8859-1 body; keeps sender and date; reads X-Priority', async () => {
    const { items, skipped } = await map(fixture('rfc2047-qp.eml'));
    expect(skipped).toEqual([]);
    expect(items).toHaveLength(1);
    const task = items[0]!;
    expect(task.title).toBe('Quartalsbericht für den Chef – dringend');
    expect(task.externalId).toBe('mail:20261125093000.4711@mail.example.de');
    expect(task.priority).toBe('high');
    expect(task.origin).toEqual({ kind: 'email', from: 'Jörg Müller <joerg@example.de>', date: '2026-11-25T08:30:00.000Z', file: 'test.eml' });
    expect(task.source).toBe('email from Jörg Müller <joerg@example.de>');
    // Cleaned: the quoted reply and the signature are gone.
    expect(task.description).toBe('Hallo,\n\nPlease send the quarterly report by next Friday. Die Zahlen für März fehlen noch.\n\nDanke!');
    // Sent Wednesday 25 Nov: chrono reads "next Friday" as the Friday of next week, 4 December
    // (not this week's Friday, the 27th).
    expect(task.due).toBe('2026-12-04');
  });

  it('converts an HTML-only windows-1252 mail to text; Importance: low; a stated deadline with a time in the sender\'s zone', async () => {
    const { items } = await map(fixture('html-only.eml'));
    const task = items[0]!;
    expect(task.title).toBe('Vendor review');
    expect(task.description).toContain('the “vendor review” costs 1.200 €. Deadline: December 3, 2026 at 5pm.');
    expect(task.description).toContain('Check the invoice');
    expect(task.description).not.toMatch(/track\(\)|color:red|<p>/);
    expect(task.priority).toBe('low');
    // 5 pm at the Date header's -0500.
    expect(task.due).toBe('2026-12-03T22:00:00.000Z');
  });

  it('imports a text/calendar attachment as a calendar item beside the mail; other attachments are ignored', async () => {
    const { items, skipped } = await map(fixture('invite.eml'));
    expect(skipped).toEqual([]);
    expect(items.map((i) => [i.title, i.externalId, i.due])).toEqual([
      ['Invitation: Budget planning', 'mail:invite-777@example.com', null],
      ['Budget planning', 'ical:040000008200E00074C5B7101A82E00800000000INVITE0000000000000000000001', '2026-12-03T14:00:00.000Z'],
    ]);
    expect(items[0]!.priority).toBe('high');
    expect(items[0]!.description).toBe('Please join the budget planning on Thursday next week. Agenda attached.');
  });

  it('reads a due date only where the text plainly states one', () => {
    const wednesday = Date.UTC(2026, 10, 25, 8, 30);
    expect(dueFromText('Please finish by next Friday.', wednesday, 60)).toBe('2026-12-04');
    expect(dueFromText('Please finish by Friday.', wednesday, 60)).toBe('2026-11-27');
    expect(dueFromText('Due: tomorrow at 3pm', wednesday, 60)).toBe('2026-11-26T14:00:00.000Z');
    expect(dueFromText('We met on Monday and talked about December.', wednesday, 60)).toBeUndefined();
    expect(dueFromText('No dates here at all.', wednesday, 60)).toBeUndefined();
  });

  it('a message without Message-ID gets a stable id from its content', async () => {
    const raw = 'From: a@example.com\r\nSubject: Hi\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nBody\r\n';
    const first = (await map(raw)).items[0]!;
    expect(first.externalId).toMatch(/^mail-sha256:/);
    expect((await map(raw)).items[0]!.externalId).toBe(first.externalId);
  });

  it('reports text without any mail header as skipped', async () => {
    const { items, skipped } = await map('just some words\r\nand more\r\n', 'junk.eml');
    expect(items).toEqual([]);
    expect(skipped).toEqual([{ item: 'junk.eml', reason: expect.stringContaining('not an e-mail') }]);
  });
});
