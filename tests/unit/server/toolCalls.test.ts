import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { AppError, toToolErrorResult } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { createServer } from '../../../src/server.js';
import { ALL_TOOLS } from '../../../src/tools/registry.js';
import { makeTempDir } from '../../helpers/paths.js';

let app: App;
let client: Client;

beforeAll(async () => {
  const config = loadConfig({ TASK_ORCHESTRATOR_HOME: makeTempDir(), LOG_LEVEL: 'error' });
  const logger = createLogger({ level: 'error', write: () => {} });
  app = await createApp({ config, logger });
  const server = createServer({ config, logger, services: async () => app.services }, ALL_TOOLS);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.mcp.connect(serverSide);
  client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client.close();
  await app.close();
});

/** tools/call sent as is: the SDK Client would refuse to send some of these. */
async function rawCall(name: unknown, args: unknown) {
  return client.request({ method: 'tools/call', params: { name, arguments: args } } as never, CallToolResultSchema);
}
const text = (r: { content: unknown }) => (r.content as Array<{ text: string }>)[0]!.text;

describe('argument errors are tool results in our format, for every tool', () => {
  it('names the field, what was sent and the allowed values', async () => {
    const r = await rawCall('cost_summary', { period: 'week' });
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('invalid_input: period: "week" is not allowed; allowed: today | month | all | {from, to}');
    expect(r.structuredContent).toMatchObject({ error: { code: 'invalid_input' } });
  });

  it('says what is missing, and which argument names exist when one is unknown', async () => {
    const missing = await rawCall('tasks_add', { prio: 'high' });
    expect(text(missing)).toMatch(/^invalid_input: /);
    expect(text(missing)).toContain('title: missing (required: a string)');
    expect(text(missing)).toContain('arguments: unknown argument "prio"; allowed: title, description, priority, due, tags, source');
    const priority = await rawCall('tasks_add', { title: 't', priority: 'urgent' });
    expect(text(priority)).toBe('invalid_input: priority: "urgent" is not allowed; allowed: critical | high | medium | low');
  });

  it('non-object arguments get the same kind of answer from every tool, not a protocol error', async () => {
    for (const tool of ALL_TOOLS) {
      for (const args of ['x', 42, [1], null]) {
        const r = await rawCall(tool.name, args);
        expect(r.isError, `${tool.name} ${JSON.stringify(args)}`).toBe(true);
        expect(text(r)).toMatch(/^invalid_input: arguments: .* is not allowed; allowed: \{/);
      }
    }
  });

  it('an unknown tool is a not_found result listing the tools', async () => {
    const r = await rawCall('tasks_ad', {});
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^not_found: unknown tool "tasks_ad"; tools: spawn_agent, .*tasks_add/);
  });

  it('nullable and nested fields say so', async () => {
    const budget = await rawCall('cost_set_budget', { provider: 'google_gemini', daily_limit: 'five' });
    expect(text(budget)).toContain('daily_limit: "five" is not allowed; allowed: a number or null');
    const range = await rawCall('cost_summary', { period: { from: '2026-01-01', to: '2026-01-31', form: 'x' } });
    expect(text(range)).toBe('invalid_input: period: unknown argument "form"; allowed: from, to');
  });
});

describe('error results carry the error\'s details in structuredContent', () => {
  it('code, message, retryable and the details, redacted like the text', () => {
    const err = new AppError('quota_exhausted', 'daily quota used up', { retryable: false, details: { resets_at: '2026-12-02T08:00:00Z', retry_in_ms: 5000, url: 'https://x/?key=AIzaSyA-0123456789abcdefghijklmnop' } });
    const result = toToolErrorResult(err);
    expect(result.structuredContent).toEqual({
      error: { code: 'quota_exhausted', message: 'daily quota used up', retryable: false, details: { resets_at: '2026-12-02T08:00:00Z', retry_in_ms: 5000, url: 'https://x/?key=[REDACTED]' } },
    });
    expect(toToolErrorResult(new Error('boom')).structuredContent).toEqual({ error: { code: 'internal', message: 'Internal error: boom', retryable: false } });
  });
});

describe('the text of a result carries what the model needs, not only structuredContent', () => {
  it('task tools show the description (shortened), in add, update and list', async () => {
    const added = await rawCall('tasks_add', { title: 'write report', description: 'Sections: intro,\nresults and a summary for the board.' });
    expect(text(added)).toMatch(/^Added #\d+ \[medium\] write report\n  Sections: intro, results and a summary for the board\.$/);
    const long = await rawCall('tasks_add', { title: 'long one', description: 'y'.repeat(500) });
    expect(text(long)).toContain(`\n  ${'y'.repeat(200)}…`);
    const listed = await rawCall('tasks_list', {});
    expect(text(listed)).toContain('Sections: intro, results');
  });
});
