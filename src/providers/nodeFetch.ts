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
 * compression (none is asked for), streamed request bodies.
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
          try {
            resolve(
              new Response(NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks), {
                status,
                statusText: response.statusMessage ?? '',
                headers: responseHeaders,
              }),
            );
          } catch (err) {
            reject(err);
          }
        });
      });
      request.on('error', fail);
      request.end(body);
    });
}
