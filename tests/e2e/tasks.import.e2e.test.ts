import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, SERVER_BIN, makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';

const fixture = (name: string) => path.join(REPO_ROOT, 'tests/fixtures/import', name);

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SERVER_BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('task import and the due view over stdio (built server, SDK client)', () => {
  let home: string;
  let server: StartedServer;

  const { okWithText: ok, errorText } = toolCalls(() => server.client);

  beforeEach(async () => {
    home = makeTempDir();
    server = await startServer({ TASK_ORCHESTRATOR_HOME: home, TASK_ORCHESTRATOR_TIMEZONE: 'Europe/Berlin' });
  });
  afterEach(async () => {
    await server.stop();
  });

  it('tasks_import: a calendar file, then the same file again creates nothing', async () => {
    const first = (await ok('tasks_import', { path: fixture('apple.ics') })).s;
    expect(first).toMatchObject({ format: 'ics', created: 5, updated: 0, unchanged: 0, skipped: [], tasks_total: 5 });
    expect(first.tasks.find((t: Structured) => t.title === 'Renew passport')).toMatchObject({ status: 'done', priority: 'low', external_id: 'ical:0A1B2C3D-4E5F-4061-8273-94A5B6C7D8E9' });
    const again = await ok('tasks_import', { path: fixture('apple.ics') });
    expect(again.s).toMatchObject({ created: 0, updated: 0, unchanged: 5, tasks: [] });
    expect(again.text).toBe('Imported ics: 0 created, 0 updated, 5 unchanged, 0 skipped');
    const mail = (await ok('tasks_import', { content: fs.readFileSync(fixture('rfc2047-qp.eml'), 'utf8') })).s;
    expect(mail.tasks[0]).toMatchObject({ title: 'Quartalsbericht für den Chef – dringend', origin: { kind: 'email', from: 'Jörg Müller <joerg@example.de>' } });
  });

  it('tasks_import: bad input answers isError naming the field or the file', async () => {
    expect(await errorText('tasks_import', {})).toContain('give exactly one of path or content');
    expect(await errorText('tasks_import', { path: fixture('apple.ics'), content: 'x' })).toContain('give exactly one of path or content');
    expect(await errorText('tasks_import', { path: fixture('apple.ics'), format: 'pdf' })).toMatch(/format/);
    expect(await errorText('tasks_import', { path: path.join(home, 'missing.ics') })).toMatch(/^not_found: path: no file at /);
    expect(await errorText('tasks_import', { path: home })).toMatch(/^invalid_input: path: .* is a directory/);
    fs.writeFileSync(path.join(home, 'junk.dat'), Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]));
    expect(await errorText('tasks_import', { path: path.join(home, 'junk.dat') })).toContain('looks like binary data');
    expect((await ok('tasks_list', { status: 'all' })).s.total).toBe(0);
  });

  it('tasks_due and tasks_list: overdue and due today marked, due dates shown in TASK_ORCHESTRATOR_TIMEZONE', async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const local = (ms: number) =>
      `${new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms)} Europe/Berlin`;
    const late = (await ok('tasks_add', { title: 'Send invoice', due: iso(now - 2 * 3_600_000) })).s.task;
    const soon = (await ok('tasks_add', { title: 'Prepare slides', due: iso(now + 3 * 86_400_000) })).s.task;
    await ok('tasks_add', { title: 'Far away', due: iso(now + 30 * 86_400_000) });
    await ok('tasks_add', { title: 'No date' });

    const due = await ok('tasks_due', { within: '7d' });
    expect(due.s.time_zone).toBe('Europe/Berlin');
    expect(due.s.overdue.map((t: Structured) => [t.id, t.due_state])).toEqual([[late.id, 'overdue']]);
    expect(due.s.upcoming.map((t: Structured) => [t.id, t.due_local])).toEqual([[soon.id, local(now + 3 * 86_400_000)]]);
    expect(due.text).toContain(`Send invoice due ${local(now - 2 * 3_600_000)} (overdue)`);
    expect((await ok('tasks_due', { within: 'P31D', include_overdue: false })).s.upcoming.map((t: Structured) => t.title)).toEqual(['Prepare slides', 'Far away']);
    expect(await errorText('tasks_due', { within: 'soon' })).toContain('within');

    const list = await ok('tasks_list', { query: 'invoice' });
    expect(list.s.tasks.map((t: Structured) => t.title)).toEqual(['Send invoice']);
    expect(list.text).toContain('(overdue)');
  });

  it('task-orchestrator import FILE... writes the database the server reads; a missing file fails with exit 1', async () => {
    await server.stop();
    const env = { TASK_ORCHESTRATOR_HOME: home };
    const run = await runCli(['import', fixture('outlook.ics'), fixture('inbox.mbox')], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${fixture('outlook.ics')}: 3 created, 0 updated, 0 unchanged, 0 skipped\n${fixture('inbox.mbox')}: 3 created, 0 updated, 0 unchanged, 0 skipped\n`);
    const json = await runCli(['import', '--json', fixture('outlook.ics'), path.join(home, 'gone.eml')], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ file: fixture('outlook.ics'), created: 0, unchanged: 3 });
    expect(json.stderr).toContain('gone.eml: not_found: path: no file at');

    server = await startServer({ TASK_ORCHESTRATOR_HOME: home });
    expect((await ok('tasks_list', { status: 'all' })).s.total).toBe(6);
  });
});
