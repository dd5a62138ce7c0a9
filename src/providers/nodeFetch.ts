import http from 'node:http';
import https from 'node:https';

/** Statuses whose Response must have no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A fetch for @google/genai (its `httpOptions.fetch`) over node:http with keep-alive pools.
 * Node's own fetch spends about 0.25 ms of CPU per request on WHATWG stream and header plumbing;
 * when twenty agents finish at once that CPU queues up and every one of them waits (see
 * bench/agents.ts). What the API needs is kept: methods, headers, string bodies, http and https,
 * cancellation (the connection is closed, so the server sees it). Not needed, not done: redirects,
 * compression (none is asked for), streamed request bodies. Answers come back as a BufferedResponse.
 */
export class NodeFetch {
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };

  readonly fetch: FetchLike = (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const agent = this.agents[url.protocol as keyof typeof this.agents];
      if (!agent) throw new TypeError(`unsupported protocol ${url.protocol} in ${url.origin}`);
      const body = init.body ?? undefined;
      if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        throw new TypeError('only string or byte request bodies are supported');
      }
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => (headers[name] = value));
      const signal = init.signal ?? undefined;
      // As fetch does: a cancelled call rejects with the signal's reason, a network failure with
      // TypeError('fetch failed', {cause}), which is what callers tell network errors by.
      const fail = (cause: unknown) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause }));
      const send = url.protocol === 'https:' ? https.request : http.request;
      const request = send(url, { method: init.method ?? 'GET', headers, agent, ...(signal && { signal }) }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('close', () => {
          // Closed before its end: the connection dropped, or the caller aborted mid-body.
          if (!response.complete) fail(new Error('the connection closed before the response ended'));
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          const bytes = NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks);
          resolve(new BufferedResponse(bytes, status, response.statusMessage ?? '', responseHeaders, url.href) as unknown as Response);
        });
      });
      request.on('error', fail);
      request.end(body);
    });
}

/**
 * The part of a fetch Response the SDK reads (ok, status, headers, text/json/arrayBuffer, body),
 * over a body already read whole. undici's Response wraps every body in a WHATWG ReadableStream,
 * about 50 µs of CPU per answer on the path where twenty answers queue for the main thread; here
 * a stream is made only for a caller that asks for `body`.
 */
export class BufferedResponse {
  readonly ok: boolean;
  readonly redirected = false;
  readonly type = 'basic';
  private used = false;
  private stream: ReadableStream<Uint8Array> | null = null;

  constructor(
    private readonly bytes: Buffer | null,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    readonly url: string,
  ) {
    this.ok = status >= 200 && status <= 299;
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  /** Made on first access, the same stream after that (as with fetch, looking does not read it). */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.bytes === null) return null;
    this.stream ??= new Response(this.bytes).body;
    return this.stream;
  }

  async text(): Promise<string> {
    return this.consume().toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = this.consume();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  clone(): BufferedResponse {
    if (this.used) throw new TypeError('Response.clone: Body has already been consumed.');
    return new BufferedResponse(this.bytes, this.status, this.statusText, this.headers, this.url);
  }

  /** As with fetch, a body is read once. */
  private consume(): Buffer {
    if (this.used) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    return this.bytes ?? Buffer.alloc(0);
  }
}
