import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../src/prediction/random.js';

/**
 * The protocol-neutral half of the provider emulators (Gemini, OpenAI-compatible): a real HTTP
 * server on 127.0.0.1 that records every request, answers with scripted behaviours, counts
 * requests in flight and requests whose client went away before the answer. No vitest imports:
 * benchmarks use it too.
 */

export interface RecordedRequest {
  /** 1-based arrival order. */
  id: number;
  method: string;
  /** Path without the query string, e.g. "/v1beta/models/gemini-2.5-flash:generateContent". */
  path: string;
  query: Record<string, string>;
  /** Which operation the path names, e.g. "generateContent", "countTokens", "chat.completions". */
  endpoint: string;
  /** The model the request is for (from the path for Gemini, from the body for OpenAI). */
  model: string | undefined;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body parsed as JSON, or undefined when it was empty or not JSON. */
  body: unknown;
  rawBody: string;
}

export interface OkBehaviour {
  kind: 'ok';
  /** Answer text; the emulator's default answer when absent. */
  text?: string;
  /** Token usage to report; derived from text lengths when absent. `thoughts` is Gemini-only. */
  usage?: { input: number; output: number; thoughts?: number };
  /** Raw protocol value, e.g. "STOP"/"MAX_TOKENS" (Gemini) or "stop"/"length" (OpenAI). */
  finishReason?: string;
  /** The model name the answer reports; the requested model when absent. */
  model?: string;
  delayMs?: number;
  /** The answer waits for this promise too (a test-held gate: no timing guesses). */
  release?: Promise<void>;
}

export interface ErrorBehaviour {
  kind: 'error';
  status: number;
  /** JSON body (object) or raw text (string); a protocol-typical error body when absent. */
  body?: object | string;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Any JSON body with any status, for shapes the other behaviours do not cover. */
export interface RawBehaviour {
  kind: 'raw';
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Never answers; the request ends only when the client goes away (or the emulator closes). */
export interface HangBehaviour {
  kind: 'hang';
}

/** 200 with a body that is not JSON (but claims to be). */
export interface MalformedBehaviour {
  kind: 'malformed';
  body?: string;
  delayMs?: number;
}

export type Behaviour = OkBehaviour | ErrorBehaviour | RawBehaviour | HangBehaviour | MalformedBehaviour;
export type BehaviourFn = (req: RecordedRequest) => Behaviour;

export interface FailureRate {
  /** Probability in [0, 1] that a request (not scripted by enqueue) fails. */
  rate: number;
  status: number;
}

export interface HttpEmulatorOptions {
  /** Every answer waits this long first (on top of a behaviour's own delayMs). */
  latencyMs?: number;
  /** Random failure injection for requests not scripted with enqueue(). */
  failureRate?: FailureRate;
  /** Seed of the RNG behind failureRate, so runs are reproducible. Default 1. */
  seed?: number;
}

export interface HttpResponseSpec {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a protocol (Gemini, OpenAI) plugs into the shared server. */
export interface EmulatorProtocol {
  /** Endpoint and model for a request, or undefined for an unknown route (answered 404). */
  route(method: string, path: string, body: unknown): { endpoint: string; model: string | undefined } | undefined;
  ok(req: RecordedRequest, behaviour: OkBehaviour): HttpResponseSpec;
  /** A protocol-typical error body for a status (used when a behaviour gives none). */
  errorBody(status: number, message?: string): object;
}

export interface HttpEmulator {
  /** Base URL, e.g. "http://127.0.0.1:41234" (no trailing slash). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Requests being handled right now. */
  readonly inFlight: number;
  /** The highest number of requests in flight at once since start or reset(). */
  readonly maxInFlight: number;
  /** Requests whose client connection closed before the answer was sent. */
  readonly closedEarly: number;
  /** Scripts the next requests, one behaviour per request, in order. */
  enqueue(...behaviours: Behaviour[]): void;
  /** What unscripted requests get; undefined restores the built-in default (an ok answer). */
  setDefault(behaviour: Behaviour | BehaviourFn | undefined): void;
  setLatency(ms: number): void;
  setFailureRate(rate: FailureRate | undefined, seed?: number): void;
  /** Clears recordings, counters, the queue and the default (latency and failure rate stay). */
  reset(): void;
  /** Stops listening and destroys every open socket, so nothing keeps the process alive. */
  close(): Promise<void>;
}

export async function startHttpEmulator(protocol: EmulatorProtocol, opts: HttpEmulatorOptions = {}): Promise<HttpEmulator> {
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let defaultBehaviour: Behaviour | BehaviourFn | undefined;
  let latencyMs = opts.latencyMs ?? 0;
  let failureRate = opts.failureRate;
  let random = seededRandom(opts.seed ?? 1);
  let inFlight = 0;
  let maxInFlight = 0;
  let closedEarly = 0;
  let nextId = 1;
  let closed = false;

  const choose = (req: RecordedRequest): Behaviour => {
    const scripted = queue.shift();
    if (scripted) return scripted;
    if (failureRate && random() < failureRate.rate) {
      return { kind: 'error', status: failureRate.status };
    }
    if (typeof defaultBehaviour === 'function') return defaultBehaviour(req);
    return defaultBehaviour ?? { kind: 'ok' };
  };

  const render = (req: RecordedRequest, behaviour: Exclude<Behaviour, HangBehaviour>): HttpResponseSpec => {
    switch (behaviour.kind) {
      case 'ok':
        return protocol.ok(req, behaviour);
      case 'error': {
        const body = behaviour.body ?? protocol.errorBody(behaviour.status);
        const isText = typeof body === 'string';
        return {
          status: behaviour.status,
          headers: { 'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', ...behaviour.headers },
          body: isText ? body : JSON.stringify(body),
        };
      }
      case 'raw':
        return {
          status: behaviour.status ?? 200,
          headers: { 'content-type': 'application/json; charset=utf-8', ...behaviour.headers },
          body: JSON.stringify(behaviour.body),
        };
      case 'malformed':
        return {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: behaviour.body ?? '<html><body>502 upstream said something that is not JSON</body></html>',
        };
    }
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, rawBody: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body: unknown;
    try {
      body = rawBody === '' ? undefined : (JSON.parse(rawBody) as unknown);
    } catch {
      body = undefined;
    }
    const method = req.method ?? 'GET';
    const route = protocol.route(method, url.pathname, body);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const recorded: RecordedRequest = {
      id: nextId++,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      endpoint: route?.endpoint ?? 'unknown',
      model: route?.model,
      headers,
      body,
      rawBody,
    };
    requests.push(recorded);

    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
    };
    res.on('close', () => {
      if (!res.writableFinished && !done) closedEarly++;
      finish();
    });

    const send = (spec: HttpResponseSpec) => {
      if (done || res.destroyed) return;
      res.writeHead(spec.status, { ...spec.headers, 'content-length': Buffer.byteLength(spec.body) });
      res.end(spec.body);
      res.on('finish', finish);
    };

    if (!route) {
      send({
        status: 404,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(protocol.errorBody(404, `No route for ${method} ${url.pathname}`)),
      });
      return;
    }

    let behaviour: Behaviour;
    try {
      behaviour = choose(recorded);
    } catch (err) {
      send({ status: 500, headers: { 'content-type': 'text/plain' }, body: `emulator default fn threw: ${String(err)}` });
      return;
    }
    if (behaviour.kind === 'hang') return; // answered only by the client going away or close()

    let spec: HttpResponseSpec;
    try {
      spec = render(recorded, behaviour);
    } catch (err) {
      spec = { status: 500, headers: { 'content-type': 'text/plain' }, body: `emulator failed to render: ${String(err)}` };
    }
    const answer = () => {
      const wait = latencyMs + (behaviour.delayMs ?? 0);
      if (wait <= 0) {
        send(spec);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(spec);
      }, wait);
      timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    };
    if (behaviour.kind === 'ok' && behaviour.release) void behaviour.release.then(answer);
    else answer();
  };

  const server = http.createServer((req, res) => {
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => {
      /* the close handler accounts for it */
    });
  });
  // Hundreds of concurrent benchmark requests: no artificial limits, and quick keep-alive reuse.
  server.maxHeadersCount = 0;
  server.keepAliveTimeout = 5_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', 511, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get closedEarly() {
      return closedEarly;
    },
    enqueue: (...behaviours) => {
      queue.push(...behaviours);
    },
    setDefault: (behaviour) => {
      defaultBehaviour = behaviour;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    setFailureRate: (rate, seed) => {
      failureRate = rate;
      if (seed !== undefined) random = seededRandom(seed);
    },
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      defaultBehaviour = undefined;
      maxInFlight = inFlight;
      closedEarly = 0;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
