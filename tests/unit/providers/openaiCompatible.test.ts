import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { mapOpenAIFinishReason, OpenAICompatibleProvider } from '../../../src/providers/openaiCompatible.js';
import { waitFor } from '../../helpers/wait.js';
import { rejectionOf } from '../../helpers/failures.js';
import { openaiRateLimited, openaiServerError, startOpenAIEmulator, type OpenAIEmulator } from '../../helpers/openaiEmulator.js';

const API_KEY = 'sk-test-0123456789abcdefghijklmnop';
const MODEL = 'llama3.1:8b';

let emulator: OpenAIEmulator;
let provider: OpenAICompatibleProvider;

beforeAll(async () => {
  emulator = await startOpenAIEmulator();
  provider = new OpenAICompatibleProvider({ apiKey: API_KEY, baseUrl: `${emulator.url}/v1`, logger: silentLogger });
});
afterEach(() => emulator.reset());
afterAll(() => emulator.close());

const failure = (promise: Promise<unknown>) => rejectionOf(promise, ProviderError);

describe('OpenAICompatibleProvider request shape', () => {
  it('posts system + user messages, sampling settings and the bearer key to /v1/chat/completions', async () => {
    await provider.generate({ model: MODEL, prompt: 'Say hi', system: 'Be brief.', temperature: 0.3, maxOutputTokens: 50 });
    const req = emulator.requests[0]!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.model).toBe(MODEL);
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.body).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hi' },
      ],
      temperature: 0.3,
      max_tokens: 50,
    });
  });

  it('asks for json_schema output when a schema is given', async () => {
    const schema = { type: 'object', properties: { ok: { type: 'boolean' }, n: { type: 'integer' } }, required: ['ok', 'n'] };
    const result = await provider.generate({ model: MODEL, prompt: 'x', responseSchema: schema });
    expect((emulator.requests[0]!.body as Record<string, unknown>).response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'response', schema },
    });
    expect(JSON.parse(result.text)).toEqual({ ok: true, n: 1 });
  });

  it('works without an API key (local servers)', async () => {
    const local = new OpenAICompatibleProvider({ baseUrl: `${emulator.url}/v1`, logger: silentLogger });
    const result = await local.generate({ model: MODEL, prompt: 'hello' });
    expect(result.text).toBe('echo: hello');
    expect(emulator.requests[0]!.body).toMatchObject({ messages: [{ role: 'user', content: 'hello' }] });
  });

  it('sends one request per call even on a retryable failure (maxRetries 0)', async () => {
    emulator.enqueue(openaiServerError(503), openaiServerError(503));
    await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(emulator.requests).toHaveLength(1);
  });
});

describe('OpenAICompatibleProvider results', () => {
  it('returns text, usage and the reported model', async () => {
    emulator.enqueue({ kind: 'ok', text: 'Hi!', usage: { input: 21, output: 4 }, model: 'llama3.1:8b-instruct-q4' });
    expect(await provider.generate({ model: MODEL, prompt: 'x' })).toEqual({
      text: 'Hi!',
      usage: { inputTokens: 21, outputTokens: 4 },
      finishReason: 'stop',
      providerFinishReason: 'stop',
      model: 'llama3.1:8b-instruct-q4',
    });
  });

  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['content_filter', 'safety'],
    ['tool_calls', 'other'],
  ])('maps finish_reason %s to %s', async (raw, mapped) => {
    emulator.enqueue({ kind: 'ok', text: 't', finishReason: raw });
    expect((await provider.generate({ model: MODEL, prompt: 'x' })).finishReason).toBe(mapped);
    expect(mapOpenAIFinishReason(raw)).toBe(mapped);
  });

  it('no choices -> malformed', async () => {
    emulator.enqueue({ kind: 'raw', body: { id: 'x', object: 'chat.completion', choices: [] } });
    expect((await failure(provider.generate({ model: MODEL, prompt: 'x' }))).kind).toBe('malformed');
  });

  it('a billed answer without text -> malformed, carrying the usage it was billed', async () => {
    emulator.enqueue({
      kind: 'raw',
      body: { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop' }], usage: { prompt_tokens: 40, completion_tokens: 900 } },
    });
    expect(await failure(provider.generate({ model: MODEL, prompt: 'x' }))).toMatchObject({ kind: 'malformed', billedUsage: { inputTokens: 40, outputTokens: 900 } });
  });

  it('a 200 body that is not JSON -> malformed', async () => {
    emulator.enqueue({ kind: 'malformed' });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'malformed', retryable: false });
  });
});

describe('OpenAICompatibleProvider usage as the server reports it', () => {
  const answer = (usage: Record<string, unknown>, model: unknown = MODEL) => ({
    kind: 'raw' as const,
    body: { id: 'x', object: 'chat.completion', model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage },
  });

  it('rounds fractional token counts and reads numeric strings', async () => {
    emulator.enqueue(answer({ prompt_tokens: '7', completion_tokens: 2.6 }));
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 3 });
  });

  it('treats negative or unreadable counts as unknown (0)', async () => {
    emulator.enqueue(answer({ prompt_tokens: -1, completion_tokens: 'many' }));
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it('reports the requested model when the answer names none usable', async () => {
    emulator.enqueue(answer({ prompt_tokens: 1, completion_tokens: 1 }, 12));
    expect((await provider.generate({ model: MODEL, prompt: 'x' })).model).toBe(MODEL);
  });
});

describe('OpenAICompatibleProvider errors', () => {
  it('429 with Retry-After seconds -> http 429, retryAfterMs, retryable', async () => {
    emulator.enqueue(openaiRateLimited(3));
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'http', status: 429, retryAfterMs: 3000, retryable: true, provider: 'OpenAI-compatible' });
    expect(err.message).toContain(MODEL);
    expect(err.message).toContain('429');
    expect(err.message).toContain('Rate limit reached');
  });

  it('Retry-After as an HTTP date', async () => {
    emulator.enqueue(openaiRateLimited(new Date(Date.now() + 30_000).toUTCString()));
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it.each([
    [503, true],
    [500, true],
    [400, false],
    [401, false],
  ])('HTTP %i -> retryable=%s', async (status, retryable) => {
    emulator.enqueue({ kind: 'error', status });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'http', status, retryable });
    expect(err.retryAfterMs).toBeUndefined();
  });

  it('connection refused -> network, retryable', async () => {
    const dead = await startOpenAIEmulator();
    const url = dead.url;
    await dead.close();
    const p = new OpenAICompatibleProvider({ apiKey: API_KEY, baseUrl: `${url}/v1`, logger: silentLogger });
    const err = await failure(p.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'network', retryable: true });
    expect(err.message).not.toContain(API_KEY);
  });

  it('abort rejects quickly with kind aborted and closes the HTTP connection', async () => {
    emulator.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = provider.generate({ model: MODEL, prompt: 'x', signal: controller.signal });
    let settled = false;
    void pending.catch(() => undefined).finally(() => (settled = true));
    await waitFor(() => emulator.inFlight === 1);
    // Order, not elapsed time: the hang never answers, so only the abort can settle the call.
    expect(settled).toBe(false);
    controller.abort();
    const err = await failure(pending);
    expect(err.kind).toBe('aborted');
    await waitFor(() => emulator.closedEarly === 1);
  });

  it('leaves no abort listener behind on a long-lived caller signal', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 12; i++) await provider.generate({ model: MODEL, prompt: `n${i}`, signal: controller.signal });
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('never puts the API key in error messages, even when the server echoes it', async () => {
    emulator.enqueue({ kind: 'error', status: 401, body: { error: { message: `Incorrect API key provided: ${API_KEY}` } } });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.status).toBe(401);
    expect(err.message).toContain('Incorrect API key provided');
    expect(err.message).not.toContain(API_KEY);
  });
});
