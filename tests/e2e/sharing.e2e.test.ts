import { describe, expect, it } from 'vitest';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { makeTempDir } from '../helpers/paths.js';
import { startServer } from '../helpers/serverProcess.js';
import { TEST_API_KEY } from '../helpers/keys.js';

describe('two MCP clients on one machine', () => {
  it('two server processes share one task list safely', async () => {
    const home = makeTempDir();
    const a = await startServer({ TASK_ORCHESTRATOR_HOME: home });
    const b = await startServer({ TASK_ORCHESTRATOR_HOME: home });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).client.callTool({ name: 'tasks_add', arguments: { title: `task ${i}` } })),
    );
    const fromA = (await a.client.callTool({ name: 'tasks_list', arguments: { limit: 100 } })) as CallToolResult;
    const fromB = (await b.client.callTool({ name: 'tasks_list', arguments: { limit: 100 } })) as CallToolResult;
    expect((fromA.structuredContent as { total: number }).total).toBe(40);
    expect((fromB.structuredContent as { total: number }).total).toBe(40);
    const ids = (fromA.structuredContent as { tasks: Array<{ id: number }> }).tasks.map((t) => t.id);
    expect(new Set(ids).size).toBe(40);
    await a.stop();
    await b.stop();
  });
});

describe('MCP logging', () => {
  it('sends log notifications only after the client sets a level, at that level', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir(), LOG_LEVEL: 'debug', GEMINI_API_KEY: TEST_API_KEY });
    const messages: Array<{ level: string; data: unknown }> = [];
    server.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params));
    await server.client.callTool({ name: 'tasks_complete', arguments: { id: 12345 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(messages).toEqual([]);
    await server.client.setLoggingLevel('debug');
    await server.client.callTool({ name: 'tasks_complete', arguments: { id: 12345 } });
    await expect.poll(() => JSON.stringify(messages)).toMatch(/tasks_complete failed/);
    expect(JSON.stringify(messages)).not.toContain('AIzaSyTESTKEY');
    await server.client.setLoggingLevel('error');
    const before = messages.length;
    await server.client.callTool({ name: 'tasks_complete', arguments: { id: 12345 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(messages.length).toBe(before);
    await server.stop();
  });
});
