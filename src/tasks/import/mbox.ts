/**
 * Splits an mbox (mboxo or mboxrd) into messages as the bytes stream in, so a large mailbox
 * never sits in memory whole: only the current message does, and one that grows past the cap
 * is dropped as it streams and reported.
 */

export type MboxMessage =
  | { index: number; line: number; raw: Buffer }
  | { index: number; line: number; oversizeBytes: number };

const NEWLINE = 0x0a;
const FROM = Buffer.from('From ');

/** ">From " → "From ", ">>From " → ">From ": mboxrd's escaping; for mboxo it undoes the only escape it has. */
function unescapeFromLine(line: Buffer): Buffer {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++;
  return i > 0 && line.subarray(i, i + 5).equals(FROM) ? line.subarray(1) : line;
}

function isSeparator(line: Buffer, previousBlank: boolean, first: boolean): boolean {
  // A "From " line starts a message at the start of the file or after an empty line (writers
  // that forget to escape a body line starting "From " rarely put an empty line before it).
  return (first || previousBlank) && line.subarray(0, 5).equals(FROM);
}

/** Yields each message's bytes (without its "From " line, escapes undone). */
export async function* splitMbox(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, maxMessageBytes: number): AsyncGenerator<MboxMessage> {
  let carry: Buffer = Buffer.alloc(0);
  let parts: Buffer[] = [];
  let size = 0;
  let oversize = 0;
  let index = 0;
  let lineNo = 0;
  let startLine = 0;
  let previousBlank = false;
  let sawAny = false;

  const finish = (): MboxMessage | undefined => {
    if (index === 0) return undefined;
    const message: MboxMessage = oversize > 0 ? { index, line: startLine, oversizeBytes: oversize } : { index, line: startLine, raw: Buffer.concat(parts, size) };
    parts = [];
    size = 0;
    oversize = 0;
    return message;
  };

  const take = (line: Buffer): MboxMessage | undefined => {
    lineNo += 1;
    const content = line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
    let done: MboxMessage | undefined;
    if (isSeparator(content, previousBlank, !sawAny)) {
      done = finish();
      index += 1;
      startLine = lineNo;
    } else if (index === 0) {
      if (content.length > 0) throw new MboxFormatError('not an mbox: it does not start with a "From " line');
    } else {
      const kept = unescapeFromLine(line);
      if (oversize > 0) oversize += kept.length + 1;
      else if (size + kept.length + 1 > maxMessageBytes) {
        oversize = size + kept.length + 1;
        parts = [];
        size = 0;
      } else {
        // Copied: the chunk it points into would otherwise stay alive with the whole message.
        parts.push(Buffer.from(kept), Buffer.from('\n'));
        size += kept.length + 1;
      }
    }
    sawAny = sawAny || content.length > 0;
    previousBlank = content.length === 0;
    return done;
  };

  for await (const chunk of chunks) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    let buffer = data;
    if (carry.length > 0) {
      buffer = Buffer.concat([carry, data]);
      carry = Buffer.alloc(0);
    }
    for (;;) {
      const end = buffer.indexOf(NEWLINE, start);
      if (end < 0) break;
      const message = take(buffer.subarray(start, end));
      if (message) yield message;
      start = end + 1;
    }
    carry = Buffer.from(buffer.subarray(start));
    if (carry.length > maxMessageBytes + 1024) {
      // One endless line: count it toward the current message instead of holding it.
      if (index === 0) throw new MboxFormatError('not an mbox: it does not start with a "From " line');
      oversize = Math.max(oversize, size) + carry.length;
      parts = [];
      size = 0;
      carry = Buffer.alloc(0);
    }
  }
  if (carry.length > 0) {
    const message = take(carry);
    if (message) yield message;
  }
  const last = finish();
  if (last) yield last;
}

export class MboxFormatError extends Error {}
