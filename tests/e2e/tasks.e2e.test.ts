import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';


describe('task tools over stdio (built server, SDK client)', () => {
  let home: string;
  let server: StartedServer;

  const { ok, errorText } = toolCalls(() => server.client);

  beforeEach(async () => {
    home = makeTempDir();
    server = await startServer({ TASK_ORCHESTRATOR_HOME: home });
  });
  afterEach(async () => {
    await server.stop();
  });

  it('lists the task tools with truthful annotations and output schemas', async () => {
    const { tools } = await server.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of ['tasks_add', 'tasks_list', 'tasks_complete', 'tasks_update', 'tasks_delete']) {
      expect(byName.get(name)?.outputSchema, name).toBeDefined();
    }
    // Listed annotations omit hints equal to the MCP defaults; what a client reads is the same.
    const effective = (name: string) => ({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true, ...byName.get(name)!.annotations });
    expect(effective('tasks_list')).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(effective('tasks_delete')).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(effective('tasks_add')).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(effective('tasks_complete')).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: true });
  });

  it('adds, lists, completes, updates and deletes; tasks survive a restart', async () => {
    const a = (await ok('tasks_add', { title: 'Pay rent', priority: 'high', due: '2026-12-01', tags: ['home'] })).task;
    const b = (await ok('tasks_add', { title: 'Plan trip' })).task;
    expect(a).toMatchObject({ id: 1, title: 'Pay rent', priority: 'high', status: 'open', due: '2026-12-01', tags: ['home'] });
    expect(b.priority).toBe('medium');

    const listed = await ok('tasks_list', {});
    expect(listed.tasks.map((t: Structured) => t.title)).toEqual(['Pay rent', 'Plan trip']);
    expect(listed.total).toBe(2);

    const done = await ok('tasks_complete', { id: a.id });
    expect(done.task.status).toBe('done');
    expect((await ok('tasks_complete', { id: a.id })).already_done).toBe(true);

    const updated = await ok('tasks_update', { id: b.id, priority: 'critical', description: 'Book flights' });
    expect(updated.task).toMatchObject({ priority: 'critical', description: 'Book flights' });

    await server.stop();
    server = await startServer({ TASK_ORCHESTRATOR_HOME: home });

    expect((await ok('tasks_list', { status: 'all' })).tasks.map((t: Structured) => [t.title, t.status])).toEqual([
      ['Plan trip', 'open'],
      ['Pay rent', 'done'],
    ]);
    expect((await ok('tasks_delete', { id: b.id })).deleted.title).toBe('Plan trip');
    expect((await ok('tasks_list', {})).total).toBe(0);
  });

  it.each([
    ['tasks_add', {}, /title/],
    ['tasks_add', { title: 42 }, /title/],
    ['tasks_add', { title: 'x'.repeat(200_000) }, /title/],
    ['tasks_add', { title: '   ' }, /title/],
    ['tasks_add', { title: 'x', due: '2026-02-30' }, /due/],
    ['tasks_add', { title: 'x', due: 'next tuesday' }, /due/],
    ['tasks_add', { title: 'x', due: '9999-12-31T23:59:59-23:59' }, /due/],
    ['tasks_add', { title: 'x', priority: 'urgent' }, /priority/],
    ['tasks_add', { title: 'x', tags: 'home' }, /tags/],
    ['tasks_list', { status: 'closed' }, /status/],
    ['tasks_list', { limit: 0 }, /limit/],
    ['tasks_list', { statuss: 'done' }, /^invalid_input: arguments: unknown argument "statuss"; allowed: status, /],
    ['tasks_add', { title: 'x', prio: 'high' }, /^invalid_input: arguments: unknown argument "prio"; allowed: title, /],
    ['tasks_complete', { id: 'one' }, /id/],
    ['tasks_complete', { id: 999 }, /No task with id 999/],
    ['tasks_update', { id: 999, title: 'z' }, /No task with id 999/],
    ['tasks_update', { id: 1 }, /at least one field/],
    ['tasks_delete', { id: 999 }, /No task with id 999/],
  ])('%s %j is a clear isError result', async (name, args, pattern) => {
    expect(await errorText(name, args as Record<string, unknown>)).toMatch(pattern);
    // Nothing half-written: bad input never adds a task.
    expect((await ok('tasks_list', { status: 'all' })).total).toBe(0);
  });
});
