import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

/** One HTTP request as the fake Langfuse host saw it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Decompressed body text. */
  raw: string;
  json: unknown;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  status: { code?: number; message?: string } | undefined;
  scope: string;
}

export type ReceiverMode = 'ok' | 'unauthorized' | 'unavailable' | 'hang';

/** A node:http server on 127.0.0.1 posing as a Langfuse host; records every request. */
export class LangfuseReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly server: http.Server;
  private readonly waiters: Array<() => void> = [];

  private constructor(private readonly mode: ReceiverMode) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
        const raw = body.toString('utf8');
        let json: unknown;
        try {
          json = raw ? JSON.parse(raw) : undefined;
        } catch {
          json = undefined;
        }
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, json });
        for (const w of this.waiters.splice(0)) w();
        if (this.mode === 'hang') return; // never answer
        const status = this.mode === 'ok' ? 200 : this.mode === 'unauthorized' ? 401 : 503;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 200 ? (req.url?.includes('/scores') ? '{"id":"s"}' : '{}') : '{"message":"no"}');
      });
    });
  }

  static async start(mode: ReceiverMode = 'ok'): Promise<LangfuseReceiver> {
    const r = new LangfuseReceiver(mode);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves when `predicate` holds over the received requests (checked on each arrival). */
  async waitFor(predicate: (r: LangfuseReceiver) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`receiver: condition not met within ${timeoutMs} ms (${this.requests.length} requests)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  otlpRequests(): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === '/api/public/otel/v1/traces');
  }

  scoreRequests(): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === '/api/public/scores');
  }

  /** Every span of every OTLP/HTTP JSON request, attributes decoded to plain values. */
  spans(): OtlpSpan[] {
    return this.otlpRequests().flatMap((r) => decodeOtlpJson(r.json));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on: bind, note the port, close. */
export async function closedPortUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value: AnyValue };

function decodeValue(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

function decodeAttributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, decodeValue(kv.value)]));
}

/** Decodes an OTLP/HTTP JSON ExportTraceServiceRequest (hex ids) into flat spans. */
export function decodeOtlpJson(body: unknown): OtlpSpan[] {
  const req = body as {
    resourceSpans?: Array<{
      scopeSpans?: Array<{
        scope?: { name?: string };
        spans?: Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          attributes?: KeyValue[];
          events?: Array<{ name: string; attributes?: KeyValue[] }>;
          status?: { code?: number; message?: string };
        }>;
      }>;
    }>;
  };
  const out: OtlpSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          attributes: decodeAttributes(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: decodeAttributes(e.attributes) })),
          status: s.status,
          scope: ss.scope?.name ?? '',
        });
      }
    }
  }
  return out;
}
