import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateMessageRequestSchema,
  McpError,
  type CallToolResult,
  type CreateMessageRequest,
  type CreateMessageResult,
} from '@modelcontextprotocol/sdk/types.js';
import { makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';

type SamplingParams = CreateMessageRequest['params'];

/**
 * provider "mcp_sampling": the server asks the client's own model through sampling/createMessage.
 * The SDK Client plays the host; its request handler is the host model.
 */
describe('provider mcp_sampling over stdio (client declares sampling)', () => {
  let server: StartedServer;
  const received: SamplingParams[] = [];
  /** How many sampling requests the server withdrew (notifications/cancelled: the host can drop its prompt). */
  let withdrawn = 0;
  /** What the "host model" does next; the default answers every request. */
  let answer: (params: SamplingParams) => CreateMessageResult | Promise<CreateMessageResult>;
  const defaultAnswer = (params: SamplingParams): CreateMessageResult => {
    const content = params.messages[0]?.content;
    const prompt = content && !Array.isArray(content) && content.type === 'text' ? content.text : '';
    if (params.systemPrompt?.includes('JSON Schema')) {
      return { model: 'host-model-x', role: 'assistant', content: { type: 'text', text: '{"city":"Lisbon"}' }, stopReason: 'endTurn' };
    }
    return { model: 'host-model-x', role: 'assistant', content: { type: 'text', text: `host says: ${prompt}` }, stopReason: 'endTurn' };
  };

  const spawn = toolCalls(() => server.client);
  const call = (args: Record<string, unknown>) => spawn.call('spawn_agent', args);
  const ok = async (args: Record<string, unknown>): Promise<Structured> => (await spawn.ok('spawn_agent', args)).result as Structured;

  beforeAll(async () => {
    // OPENAI_MODEL is set on purpose: it is the openai_compatible default and must not leak into sampling.
    server = await startServer(
      {
        TASK_ORCHESTRATOR_HOME: makeTempDir(),
        OPENAI_MODEL: 'llama3.2',
        TASK_ORCHESTRATOR_RETRY_BASE_MS: '20',
        TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '100',
      },
      { sampling: true },
    );
    // Registered after connect: the Client only checks that it declared the sampling capability.
    server.client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
      received.push(request.params);
      extra.signal.addEventListener('abort', () => withdrawn++, { once: true });
      return answer(request.params);
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  const reset = () => {
    received.length = 0;
    withdrawn = 0;
    answer = defaultAnswer;
  };

  it('sends prompt, system prompt, maxTokens and the model hint; returns the host answer at $0', async () => {
    reset();
    const result = await ok({
      prompt: 'Name the capital of Portugal.',
      system: 'Answer in one word.',
      provider: 'mcp_sampling',
      model: 'claude-sonnet-4',
      max_output_tokens: 300,
      temperature: 0.3,
    });
    expect(received).toHaveLength(1);
    const params = received[0]!;
    expect(params.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Name the capital of Portugal.' } }]);
    expect(params.systemPrompt).toBe('Answer in one word.');
    expect(params.maxTokens).toBe(300);
    expect(params.temperature).toBe(0.3);
    expect(params.modelPreferences?.hints).toEqual([{ name: 'claude-sonnet-4' }]);

    expect(result).toMatchObject({
      status: 'passed',
      passed: true,
      provider: 'mcp_sampling',
      text: 'host says: Name the capital of Portugal.',
      model: 'host-model-x',
      cost_usd: 0,
      attempts: 1,
    });
    // Sampling reports no usage: the server books estimates, never zero-length nonsense.
    expect(result.input_tokens).toBeGreaterThan(0);
    expect(result.output_tokens).toBeGreaterThan(0);
    expect(result.graders).toEqual([expect.objectContaining({ type: 'non_empty', pass: true })]);
  });

  it('without max_output_tokens asks for the configured default; with a schema asks for JSON and parses it', async () => {
    reset();
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const result = await ok({ prompt: 'Where is the Torre de Belém?', provider: 'mcp_sampling', model: 'claude-haiku', response_schema: schema });
    const params = received[0]!;
    expect(params.maxTokens).toBe(8192);
    expect(params.systemPrompt).toContain('Answer with JSON only');
    expect(params.systemPrompt).toContain(JSON.stringify(schema));
    expect(result.json).toEqual({ city: 'Lisbon' });
    expect(result.graders.map((g: Structured) => [g.type, g.pass])).toEqual([
      ['non_empty', true],
      ['json_schema', true],
    ]);
  });

  it('model "auto" leaves the choice to the host: no model hint is sent', async () => {
    reset();
    const result = await ok({ prompt: 'Say hi.', provider: 'mcp_sampling' });
    expect(result.text).toBe('host says: Say hi.');
    expect(received).toHaveLength(1);
    // Not the OPENAI_MODEL default of another provider, and no hint at all.
    expect(JSON.stringify(received[0]!.modelPreferences ?? {})).not.toContain('llama3.2');
    expect(received[0]!.modelPreferences?.hints ?? []).toEqual([]);
  });

  it('a host that rejects the request is an error result naming the refusal, and the user is asked only once', async () => {
    reset();
    answer = () => {
      // What hosts answer when the user declines a sampling request.
      throw new McpError(-1, 'User rejected sampling request');
    };
    const result = await call({ prompt: 'Please sample this.', provider: 'mcp_sampling', model: 'claude-haiku' });
    expect(result.isError).toBe(true);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/declined/);
    expect(text).toMatch(/User rejected sampling request/);
    expect(text).not.toMatch(/\n\s+at /);
    // A human's "no" is not a transient failure: re-prompting them with backoff is wrong.
    expect(received).toHaveLength(1);
    // ... nor a sign the host is unhealthy: the next request is sent as usual (no open breaker).
    answer = defaultAnswer;
    const next = await ok({ prompt: 'Try again.', provider: 'mcp_sampling', model: 'claude-haiku' });
    expect(next.text).toBe('host says: Try again.');
    expect(received).toHaveLength(2);
  });

  it('a host slow to answer (a person still deciding) is asked once: the timeout is not retried', async () => {
    reset();
    // Answers after the agent's 1 s timeout, as a person who has not clicked "approve" yet would.
    answer = (params) => new Promise((resolve) => setTimeout(() => resolve(defaultAnswer(params)), 1_500));
    const result = await call({ prompt: 'Approve me, slowly.', provider: 'mcp_sampling', model: 'slow-host', timeout_ms: 1_000 });
    // One approval prompt per call, never six; and the host was told the request is withdrawn.
    expect(received).toHaveLength(1);
    expect(withdrawn).toBe(1);
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/^timeout: /);
  });

  it('a host whose sampling handler fails is reported as failing, with its message, not as declining, and is asked once', async () => {
    reset();
    answer = () => {
      // The SDK answers a handler's plain Error as JSON-RPC -32603 with its message.
      throw new Error('boom');
    };
    const result = await call({ prompt: 'Please sample this.', provider: 'mcp_sampling', model: 'failing-host' });
    expect(result.isError).toBe(true);
    const text = (result.content[0] as { text: string }).text;
    expect(text).toMatch(/the host's sampling handler failed: boom \(-32603\)/i);
    expect(text).not.toMatch(/declined/);
    expect(text).not.toMatch(/\n\s+at /);
    expect(received).toHaveLength(1);
  });
});

describe('provider mcp_sampling with a client that does not declare sampling', () => {
  it('answers a clear error saying the client does not support sampling', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir() });
    try {
      const result = (await server.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'hi', provider: 'mcp_sampling' } })) as CallToolResult;
      expect(result.isError).toBe(true);
      const text = (result.content[0] as { text: string }).text;
      expect(text).toMatch(/^not_configured: /);
      expect(text).toMatch(/mcp_sampling/);
      expect(text).toMatch(/needs a client that supports MCP sampling/);
      expect(text).toMatch(/did not declare/);
      // Nothing half-ran: no trial was recorded for a call that could not start.
      const trials = await server.client.callTool({ name: 'trials_list', arguments: {} });
      expect((trials.structuredContent as Structured).total).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
