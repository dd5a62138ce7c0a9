import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What the receiver answered (undefined: it never answered). */
  status: number | undefined;
}

export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A webhook receiver on 127.0.0.1 for the tests: records every request and answers with the next
 * scripted answer (default 200). 'hang' never answers.
 */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Requests received and not answered (hanging). */
  readonly open: number;
  script(...answers: Answer[]): void;
  setDefault(answer: Answer): void;
  /** Resolves when `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const queue: Answer[] = [];
  let fallback: Answer = { status: 200 };
  let open = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = queue.shift() ?? fallback;
      const record: ReceivedRequest = {
        path: req.url ?? '',
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString('utf8'),
        status: answer === 'hang' ? undefined : answer.status,
      };
      requests.push(record);
      if (answer === 'hang') {
        open++;
        res.on('close', () => open--);
      } else {
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end('ok');
      }
      for (const w of [...waiters]) if (requests.length >= w.n) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
    });
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    get open() {
      return open;
    },
    script: (...answers) => queue.push(...answers),
    setDefault: (answer) => (fallback = answer),
    waitFor: (n, timeoutMs = 10_000) =>
      requests.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`receiver got ${requests.length} of ${n} requests`)), timeoutMs);
            waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
          }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
