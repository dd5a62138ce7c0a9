import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFetch } from '../../../src/providers/nodeFetch.js';

describe('NodeFetch (the HTTP under @google/genai)', () => {
  let server: http.Server;
  let url: string;
  const { fetch } = new NodeFetch();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/echo') {
          res.writeHead(201, { 'content-type': 'application/json', 'x-seen': `${req.method} ${req.headers['x-goog-api-key']} ${req.headers['content-length']}` });
          res.end(JSON.stringify({ body }));
        } else if (req.url === '/empty') {
          res.writeHead(204).end();
        } else if (req.url === '/drop') {
          res.writeHead(200, { 'content-length': '100' });
          res.write('{"partial":');
          setTimeout(() => res.destroy(), 20);
        }
        // /hang: never answered
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends method, headers and body, and returns status, headers and body', async () => {
    const response = await fetch(`${url}/echo`, { method: 'POST', headers: { 'x-goog-api-key': 'k1', 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-seen')).toBe('POST k1 7');
    expect(await response.json()).toEqual({ body: '{"a":1}' });
    expect((await fetch(`${url}/empty`)).status).toBe(204);
  });

  it('answers read like a fetch Response: ok, text, arrayBuffer, a stream on request, a body read once', async () => {
    const call = () => fetch(`${url}/echo`, { method: 'POST', body: 'hi' });
    const a = await call();
    expect(a.ok).toBe(true);
    expect(a.bodyUsed).toBe(false);
    const copy = a.clone();
    expect(await a.text()).toBe('{"body":"hi"}');
    expect(a.bodyUsed).toBe(true);
    await expect(a.json()).rejects.toThrow(TypeError);
    expect(new TextDecoder().decode(await copy.arrayBuffer())).toBe('{"body":"hi"}');
    const b = await call();
    expect(b.body).toBe(b.body); // one stream, however often it is looked at
    expect(await new Response(b.body).text()).toBe('{"body":"hi"}');
    const empty = await fetch(`${url}/empty`);
    expect(empty.body).toBeNull();
    expect(await empty.text()).toBe('');
  });

  it('a connection dropped mid-answer is a network error, as with fetch', async () => {
    const err = (await fetch(`${url}/drop`).catch((e: unknown) => e)) as TypeError;
    expect(err).toBeInstanceOf(TypeError);
    expect(String((err.cause as Error).message)).toMatch(/closed before the response ended|aborted|socket hang up/);
  });

  it('rejects with the signal reason when cancelled, closing the connection', async () => {
    const closed = new Promise<void>((resolve) => server.once('request', (req: http.IncomingMessage) => req.socket.once('close', () => resolve())));
    const controller = new AbortController();
    const pending = fetch(`${url}/hang`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop now')), 20);
    await expect(pending).rejects.toThrow('stop now');
    await closed;
  });
});
