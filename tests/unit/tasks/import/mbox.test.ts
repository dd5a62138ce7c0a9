import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { splitMbox, type MboxMessage } from '../../../../src/tasks/import/mbox.js';
import { REPO_ROOT } from '../../../helpers/paths.js';

async function collect(chunks: Iterable<Buffer | string> | AsyncIterable<Buffer | string>, max = 1024 * 1024): Promise<MboxMessage[]> {
  const out: MboxMessage[] = [];
  for await (const m of splitMbox(chunks, max)) out.push(m);
  return out;
}
const text = (m: MboxMessage) => ('raw' in m ? m.raw.toString('utf8') : `<oversize ${m.oversizeBytes}>`);

describe('mbox splitting (streamed)', () => {
  it('splits mboxrd messages and unescapes >From lines one level', async () => {
    const file = path.join(REPO_ROOT, 'tests/fixtures/import/inbox.mbox');
    const messages = await collect(fs.createReadStream(file, { highWaterMark: 64 }));
    expect(messages.map((m) => [m.index, m.line])).toEqual([[1, 1], [2, 12], [3, 24]]);
    const first = text(messages[0]!);
    expect(first).toContain('\nFrom the kitchen: no nuts.\n');
    expect(first).toContain('\n>From a quoted line that was already escaped.\n');
    expect(first.startsWith('From: Alice <alice@example.com>\n')).toBe(true);
  });

  it('gives the same messages whatever the chunk boundaries, with CRLF too', async () => {
    const mbox = 'From a@x Mon Nov 23 10:00:00 2026\r\nSubject: one\r\n\r\nbody one\r\n\r\nFrom b@x Mon Nov 23 10:00:00 2026\r\nSubject: two\r\n\r\n>From here\r\n';
    const whole = (await collect([mbox])).map(text);
    const bytes = Buffer.from(mbox);
    const single = (await collect(Readable.from([...bytes].map((b) => Buffer.from([b]))))).map(text);
    expect(single).toEqual(whole);
    expect(whole).toEqual(['Subject: one\r\n\r\nbody one\r\n\r\n', 'Subject: two\r\n\r\nFrom here\r\n']);
  });

  it('mboxo: a "From " body line without an empty line before it stays in the message', async () => {
    const mbox = 'From a@x Mon Nov 23 10:00:00 2026\nSubject: one\n\nline\nFrom an unescaped body line\n';
    const messages = await collect([mbox]);
    expect(messages).toHaveLength(1);
    expect(text(messages[0]!)).toContain('From an unescaped body line');
  });

  it('drops a message over the cap as it streams and reports its size', async () => {
    const big = 'x'.repeat(1000);
    const mbox = `From a@x Mon Nov 23 10:00:00 2026\nSubject: big\n\n${`${big}\n`.repeat(50)}\nFrom b@x Mon Nov 23 10:00:00 2026\nSubject: small\n\nok\n`;
    const messages = await collect([mbox], 10_000);
    expect('oversizeBytes' in messages[0]! && messages[0].oversizeBytes).toBeGreaterThan(50_000);
    expect(text(messages[1]!)).toBe('Subject: small\n\nok\n');
  });

  it('refuses a file that does not start with a From line', async () => {
    await expect(collect(['Subject: hi\n\nbody\n'])).rejects.toThrow(/does not start with a "From " line/);
  });
});
