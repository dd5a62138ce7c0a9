import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { GeminiProvider, mapGeminiFinishReason, parseGoogleError } from '../../../src/providers/gemini.js';
import {
  badRequest,
  quotaExhaustedPerDay,
  rateLimited,
  serverError,
  startGeminiEmulator,
  type GeminiEmulator,
} from '../../helpers/geminiEmulator.js';
import { waitFor } from '../../helpers/wait.js';
import { rejectionOf } from '../../helpers/failures.js';
import { TEST_API_KEY } from '../../helpers/keys.js';

const API_KEY = TEST_API_KEY;
const MODEL = 'gemini-2.5-flash';

let emulator: GeminiEmulator;
let provider: GeminiProvider;

beforeAll(async () => {
  emulator = await startGeminiEmulator();
  provider = new GeminiProvider({ apiKey: API_KEY, baseUrl: emulator.url, logger: silentLogger });
});
afterEach(() => emulator.reset());
afterAll(() => emulator.close());

const failure = (promise: Promise<unknown>) => rejectionOf(promise, ProviderError);

describe('GeminiProvider request shape', () => {
  it('sends model path, API key header, system instruction and generation config', async () => {
    await provider.generate({ model: MODEL, prompt: 'Say hi', system: 'Be brief.', temperature: 0.2, maxOutputTokens: 64 });

    expect(emulator.requests).toHaveLength(1);
    const req = emulator.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(req.model).toBe(MODEL);
    expect(req.headers['x-goog-api-key']).toBe(API_KEY);
    expect(req.query).toEqual({});
    expect(req.body).toMatchObject({
      contents: [{ role: 'user', parts: [{ text: 'Say hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0.2, maxOutputTokens: 64 },
    });
    const config = (req.body as { generationConfig: Record<string, unknown> }).generationConfig;
    expect(config).not.toHaveProperty('responseMimeType');
  });

  it('omits systemInstruction and generation settings that were not given', async () => {
    await provider.generate({ model: MODEL, prompt: 'plain' });
    const body = emulator.requests[0]!.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('systemInstruction');
    expect((body.generationConfig ?? {}) as object).not.toHaveProperty('temperature');
  });

  it('asks for JSON with the raw JSON Schema in responseJsonSchema and returns conforming text', async () => {
    const schema = {
      type: 'object',
      properties: { verdict: { type: 'string' }, score: { type: 'number' }, pass: { type: 'boolean' } },
      required: ['verdict', 'score', 'pass'],
    };
    const result = await provider.generate({ model: MODEL, prompt: 'Grade this', responseSchema: schema });

    const config = (emulator.requests[0]!.body as { generationConfig: Record<string, unknown> }).generationConfig;
    expect(config.responseMimeType).toBe('application/json');
    expect(config.responseJsonSchema).toEqual(schema);
    expect(config).not.toHaveProperty('responseSchema');
    const parsed = JSON.parse(result.text) as Record<string, unknown>;
    expect(typeof parsed.verdict).toBe('string');
    expect(typeof parsed.score).toBe('number');
    expect(typeof parsed.pass).toBe('boolean');
  });

  it('never takes its endpoint from GOOGLE_GEMINI_BASE_URL, which the SDK would read if left unset', async () => {
    const saved = process.env.GOOGLE_GEMINI_BASE_URL;
    process.env.GOOGLE_GEMINI_BASE_URL = emulator.url;
    try {
      const p = new GeminiProvider({ apiKey: API_KEY, logger: silentLogger });
      const signal = AbortSignal.timeout(1_000);
      await p.generate({ model: 'gemini-2.5-flash', prompt: 'hi', signal }).catch(() => undefined);
      expect(emulator.requests).toHaveLength(0);
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_GEMINI_BASE_URL;
      else process.env.GOOGLE_GEMINI_BASE_URL = saved;
    }
  });

  it('sends exactly one request per call (no SDK retry, no automatic continuation)', async () => {
    emulator.enqueue(serverError(503));
    await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(emulator.requests).toHaveLength(1);

    emulator.reset();
    // A continuation checkpoint: the SDK would send a second request by default.
    emulator.enqueue({
      kind: 'raw',
      body: {
        candidates: [{ content: { parts: [{ text: 'part 1' }] }, finishReason: 'CONTINUATION', continuationToken: 'Y29udGludWU=' }],
        usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2 },
      },
    });
    emulator.enqueue({ kind: 'ok', text: 'should never be asked for' });
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(emulator.requests).toHaveLength(1);
    expect(result).toMatchObject({ text: 'part 1', finishReason: 'length' });
  });
});

describe('GeminiProvider results', () => {
  it('returns text, usage (thinking tokens billed as output) and the reported model', async () => {
    emulator.enqueue({ kind: 'ok', text: 'Hello there', usage: { input: 12, output: 3, thoughts: 40 }, model: 'gemini-2.5-flash-001' });
    const result = await provider.generate({ model: MODEL, prompt: 'Say hi' });
    expect(result).toEqual({
      text: 'Hello there',
      usage: { inputTokens: 12, outputTokens: 43 },
      finishReason: 'stop',
      providerFinishReason: 'STOP',
      model: 'gemini-2.5-flash-001',
    });
  });

  it('answers the default echo when nothing is scripted', async () => {
    const result = await provider.generate({ model: MODEL, prompt: 'ping' });
    expect(result.text).toBe('echo: ping');
    expect(result.usage.inputTokens).toBe(1);
    expect(result.model).toBe(MODEL);
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'safety'],
    ['RECITATION', 'safety'],
    ['BLOCKLIST', 'safety'],
    ['PROHIBITED_CONTENT', 'safety'],
    ['OTHER', 'other'],
    ['MALFORMED_FUNCTION_CALL', 'other'],
  ])('maps finishReason %s to %s over HTTP', async (raw, mapped) => {
    emulator.enqueue({ kind: 'ok', text: 'partial', finishReason: raw });
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.finishReason).toBe(mapped);
  });

  it('maps a missing finishReason to other', () => {
    expect(mapGeminiFinishReason(undefined)).toBe('other');
  });

  it('returns empty text with finishReason length when thinking used the whole output budget', async () => {
    emulator.enqueue({
      kind: 'raw',
      body: { candidates: [{ content: { role: 'model' }, finishReason: 'MAX_TOKENS' }], usageMetadata: { promptTokenCount: 5, thoughtsTokenCount: 64 } },
    });
    const result = await provider.generate({ model: MODEL, prompt: 'x', maxOutputTokens: 64 });
    expect(result).toMatchObject({ text: '', finishReason: 'length', usage: { inputTokens: 5, outputTokens: 64 } });
  });

  it('reports a blocked prompt as safety', async () => {
    emulator.enqueue({ kind: 'raw', body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 9 } } });
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result).toMatchObject({ text: '', finishReason: 'safety', providerFinishReason: 'SAFETY', usage: { inputTokens: 9, outputTokens: 0 } });
  });

  it('skips thought parts in the answer text', async () => {
    emulator.enqueue({
      kind: 'raw',
      body: {
        candidates: [{ content: { parts: [{ text: 'thinking...', thought: true }, { text: 'answer' }] }, finishReason: 'STOP' }],
        usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1 },
      },
    });
    expect((await provider.generate({ model: MODEL, prompt: 'x' })).text).toBe('answer');
  });

  it('counts tokens through countTokens, including the system text', async () => {
    emulator.enqueue({ kind: 'ok', usage: { input: 123, output: 0 } });
    const n = await provider.countTokens({ model: MODEL, prompt: 'the prompt', system: 'the system' });
    expect(n).toBe(123);
    const req = emulator.requests[0]!;
    expect(req.path).toBe(`/v1beta/models/${MODEL}:countTokens`);
    expect(req.headers['x-goog-api-key']).toBe(API_KEY);
    expect(JSON.stringify(req.body)).toContain('the system');
    expect(JSON.stringify(req.body)).toContain('the prompt');
  });
});

describe('GeminiProvider usage as the provider reports it', () => {
  const answer = (usageMetadata: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    kind: 'raw' as const,
    body: { candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' }], usageMetadata, ...extra },
  });

  it('rounds fractional token counts to whole tokens', async () => {
    emulator.enqueue(answer({ promptTokenCount: 12.6, candidatesTokenCount: 3.2, thoughtsTokenCount: 1.1 }));
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.usage).toEqual({ inputTokens: 13, outputTokens: 4 });
  });

  it('reads token counts sent as numeric strings', async () => {
    emulator.enqueue(answer({ promptTokenCount: '7', candidatesTokenCount: ' 3 ', thoughtsTokenCount: '2.4' }));
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 5 });
  });

  it('treats negative or unreadable counts as unknown (0)', async () => {
    emulator.enqueue(answer({ promptTokenCount: -5, candidatesTokenCount: 'lots', thoughtsTokenCount: { n: 1 } }));
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it.each([[12], [''], [null], [{ name: 'm' }]])('reports the requested model when modelVersion is %j', async (modelVersion) => {
    emulator.enqueue(answer({ promptTokenCount: 1, candidatesTokenCount: 1 }, { modelVersion }));
    const result = await provider.generate({ model: MODEL, prompt: 'x' });
    expect(result.model).toBe(MODEL);
  });
});

describe('GeminiProvider errors', () => {
  it('429 with RetryInfo -> http 429, retryAfterMs 1000, retryable, no quota', async () => {
    emulator.enqueue(rateLimited(1));
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'http', status: 429, retryAfterMs: 1000, retryable: true, provider: 'Gemini', model: MODEL });
    expect(err.quota).toBeUndefined();
    expect(err.message).toContain('Gemini');
    expect(err.message).toContain(MODEL);
    expect(err.message).toContain('429');
    expect(err.message).toContain('Resource has been exhausted');
  });

  it.each([
    ['0.5s', 500],
    ['1.5s', 1500],
    ['30s', 30000],
  ])('parses retryDelay %s as %i ms', async (delay, ms) => {
    emulator.enqueue({
      kind: 'error',
      status: 429,
      body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'slow down', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: delay }] } },
    });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.retryAfterMs).toBe(ms);
  });

  it('per-day quota -> quota.perDay true with the quota id and RetryInfo delay', async () => {
    emulator.enqueue(quotaExhaustedPerDay({ retryDelaySeconds: 20 }));
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.status).toBe(429);
    expect(err.quota).toEqual({ id: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', perDay: true });
    expect(err.retryAfterMs).toBe(20_000);
    expect(err.message.length).toBeLessThan(400);
    expect(err.message).not.toContain('\n');
  });

  it('per-minute quota -> quota.perDay false', async () => {
    emulator.enqueue(quotaExhaustedPerDay({ quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }));
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.quota).toEqual({ id: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', perDay: false });
  });

  it.each([
    [503, true, serverError(503)],
    [500, true, serverError(500)],
    [504, true, serverError(504)],
    [400, false, badRequest('Invalid JSON payload')],
    [403, false, { kind: 'error' as const, status: 403 }],
    [404, false, { kind: 'error' as const, status: 404 }],
  ])('HTTP %i -> retryable=%s', async (status, retryable, behaviour) => {
    emulator.enqueue(behaviour);
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'http', status, retryable, code: 'provider_error' });
  });

  it('reads a Retry-After header (seconds) on a 503', async () => {
    emulator.enqueue({ kind: 'error', status: 503, headers: { 'retry-after': '7' } });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.retryAfterMs).toBe(7000);
  });

  it('reads a Retry-After header given as an HTTP date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    emulator.enqueue({ kind: 'error', status: 503, headers: { 'retry-after': at } });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.retryAfterMs).toBeGreaterThan(55_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('keeps the status when the error body is plain text', async () => {
    emulator.enqueue({ kind: 'error', status: 502, body: 'Bad Gateway from the proxy' });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'http', status: 502, retryable: true });
    expect(err.message).toContain('Bad Gateway from the proxy');
  });

  it('malformed 200 body -> kind malformed, not retryable', async () => {
    emulator.enqueue({ kind: 'malformed' });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'malformed', retryable: false });
  });

  it.each([
    ['no candidates', { usageMetadata: { promptTokenCount: 1 } }],
    ['a STOP candidate without text', { candidates: [{ content: { parts: [] }, finishReason: 'STOP' }] }],
  ])('%s -> kind malformed', async (_name, body) => {
    emulator.enqueue({ kind: 'raw', body });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
    expect(err.kind).toBe('malformed');
  });

  it('connection refused -> kind network, retryable', async () => {
    const dead = await startGeminiEmulator();
    const url = dead.url;
    await dead.close();
    const p = new GeminiProvider({ apiKey: API_KEY, baseUrl: url, logger: silentLogger });
    const err = await failure(p.generate({ model: MODEL, prompt: 'x' }));
    expect(err).toMatchObject({ kind: 'network', retryable: true });
    expect(err.message).toContain('ECONNREFUSED');
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
    expect(err).toMatchObject({ kind: 'aborted', retryable: false });
    await waitFor(() => emulator.closedEarly === 1);
    expect(emulator.inFlight).toBe(0);
  });

  it('an already-aborted signal sends nothing', async () => {
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x', signal: AbortSignal.abort() }));
    expect(err.kind).toBe('aborted');
    expect(emulator.requests).toHaveLength(0);
  });

  it('a timeout abort is reported as kind timeout (retryable)', async () => {
    emulator.enqueue({ kind: 'hang' });
    const err = await failure(provider.generate({ model: MODEL, prompt: 'x', signal: AbortSignal.timeout(50) }));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    await waitFor(() => emulator.closedEarly === 1);
  });

  it('leaves no abort listener behind on a long-lived caller signal', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 15; i++) await provider.generate({ model: MODEL, prompt: `n${i}`, signal: controller.signal });
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('never puts the API key in error messages, even when the server echoes it', async () => {
    const echoes = [
      badRequest(`API key not valid: ${API_KEY}`),
      { kind: 'error' as const, status: 401, body: `bad key ${API_KEY}` },
      rateLimited(1),
      { kind: 'malformed' as const, body: `not json ${API_KEY}` },
    ];
    for (const behaviour of echoes) {
      emulator.enqueue(behaviour);
      const err = await failure(provider.generate({ model: MODEL, prompt: 'x' }));
      expect(err.message).not.toContain(API_KEY);
      expect(JSON.stringify(err.details)).not.toContain(API_KEY);
    }
    const dead = new GeminiProvider({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:1', logger: silentLogger });
    const err = await failure(dead.generate({ model: MODEL, prompt: 'x' }));
    expect(err.message).not.toContain(API_KEY);
  });
});

describe('parseGoogleError', () => {
  it('prefers a per-day quota when several violations are listed', () => {
    const parsed = parseGoogleError({
      error: {
        message: 'm',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [{ quotaId: 'GenerateRequestsPerMinutePerProjectPerModel' }, { quotaId: 'GenerateRequestsPerDayPerProjectPerModel' }],
          },
        ],
      },
    });
    expect(parsed.quota).toEqual({ id: 'GenerateRequestsPerDayPerProjectPerModel', perDay: true });
  });

  it('tolerates bodies that are not Google errors', () => {
    expect(parseGoogleError(undefined)).toEqual({ message: undefined, status: undefined, retryAfterMs: undefined, quota: undefined });
    expect(parseGoogleError({ error: { details: 'nope' } }).quota).toBeUndefined();
  });
});
