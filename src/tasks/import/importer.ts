import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../clock.js';
import { CancelledError, InvalidInputError, NotFoundError } from '../../errors.js';
import type { Task, TaskStore } from '../taskStore.js';
import { mapEmail } from './email.js';
import { mapCalendar } from './ics.js';
import { MboxFormatError, splitMbox } from './mbox.js';
import type { ImportFormat, MapOptions, MappedItems, SkippedItem } from './types.js';

/** .ics and .eml are parsed whole: past this they are refused. An mbox streams and has no cap. */
export const MAX_DOCUMENT_BYTES = 25 * 1024 * 1024;
/** One message of an mbox larger than this is skipped (with its reason) as it streams by. */
export const MAX_MESSAGE_BYTES = 25 * 1024 * 1024;
/** One import may hold this many items: more is refused rather than half-written. */
export const MAX_ITEMS = 100_000;
export const DEFAULT_WINDOW_DAYS = 366;

export interface ImportRequest {
  path?: string | undefined;
  content?: string | undefined;
  format?: ImportFormat | undefined;
}

export interface ImportResult {
  format: ImportFormat;
  created: number;
  updated: number;
  unchanged: number;
  skipped: SkippedItem[];
  /** The tasks this import created or updated. */
  tasks: Task[];
}

const BY_EXTENSION: Record<string, ImportFormat> = { '.ics': 'ics', '.ical': 'ics', '.ifb': 'ics', '.eml': 'eml', '.mbox': 'mbox', '.mbx': 'mbox' };

/** Format from the first bytes: a calendar, an mbox "From " line, or a mail header. */
export function sniffFormat(head: Buffer): ImportFormat | undefined {
  const start = head.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').replace(/^\s+/, '');
  if (/^BEGIN:VCALENDAR/i.test(start)) return 'ics';
  if (/^From \S/.test(start)) return 'mbox';
  if (/^[!-9;-~]+:[^\r\n]*\r?\n/.test(start)) return 'eml';
  return undefined;
}

function looksBinary(head: Buffer): boolean {
  if (head.includes(0)) return true;
  let odd = 0;
  for (const byte of head) if (byte < 9 || (byte > 13 && byte < 32)) odd++;
  return odd > head.length * 0.05;
}

function unknownFormat(name: string, head: Buffer): InvalidInputError {
  const what = looksBinary(head) ? 'looks like binary data, not' : 'is not';
  return new InvalidInputError(`${name} ${what} an iCalendar file (BEGIN:VCALENDAR), an mbox ("From " line) or an e-mail (headers); pass format if it is one of these`);
}

/** Reads a file or given text, maps its items, and writes them in one transaction. */
export class TaskImporter {
  constructor(private readonly deps: { store: TaskStore; clock: Clock; windowDays?: number }) {}

  async run(request: ImportRequest, signal?: AbortSignal): Promise<ImportResult> {
    const opts: MapOptions = { nowMs: this.deps.clock.now(), windowDays: this.deps.windowDays ?? DEFAULT_WINDOW_DAYS };
    let mapped: { format: ImportFormat; items: MappedItems };
    if (request.path !== undefined) mapped = await this.fromFile(request.path, request.format, opts, signal);
    else mapped = await this.fromContent(request.content ?? '', request.format, opts);
    if (signal?.aborted) throw new CancelledError('The import was cancelled; nothing was written.');
    const { items, skipped } = mapped.items;
    if (items.length > MAX_ITEMS) throw new InvalidInputError(`the file holds more than ${MAX_ITEMS} items; split it (nothing was written)`);
    const outcomes = this.deps.store.applyImport(items);
    const result: ImportResult = { format: mapped.format, created: 0, updated: 0, unchanged: 0, skipped: [...skipped], tasks: [] };
    for (const outcome of outcomes) {
      if (outcome.kind === 'skipped') result.skipped.push({ item: outcome.item, reason: outcome.reason });
      else {
        result[outcome.kind] += 1;
        if (outcome.kind !== 'unchanged') result.tasks.push(outcome.task);
      }
    }
    return result;
  }

  private async fromContent(content: string, format: ImportFormat | undefined, opts: MapOptions) {
    const head = Buffer.from(content.slice(0, 4096), 'utf8');
    const chosen = format ?? sniffFormat(head);
    if (!chosen) throw unknownFormat('content', head);
    const where = 'content';
    if (chosen === 'ics') return { format: chosen, items: await mapCalendar(content, opts) };
    if (chosen === 'eml') return { format: chosen, items: await this.email(Buffer.from(content, 'utf8'), where, head, opts) };
    return { format: chosen, items: await this.mbox([Buffer.from(content, 'utf8')], where, opts) };
  }

  private async fromFile(file: string, format: ImportFormat | undefined, opts: MapOptions, signal: AbortSignal | undefined) {
    const full = path.resolve(file);
    const info = await stat(full).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new NotFoundError(`path: no file at ${full}`);
      if (err.code === 'EACCES' || err.code === 'EPERM') throw new InvalidInputError(`path: ${full} cannot be read (permission denied)`);
      throw new InvalidInputError(`path: cannot read ${full}: ${err.message}`);
    });
    if (info.isDirectory()) throw new InvalidInputError(`path: ${full} is a directory; name an .ics, .eml or mbox file`);
    if (!info.isFile()) throw new InvalidInputError(`path: ${full} is not a regular file`);
    const head = await readHead(full);
    const name = path.basename(full);
    const chosen = format ?? BY_EXTENSION[path.extname(full).toLowerCase()] ?? sniffFormat(head);
    if (!chosen) throw unknownFormat(name, head);
    const fileOpts = { ...opts, file: name };
    if (chosen !== 'mbox' && info.size > MAX_DOCUMENT_BYTES) {
      throw new InvalidInputError(`path: ${name} is ${(info.size / 1024 / 1024).toFixed(1)} MB; .ics and .eml files are limited to ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB (an mbox may be larger)`);
    }
    if (chosen === 'ics') {
      if (looksBinary(head)) throw unknownFormat(name, head);
      return { format: chosen, items: await mapCalendar(await readFile(full, 'utf8'), fileOpts) };
    }
    if (chosen === 'eml') {
      return { format: chosen, items: await this.email(await readFile(full), name, head, fileOpts) };
    }
    return { format: chosen, items: await this.mbox(createReadStream(full, { highWaterMark: 256 * 1024, ...(signal && { signal }) }), name, fileOpts) };
  }

  private async email(raw: Buffer, where: string, head: Buffer, opts: MapOptions): Promise<MappedItems> {
    if (looksBinary(head) || sniffFormat(head) !== 'eml') {
      throw new InvalidInputError(`${where} is not an e-mail: it does not start with header lines (Name: value)`);
    }
    return mapEmail(raw, where, opts);
  }

  private async mbox(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, where: string, opts: MapOptions): Promise<MappedItems> {
    const out: MappedItems = { items: [], skipped: [] };
    try {
      for await (const message of splitMbox(chunks, MAX_MESSAGE_BYTES)) {
        const name = `message ${message.index} (line ${message.line}) of ${where}`;
        if ('oversizeBytes' in message) {
          out.skipped.push({ item: name, reason: `larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MB (${(message.oversizeBytes / 1024 / 1024).toFixed(1)} MB)` });
          continue;
        }
        const mapped = await mapEmail(message.raw, name, opts);
        pushAll(out.items, mapped.items);
        pushAll(out.skipped, mapped.skipped);
      }
    } catch (err) {
      if (err instanceof MboxFormatError) throw new InvalidInputError(`${where} is ${err.message}`);
      if ((err as { name?: string }).name === 'AbortError') throw new CancelledError('The import was cancelled; nothing was written.');
      throw err;
    }
    return out;
  }
}

function pushAll<T>(into: T[], more: readonly T[]): void {
  for (const x of more) into.push(x);
  if (into.length > MAX_ITEMS) throw new InvalidInputError(`the file holds more than ${MAX_ITEMS} items; split it (nothing was written)`);
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
