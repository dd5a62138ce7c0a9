import { Transform, type TransformCallback } from 'node:stream';

/**
 * The largest JSON-RPC message the server reads. Every valid request fits (a spawn batch is
 * capped in characters, see spawn_parallel_agents); anything larger is refused on its own.
 */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

const NEWLINE = Buffer.from('\n');
/** How much of each end of a line is kept, to find the request id of a line that is dropped. */
const END_BYTES = 512;

/**
 * Stdin for the SDK's stdio transport, passed on one whole line at a time. The SDK's reader
 * closes the connection (so the server exits) on a message over its buffer limit, and grows its
 * buffer by copying it for every chunk; here a line over `maxBytes` is dropped alone, reported
 * with its first and last bytes (to answer its request id), and lines are joined once.
 */
export class BoundedLines extends Transform {
  private parts: Buffer[] = [];
  private lineBytes = 0;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxBytes: number,
    private readonly onOversize: (ends: { head: string; tail: string }, bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.keep(chunk.subarray(start, newline));
      this.endLine();
      start = newline + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    done();
  }

  private keep(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.head.length < END_BYTES) this.head = Buffer.concat([this.head, piece.subarray(0, END_BYTES - this.head.length)]);
    this.tail = piece.length >= END_BYTES ? piece.subarray(-END_BYTES) : Buffer.concat([this.tail, piece]).subarray(-END_BYTES);
    this.lineBytes += piece.length;
    // Past the limit the line's bytes are not kept: only its size is counted, to its end.
    if (this.lineBytes > this.maxBytes) this.parts = [];
    else this.parts.push(piece);
  }

  private endLine(): void {
    if (this.lineBytes > this.maxBytes) this.onOversize({ head: this.head.toString('utf8'), tail: this.tail.toString('utf8') }, this.lineBytes);
    else if (this.lineBytes > 0) this.push(Buffer.concat([...this.parts, NEWLINE]));
    this.parts = [];
    this.lineBytes = 0;
    this.head = Buffer.alloc(0);
    this.tail = Buffer.alloc(0);
  }
}

const ID_VALUE = String.raw`(-?\d+|"(?:[^"\\]|\\.){0,200}")`;
/** The top-level id as the first key (after "jsonrpc"), or as the last one (the TypeScript SDK puts it there). */
const ID_FIRST = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*` + ID_VALUE);
const ID_LAST = new RegExp(String.raw`[{,]\s*"id"\s*:\s*` + ID_VALUE + String.raw`\s*\}\s*$`);

/** The request id of a JSON-RPC message from its two ends, where clients write it. */
export function requestIdFrom(ends: { head: string; tail: string }): string | number | undefined {
  const match = ID_FIRST.exec(ends.head) ?? ID_LAST.exec(ends.tail);
  if (!match) return undefined;
  const raw = match[1]!;
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw);
}
