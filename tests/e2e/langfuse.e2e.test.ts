import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startGeminiEmulator, type GeminiEmulator } from '../helpers/geminiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { startServer } from '../helpers/serverProcess.js';
import { closedPortUrl, LangfuseReceiver, type OtlpSpan } from '../unit/tracing/langfuseReceiver.js';

type Structured = Record<string, any>;

const PUBLIC_KEY = 'pk-lf-e2e-0123456789';
const SECRET_KEY = 'sk-lf-e2e-abcdefghij';
const GEMINI_KEY = 'AIzaSyLANGFUSEtestKEY0123456789abcdefgh';

const attr = (span: OtlpSpan, key: string) => span.attributes[key];

/** Langfuse tracing from the real server process: OTLP/HTTP to a local receiver posing as Langfuse. */
describe('Langfuse tracing from the stdio server', () => {
  let emulator: GeminiEmulator;

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });

  const env = (baseUrl: string) => ({
    TASK_ORCHESTRATOR_HOME: makeTempDir(),
    GEMINI_API_KEY: GEMINI_KEY,
    GEMINI_BASE_URL: emulator.url,
    LANGFUSE_PUBLIC_KEY: PUBLIC_KEY,
    LANGFUSE_SECRET_KEY: SECRET_KEY,
    LANGFUSE_BASE_URL: baseUrl,
  });

  it('a spawn is exported on a clean stop: trace with the trial id, a generation with the model, authenticated', async () => {
    const receiver = await LangfuseReceiver.start('ok');
    try {
      const server = await startServer(env(receiver.url));
      emulator.enqueue({ kind: 'ok', text: 'Traced answer.', usage: { input: 120, output: 8 } });
      const result = (await server.client.callTool({
        name: 'spawn_agent',
        arguments: { prompt: `Trace me (key ${GEMINI_KEY})`, model: 'gemini-2.5-flash', tags: ['traced'] },
      })) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      const { trial_id: trialId } = (result.structuredContent as Structured).result;

      // stdin close -> drain -> flush traces -> exit 0.
      expect(await server.stop()).toBe(0);
      await receiver.waitFor((r) => r.spans().length >= 2, 2_000);

      const otlp = receiver.otlpRequests();
      expect(otlp.length).toBeGreaterThanOrEqual(1);
      expect(otlp[0]!.method).toBe('POST');
      expect(otlp[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64')}`);

      const spans = receiver.spans();
      const root = spans.find((s) => attr(s, 'langfuse.trace.metadata.trialId') === trialId);
      expect(root, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
      expect(root!.name).toBe('spawn_agent');
      expect(attr(root!, 'langfuse.trace.tags')).toEqual(['traced']);
      const generation = spans.find((s) => s.parentSpanId === root!.spanId && attr(s, 'langfuse.observation.type') === 'generation');
      expect(generation).toBeDefined();
      expect(generation!.traceId).toBe(root!.traceId);
      expect(attr(generation!, 'langfuse.observation.model.name')).toBe('gemini-2.5-flash');
      expect(JSON.stringify(generation!.attributes)).toContain('Traced answer.');

      // Nothing the tracer sent carries the configured keys.
      const everything = receiver.requests.map((r) => r.raw).join('\n');
      expect(everything).not.toContain(GEMINI_KEY);
      expect(everything).not.toContain(SECRET_KEY);
      expect(server.transport.invalidStdoutLines).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('with the Langfuse host unreachable the spawn still answers and the server exits promptly', async () => {
    const server = await startServer(env(await closedPortUrl()));
    emulator.enqueue({ kind: 'ok', text: 'Answer without tracing.' });
    const result = (await server.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'hello', model: 'gemini-2.5-flash' } })) as CallToolResult;
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect((result.structuredContent as Structured).result.text).toBe('Answer without tracing.');

    // Exit code 0, not null: it exited by itself, before stop()'s 5 s SIGKILL (no wall-clock bound).
    const code = await server.stop();
    expect(code).toBe(0);
    expect(server.transport.invalidStdoutLines).toEqual([]);
    // The operator is told once, on stderr, that traces were dropped.
    expect(server.transport.stderr).toMatch(/Langfuse export failed/);
    expect(server.transport.stderr).not.toContain(SECRET_KEY);
  });
});
