import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/clock.js';
import { openDatabase, type Db } from '../../../../src/db/database.js';
import { TaskImporter } from '../../../../src/tasks/import/importer.js';
import { TaskStore, taskMigrations } from '../../../../src/tasks/taskStore.js';
import { REPO_ROOT, makeTempDir } from '../../../helpers/paths.js';

const FIXTURES = path.join(REPO_ROOT, 'tests/fixtures/import');
const fixture = (name: string) => path.join(FIXTURES, name);

describe('TaskImporter (real SQLite file, fixtures on disk)', () => {
  let dir: string;
  let db: Db;
  let clock: ManualClock;
  let store: TaskStore;
  let importer: TaskImporter;

  beforeEach(() => {
    dir = makeTempDir();
    db = openDatabase(path.join(dir, 'test.db'), { migrations: taskMigrations });
    clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
    store = new TaskStore(db, clock);
    importer = new TaskImporter({ store, clock });
  });
  afterEach(() => db.close());

  const count = () => (db.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n;

  it('imports each fixture; importing it again creates nothing and changes nothing', async () => {
    const files = ['outlook.ics', 'google.ics', 'apple.ics', 'rfc2047-qp.eml', 'html-only.eml', 'invite.eml', 'inbox.mbox'];
    const first = [];
    for (const f of files) first.push(await importer.run({ path: fixture(f) }));
    expect(first.map((r) => [r.format, r.created])).toEqual([['ics', 3], ['ics', 3], ['ics', 5], ['eml', 1], ['eml', 1], ['eml', 2], ['mbox', 3]]);
    const total = count();
    expect(total).toBe(18);
    const before = store.list({ status: 'all', limit: 500 }).tasks;

    clock.advance(60_000);
    for (const f of files) {
      const again = await importer.run({ path: fixture(f) });
      expect([f, again.created, again.updated, again.tasks]).toEqual([f, 0, 0, []]);
    }
    expect(count()).toBe(total);
    expect(store.list({ status: 'all', limit: 500 }).tasks).toEqual(before);
  });

  it('mbox: one task per message, KOI8-R decoded, a plainly stated due time, sender and date kept', async () => {
    const r = await importer.run({ path: fixture('inbox.mbox') });
    const byTitle = new Map(r.tasks.map((t) => [t.title, t]));
    expect([...byTitle.keys()]).toEqual(['Lunch order', 'Договор', 'Slides, no message id']);
    expect(byTitle.get('Договор')!.description).toBe('Привет! Нужно подписать договор до пятницы.');
    expect(byTitle.get('Lunch order')).toMatchObject({ due: null, external_id: 'mail:lunch-1@example.com' });
    expect(byTitle.get('Lunch order')!.description).toContain('From the kitchen: no nuts.');
    // Sent Tue 24 Nov 09:00 UTC: "by tomorrow at 3pm" is Wed 25 Nov 15:00 UTC.
    expect(byTitle.get('Slides, no message id')).toMatchObject({
      due: '2026-11-25T15:00:00.000Z',
      origin: { kind: 'email', from: 'Carol <carol@example.com>', date: '2026-11-24T09:00:00.000Z', file: 'inbox.mbox' },
    });
  });

  it('a changed event updates its task; a task edited by hand is skipped, not overwritten', async () => {
    const original = fs.readFileSync(fixture('apple.ics'), 'utf8');
    const file = path.join(dir, 'reminders.ics');
    fs.writeFileSync(file, original);
    await importer.run({ path: file });
    const tax = store.list({ text: 'tax return' }).tasks[0]!;
    const plumber = store.list({ text: 'plumber' }).tasks[0]!;

    // The user edits one task by hand; the file then changes both.
    clock.advance(3_600_000);
    store.update(plumber.id, { title: 'Call the plumber (Mario)' });
    fs.writeFileSync(file, original.replace('DUE;VALUE=DATE:20261231', 'DUE;VALUE=DATE:20270115').replace('SUMMARY:Call the plumber', 'SUMMARY:Call a plumber'));
    const r = await importer.run({ path: file });
    expect([r.created, r.updated, r.unchanged]).toEqual([0, 1, 3]);
    expect(r.tasks.map((t) => [t.id, t.due])).toEqual([[tax.id, '2027-01-15']]);
    expect(r.skipped).toEqual([{ item: 'to-do "Call a plumber" (UID 8E7D6C5B-4A39-4281-B0C9-D8E7F6A5B4C3)', reason: expect.stringMatching(/^edited since import: task #\d+ was changed by hand/) }]);
    expect(store.get(plumber.id).title).toBe('Call the plumber (Mario)');

    // A hand edit with no change in the file is left alone and reported unchanged.
    store.complete(tax.id);
    const again = await importer.run({ path: file });
    expect([again.updated, again.unchanged, again.skipped.length]).toEqual([0, 4, 1]);
    expect(store.get(tax.id).status).toBe('done');
  });

  it('a cancelled event closes the task imported from it, creates none, and leaves a task edited by hand open', async () => {
    const event = (uid: string, extra = '') => `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTART:20261210T100000Z\r\nSUMMARY:Sync ${uid}\r\n${extra}END:VEVENT\r\n`;
    const calendar = (body: string, method = '') => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\n${method}${body}END:VCALENDAR\r\n`;
    const first = await importer.run({ content: calendar(event('a') + event('b') + event('c')), format: 'ics' });
    expect(first.created).toBe(3);
    const [a, b] = ['a', 'b'].map((uid) => store.list({ text: `Sync ${uid}` }).tasks[0]!);
    store.update(b!.id, { title: 'Sync b (moved to the big room)' });

    clock.advance(60_000);
    const cancelled = await importer.run({ content: calendar(event('a', 'STATUS:CANCELLED\r\n') + event('b', 'STATUS:CANCELLED\r\n') + event('new', 'STATUS:CANCELLED\r\n')), format: 'ics' });
    expect([cancelled.created, cancelled.updated]).toEqual([0, 1]);
    expect(store.get(a!.id)).toMatchObject({ status: 'done', completed_at: new Date(clock.now()).toISOString() });
    expect(store.get(b!.id).status).toBe('open');
    expect(cancelled.skipped).toEqual([
      { item: 'event "Sync b" (UID b)', reason: expect.stringMatching(/^edited since import: task #\d+ was changed by hand, so it was left open although the calendar cancelled it/) },
      { item: 'event "Sync new" (UID new)', reason: 'cancelled in the calendar' },
    ]);
    expect(count()).toBe(3);

    // Importing the cancellation again changes nothing; a CANCEL message cancels what it carries.
    const again = await importer.run({ content: calendar(event('a', 'STATUS:CANCELLED\r\n')), format: 'ics' });
    expect([again.updated, again.unchanged]).toEqual([0, 1]);
    const byMethod = await importer.run({ content: calendar(event('c'), 'METHOD:CANCEL\r\n'), format: 'ics' });
    expect(byMethod.updated).toBe(1);
    expect(store.list({ text: 'Sync c', status: 'all' }).tasks[0]!.status).toBe('done');
  });

  it('writes one import in one transaction: a failure part-way leaves nothing behind', async () => {
    db.exec(`CREATE TRIGGER refuse_plumber BEFORE INSERT ON tasks WHEN NEW.title = 'Call the plumber' BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    await expect(importer.run({ path: fixture('apple.ics') })).rejects.toThrow(/disk full/);
    expect(count()).toBe(0);
  });

  it('bad files: a missing path, a directory, binary junk, an empty file', async () => {
    await expect(importer.run({ path: path.join(dir, 'nope.ics') })).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('no file at') });
    await expect(importer.run({ path: dir })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('is a directory') });
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    fs.writeFileSync(path.join(dir, 'junk.bin'), junk);
    fs.writeFileSync(path.join(dir, 'junk.ics'), junk);
    fs.writeFileSync(path.join(dir, 'junk.mbox'), junk);
    fs.writeFileSync(path.join(dir, 'junk.eml'), junk);
    await expect(importer.run({ path: path.join(dir, 'junk.bin') })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('looks like binary data') });
    await expect(importer.run({ path: path.join(dir, 'junk.ics') })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(importer.run({ path: path.join(dir, 'junk.mbox') })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('"From " line') });
    await expect(importer.run({ path: path.join(dir, 'junk.eml') })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('not an e-mail') });
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    await expect(importer.run({ path: path.join(dir, 'empty.txt') })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(count()).toBe(0);
  });

  it('a truncated calendar is a partial import that names what was cut off', async () => {
    const text = fs.readFileSync(fixture('google.ics'), 'utf8');
    const file = path.join(dir, 'cut.ics');
    fs.writeFileSync(file, text.slice(0, text.indexOf('UID:birthday-anna')));
    const r = await importer.run({ path: file });
    expect(r.created).toBe(2);
    expect(r.skipped).toEqual([{ item: expect.stringMatching(/^VEVENT starting at line \d+$/), reason: expect.stringContaining('truncated') }]);
  });

  it('detects the format of given content and imports it the same way', async () => {
    const ics = fs.readFileSync(fixture('apple.ics'), 'utf8');
    const eml = fs.readFileSync(fixture('html-only.eml'), 'utf8');
    expect((await importer.run({ content: ics })).format).toBe('ics');
    expect((await importer.run({ content: eml })).format).toBe('eml');
    expect((await importer.run({ content: fs.readFileSync(fixture('inbox.mbox'), 'utf8') })).created).toBe(3);
    await expect(importer.run({ content: 'hello there' })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('pass format') });
  });

  it('refuses an .ics or .eml over the size cap before reading it', async () => {
    const file = path.join(dir, 'huge.ics');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, 'BEGIN:VCALENDAR\r\n');
    fs.ftruncateSync(fd, 26 * 1024 * 1024);
    fs.closeSync(fd);
    await expect(importer.run({ path: file })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('limited to 25 MB') });
  });

  // 50 MB written, parsed and imported with a full GC per sample: 10–25 s with coverage on 2 cores.
  it('streams a 50 MB mbox: memory stays well under the file size', { timeout: 120_000 }, async () => {
    const file = path.join(dir, 'big.mbox');
    const attachment = Buffer.alloc(75_000, 'report data 2026 ').toString('base64').replace(/.{76}/g, '$&\n');
    const out = fs.openSync(file, 'w');
    let n = 0;
    while (fs.fstatSync(out).size < 50 * 1024 * 1024) {
      n += 1;
      fs.writeSync(
        out,
        `From sender${n}@example.com Mon Nov 23 10:00:00 2026\nFrom: Sender ${n} <sender${n}@example.com>\nSubject: Report ${n}\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <report-${n}@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nReport ${n} attached.\n>From the archive.\n--b\nContent-Type: application/octet-stream; name="r.bin"\nContent-Transfer-Encoding: base64\n\n${attachment}\n--b--\n\n`,
      );
    }
    fs.closeSync(out);
    const sizeMb = fs.statSync(file).size / 1024 / 1024;

    // What sits in memory is live memory: collect garbage before each sample, since when V8 gets
    // round to it differs by Node major (Node 24 lets decoded attachments pile up far longer).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const r = await importer.run({ path: file });
    clearInterval(sampler);
    gc();
    peak = Math.max(peak, process.memoryUsage().rss);

    expect(sizeMb).toBeGreaterThanOrEqual(50);
    expect(r.created).toBe(n);
    expect(count()).toBe(n);
    expect(store.list({ text: 'Report 7' }).tasks[0]!.description).toBe('Report 7 attached.\nFrom the archive.');
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.log(`50 MB mbox: ${n} messages, RSS growth ${growthMb.toFixed(1)} MB`);
    expect(growthMb).toBeLessThan(sizeMb * 0.8);
  });
});
