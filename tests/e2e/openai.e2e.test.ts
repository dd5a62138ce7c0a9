import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { messagesOf, openaiServerError, startOpenAIEmulator, type OpenAIEmulator } from '../helpers/openaiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';


const OPENAI_KEY = 'sk-e2eTESTkey0123456789abcdefghij';

/** provider "openai_compatible" through the built server against the OpenAI-compatible emulator. */
describe('provider openai_compatible over stdio', () => {
  let emulator: OpenAIEmulator;
  let server: StartedServer;

  const spawn = toolCalls(() => server.client);
  const ok = async (args: Record<string, unknown>): Promise<Structured> => (await spawn.ok('spawn_agent', args)).result as Structured;
  const errorText = (args: Record<string, unknown>) => spawn.errorText('spawn_agent', args);

  beforeAll(async () => {
    emulator = await startOpenAIEmulator();
    server = await startServer({
      TASK_ORCHESTRATOR_HOME: makeTempDir(),
      OPENAI_BASE_URL: `${emulator.url}/v1`,
      OPENAI_MODEL: 'llama3.2',
      OPENAI_API_KEY: OPENAI_KEY,
      TASK_ORCHESTRATOR_RETRY_MAX: '2',
      TASK_ORCHESTRATOR_RETRY_BASE_MS: '20',
      TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '100',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await emulator?.close();
  });
  beforeEach(() => {
    emulator.reset();
  });

  it('model "auto" uses OPENAI_MODEL: one chat completion with the right model, messages and limits', async () => {
    emulator.enqueue({ kind: 'ok', text: 'Lisbon is the capital of Portugal.', usage: { input: 42, output: 9 } });
    const result = await ok({
      prompt: 'What is the capital of Portugal?',
      system: 'Answer in one sentence.',
      provider: 'openai_compatible',
      temperature: 0.1,
      max_output_tokens: 64,
      graders: [{ type: 'contains', values: ['Lisbon'] }],
    });
    expect(emulator.requests).toHaveLength(1);
    const req = emulator.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(req.body).toMatchObject({
      model: 'llama3.2',
      messages: [
        { role: 'system', content: 'Answer in one sentence.' },
        { role: 'user', content: 'What is the capital of Portugal?' },
      ],
      temperature: 0.1,
      max_tokens: 64,
    });
    expect((req.body as Structured).stream ?? false).toBe(false);

    expect(result).toMatchObject({
      status: 'passed',
      passed: true,
      provider: 'openai_compatible',
      model: 'llama3.2',
      text: 'Lisbon is the capital of Portugal.',
      input_tokens: 42,
      output_tokens: 9,
      attempts: 1,
      escalated: false,
    });
    expect(result.model_reason).toMatch(/default model/);
    expect(result.graders).toEqual([expect.objectContaining({ type: 'contains', pass: true, status: 'graded' })]);
  });

  it('an explicit model and a response schema become model and response_format', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
    const result = await ok({ prompt: 'What is 6 times 7?', provider: 'openai_compatible', model: 'qwen2.5:7b', response_schema: schema });
    const body = emulator.requests[0]!.body as Structured;
    expect(body.model).toBe('qwen2.5:7b');
    expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });
    expect(messagesOf(emulator.requests[0]!, 'system')).toBe('');
    expect(result.model).toBe('qwen2.5:7b');
    expect(result.json).toEqual({ answer: 1 });
  });

  it('a 503 is retried by our layer once and then answers; the openai library itself never retries', async () => {
    emulator.enqueue(openaiServerError(503), { kind: 'ok', text: 'fine now' });
    const result = await ok({ prompt: 'hello', provider: 'openai_compatible' });
    expect(result).toMatchObject({ status: 'passed', text: 'fine now', attempts: 2 });
    expect(emulator.requests).toHaveLength(2);
    // The library numbers its own retries in this header: every request is its first try.
    expect(emulator.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '0']);
  });

  it('a lasting 503 costs exactly 1 + TASK_ORCHESTRATOR_RETRY_MAX requests, then an error naming the status', async () => {
    emulator.setDefault(openaiServerError(503, 'model is loading'));
    const text = await errorText({ prompt: 'hello', provider: 'openai_compatible', model: 'flaky-model' });
    expect(emulator.requests).toHaveLength(3);
    expect(text).toMatch(/503/);
    expect(text).toMatch(/model is loading/);
    expect(text).not.toContain(OPENAI_KEY);
  });

  it('a 400 is not retried and its message reaches the caller without the key or a stack', async () => {
    emulator.enqueue({ kind: 'error', status: 400, body: { error: { message: `bad request for key ${OPENAI_KEY}`, type: 'invalid_request_error' } } });
    const text = await errorText({ prompt: 'hello', provider: 'openai_compatible', model: 'strict-model' });
    expect(emulator.requests).toHaveLength(1);
    expect(text).toMatch(/400/);
    expect(text).toMatch(/bad request/);
    expect(text).not.toContain(OPENAI_KEY);
    expect(text).not.toMatch(/\n\s+at /);
  });
});

describe('provider openai_compatible misconfigured', () => {
  it('without OPENAI_BASE_URL says what to set; auto without OPENAI_MODEL asks for a model', async () => {
    const emulator = await startOpenAIEmulator();
    const bare = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir() });
    const noModel = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir(), OPENAI_BASE_URL: `${emulator.url}/v1` });
    try {
      const a = (await bare.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'hi', provider: 'openai_compatible', model: 'x' } })) as CallToolResult;
      expect(a.isError).toBe(true);
      expect((a.content[0] as { text: string }).text).toMatch(/OPENAI_BASE_URL/);
      const b = (await noModel.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'hi', provider: 'openai_compatible' } })) as CallToolResult;
      expect(b.isError).toBe(true);
      expect((b.content[0] as { text: string }).text).toMatch(/OPENAI_MODEL/);
      expect(emulator.requests).toHaveLength(0);
    } finally {
      await Promise.all([bare.stop(), noModel.stop()]);
      await emulator.close();
    }
  });
});
