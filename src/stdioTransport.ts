import type { Readable, Writable } from 'node:stream';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { requestIdFrom } from './stdinLines.js';

const BOM = 0xfeff;
/**
 * Requests being worked on at once, at most; past it stdin waits. Each answer waits in memory
 * while stdout is full, so this bounds that memory (a 64 KiB chunk holds ~600 small requests).
 * Far above what a host runs in parallel (agents run many per call, not many calls).
 */
export const MAX_IN_FLIGHT_REQUESTS = 64;
const ID_ENDS = 512;

/**
 * The MCP stdio transport over whole lines (see BoundedLines), with two things the SDK's
 * StdioServerTransport does not do:
 * - every request with a readable id is answered: a line that is not JSON gets -32700, a JSON
 *   request that is not valid JSON-RPC gets -32600, both to that id (the SDK drops them, and the
 *   client waits forever). A UTF-8 BOM before a message is ignored.
 * - back-pressure: while stdout's buffer is full (write() returned false), or
 *   MAX_IN_FLIGHT_REQUESTS requests are unanswered, no more lines are read, so a client that
 *   stops reading our answers stops our work instead of growing our memory.
 */
export class StdioLineTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  private blocked = false;
  private drainWaiters: Array<() => void> = [];
  private closed = false;
  /** Ids of requests passed on and not yet answered (a cancelled one gets no answer: removed then). */
  private readonly inFlight = new Set<string | number>();

  constructor(
    private readonly lines: Readable,
    private readonly stdout: Writable,
  ) {}

  private readonly onLine = (chunk: Buffer | string) => {
    let text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.charCodeAt(0) === BOM) text = text.slice(1);
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const id = requestIdFrom({ head: text.slice(0, ID_ENDS), tail: text.slice(-ID_ENDS) });
      this.refuse(id, ErrorCode.ParseError, `Parse error: the message is not JSON (${(err as Error).message}). Send one JSON-RPC message per line.`);
      return;
    }
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) {
      const message = value as { id?: unknown; result?: unknown; error?: unknown } | null;
      const id = message !== null && typeof message === 'object' && (typeof message.id === 'string' || typeof message.id === 'number') ? message.id : undefined;
      // A malformed answer (to our sampling request) is not answered back: responses get no response.
      const isResponse = message !== null && typeof message === 'object' && ('result' in message || 'error' in message);
      this.refuse(isResponse ? undefined : id, ErrorCode.InvalidRequest, `Invalid Request: ${whatIsWrong(value)}.`);
      return;
    }
    const message = parsed.data;
    if ('method' in message) {
      if ('id' in message) {
        this.inFlight.add(message.id);
        if (this.inFlight.size >= MAX_IN_FLIGHT_REQUESTS) this.lines.pause();
      } else if (message.method === 'notifications/cancelled') {
        this.settled((message.params as { requestId?: string | number } | undefined)?.requestId);
      }
    }
    this.onmessage?.(message);
  };

  private get reading(): boolean {
    return !this.closed && !this.blocked && this.inFlight.size < MAX_IN_FLIGHT_REQUESTS;
  }

  private settled(id: string | number | undefined): void {
    if (id !== undefined && this.inFlight.delete(id) && this.reading && this.lines.isPaused()) this.lines.resume();
  }

  private readonly onDrain = () => {
    this.blocked = false;
    if (this.reading) this.lines.resume();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  };

  private readonly onStreamError = (err: Error) => this.onerror?.(err);

  private refuse(id: string | number | undefined, code: number, message: string): void {
    this.onerror?.(new Error(message));
    if (id !== undefined) this.send({ jsonrpc: '2.0', id, error: { code, message } }).catch(() => {});
  }

  async start(): Promise<void> {
    this.lines.on('data', this.onLine);
    this.lines.on('error', this.onStreamError);
    this.stdout.on('drain', this.onDrain);
  }

  /** Resolves once the message is in stdout's buffer below its high-water mark (as the SDK's does). */
  send(message: JSONRPCMessage): Promise<void> {
    if (!('method' in message) && 'id' in message) this.settled(message.id);
    if (this.stdout.write(serializeMessage(message)) && !this.blocked) return Promise.resolve();
    if (!this.blocked) {
      this.blocked = true;
      this.lines.pause();
    }
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lines.off('data', this.onLine);
    this.lines.off('error', this.onStreamError);
    this.stdout.off('drain', this.onDrain);
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    this.onclose?.();
  }
}

/** The first thing that keeps `value` from being a JSON-RPC 2.0 message, in the words of the spec. */
function whatIsWrong(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a message must be a JSON object (batches are not supported)';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  if ('method' in m && typeof m.method !== 'string') return 'method must be a string';
  if ('id' in m && typeof m.id !== 'string' && typeof m.id !== 'number') return 'id must be a string or a number';
  if ('params' in m && (m.params === null || typeof m.params !== 'object')) return 'params must be an object';
  return 'expected a request {jsonrpc, id, method, params?}, a notification {jsonrpc, method, params?} or a response';
}
