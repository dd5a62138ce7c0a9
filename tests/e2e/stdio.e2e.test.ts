import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeTempDir, SERVER_BIN } from '../helpers/paths.js';
import { startServer } from '../helpers/serverProcess.js';

const run = promisify(execFile);

describe('the stdio server process', () => {
  it('writes nothing but JSON-RPC to stdout, survives garbage and unknown methods', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir(), LOG_LEVEL: 'debug' });
    await server.client.listTools();
    server.transport.writeRaw('this is not json\n{"jsonrpc":"2.0","id":"x"\n');
    const unknown = await server.client.request({ method: 'nonexistent/method' } as never, (await import('zod')).z.any()).catch((e: Error) => e);
    expect(unknown).toBeInstanceOf(Error);
    expect(String(unknown)).toMatch(/Method not found/);
    const added = await server.client.callTool({ name: 'tasks_add', arguments: { title: 'still alive' } });
    expect(added.isError).toBeFalsy();
    await server.client.setLoggingLevel('debug');
    await server.client.callTool({ name: 'tasks_list', arguments: {} });
    const code = await server.stop();
    expect(code).toBe(0);
    expect(server.transport.stdoutLines.length).toBeGreaterThan(3);
    expect(server.transport.invalidStdoutLines).toEqual([]);
    expect(server.transport.stderr).toMatch(/ignored unreadable input/);
  });

  it('refuses a message over the size limit on its own, answering its id, and keeps serving', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir() });
    try {
      const huge = server.client.callTool({ name: 'tasks_add', arguments: { title: 'x', description: 'y'.repeat(33 * 1024 * 1024) } }).catch((e: Error) => e);
      expect(String(await huge)).toMatch(/Request too large: \d+ bytes; the limit is 32 MiB/);
      const added = await server.client.callTool({ name: 'tasks_add', arguments: { title: 'after the big one' } });
      expect(added.isError).toBeFalsy();
      const { structuredContent } = await server.client.callTool({ name: 'tasks_list', arguments: {} });
      expect((structuredContent as { tasks: Array<{ title: string }> }).tasks.map((t) => t.title)).toEqual(['after the big one']);
      // The batch cap keeps every valid spawn_parallel_agents call under that limit.
      const batch = await server.client.callTool({ name: 'spawn_parallel_agents', arguments: { agents: Array.from({ length: 5 }, () => ({ prompt: 'p'.repeat(900_000) })) } });
      expect(batch.isError).toBe(true);
      expect(JSON.stringify(batch.content)).toMatch(/agents: prompts and system texts together must be at most 4,000,000 characters/);
      expect(server.transport.stderr).toMatch(/refused an oversized message/);
    } finally {
      await server.stop();
    }
  });

  it('exits cleanly on SIGTERM and on stdin close', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir() });
    await server.client.listTools();
    server.transport.child!.kill('SIGTERM');
    expect(await server.transport.exited).toBe(0);
  });

  it.each(['stdin closed', 'SIGTERM'])('answers every call it received before shutting down (%s)', async (how) => {
    const child = spawn(process.execPath, [SERVER_BIN], { env: { PATH: process.env.PATH, TASK_ORCHESTRATOR_HOME: makeTempDir() } });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = (m: object) => `${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`;
    child.stdin.write(
      line({ id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) +
        line({ method: 'notifications/initialized' }),
    );
    await expect.poll(() => stdout.includes('"id":0'), { timeout: 10_000 }).toBe(true);
    const calls = Array.from({ length: 50 }, (_, i) => line({ id: i + 1, method: 'tools/call', params: { name: 'tasks_add', arguments: { title: `t${i}` } } })).join('');
    if (how === 'SIGTERM') {
      child.stdin.write(calls);
      child.kill('SIGTERM');
    } else child.stdin.end(calls);
    expect(await exited).toBe(0);
    const answered = stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; result?: { isError?: boolean } });
    // Each call was either done and answered, or answered as not done: never done and unanswered.
    expect(answered.map((m) => m.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 51 }, (_, i) => i));
  });

  it('answers every request with a readable id, even malformed ones, and ignores a BOM before initialize', async () => {
    const child = spawn(process.execPath, [SERVER_BIN], { env: { PATH: process.env.PATH, TASK_ORCHESTRATOR_HOME: makeTempDir() } });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const line = (m: object) => `${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`;
    child.stdin.write(
      '\uFEFF' +
        line({ id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) +
        line({ method: 'notifications/initialized' }) +
        '{"jsonrpc":"2.0","id":7,"method":"tools/list",}\n' +
        '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":"tasks_list"}\n' +
        '{"jsonrpc":"1.0","id":"nine","method":"ping"}\n' +
        line({ id: 10, method: 'tools/call', params: { name: 'tasks_add', arguments: 'not an object' } }),
    );
    const answers = () => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: unknown; result?: { isError?: boolean; content?: Array<{ text: string }> }; error?: { code: number; message: string } });
    await expect.poll(() => answers().length, { timeout: 10_000 }).toBe(5);
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
    const byId = new Map(answers().map((a) => [a.id, a]));
    expect(byId.get(0)!.result).toMatchObject({ protocolVersion: '2025-06-18', serverInfo: { name: expect.any(String) } });
    expect(byId.get(7)!.error).toMatchObject({ code: -32700, message: expect.stringMatching(/^Parse error: the message is not JSON/) });
    expect(byId.get(8)!.error).toMatchObject({ code: -32600 });
    expect(byId.get('nine')!.error).toMatchObject({ code: -32600, message: expect.stringMatching(/jsonrpc/) });
    expect(byId.get(10)!.result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^invalid_input: arguments: "not an object" is not allowed/) }] });
  });

  it('stops reading requests while the client does not read its answers (bounded memory), then answers them all', async () => {
    const child = spawn(process.execPath, [SERVER_BIN], { env: { PATH: process.env.PATH, TASK_ORCHESTRATOR_HOME: makeTempDir(), LOG_LEVEL: 'error' } });
    const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
    let stdout = '';
    let answered = 0;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      answered += lines.length;
    });
    const line = (m: object) => `${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`;
    child.stdin.write(
      line({ id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }) +
        line({ method: 'notifications/initialized' }) +
        Array.from({ length: 100 }, (_, i) => line({ id: i + 1, method: 'tools/call', params: { name: 'tasks_add', arguments: { title: `task ${i}`, description: 'd'.repeat(1_500) } } })).join(''),
    );
    await expect.poll(() => answered, { timeout: 20_000 }).toBe(101);
    const before = rssMb();
    // The client stops reading: every tasks_list answer is ~170 KB, 2,000 of them ~340 MB.
    child.stdout.pause();
    const calls = 2_000;
    for (let i = 0; i < calls; i++) child.stdin.write(line({ id: 1_000 + i, method: 'tools/call', params: { name: 'tasks_list', arguments: { limit: 100 } } }));
    // Give the server time to read (and, unbounded, answer) as much as it would.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const during = rssMb();
    expect(during - before).toBeLessThan(100);
    child.stdout.resume();
    await expect.poll(() => answered, { timeout: 60_000 }).toBe(101 + calls);
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
  }, 90_000);

  it('prints --version and --help', async () => {
    const version = await run(process.execPath, [SERVER_BIN, '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await run(process.execPath, [SERVER_BIN, '--help']);
    expect(help.stdout).toMatch(/GEMINI_API_KEY/);
  });

  it.each([
    [{ LOG_LEVEL: 'chatty' }, /LOG_LEVEL/],
    [{ TASK_ORCHESTRATOR_TOOLS: 'tasks_add,nope' }, /TASK_ORCHESTRATOR_TOOLS names unknown tools: nope/],
    [{ TASK_ORCHESTRATOR_DISABLED_TOOLS: 'ghost' }, /TASK_ORCHESTRATOR_DISABLED_TOOLS names unknown tools: ghost/],
  ])('refuses to start with invalid configuration %o: one clear line, non-zero exit', async (env, pattern) => {
    const child = spawn(process.execPath, [SERVER_BIN], { env: { PATH: process.env.PATH, TASK_ORCHESTRATOR_HOME: makeTempDir(), ...env } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1); // an exit code, not a signal (null passed not.toBe(0))
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
  });

  it('reads config.json in the data directory; a bad value there names the variable and the file', async () => {
    const home = makeTempDir();
    const file = path.join(home, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ TASK_ORCHESTRATOR_TOOLS: ['tasks_add', 'tasks_list'] }));
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: home });
    const listed = await server.client.listTools();
    await server.stop();
    expect(listed.tools.map((t) => t.name).sort()).toEqual(['tasks_add', 'tasks_list']);

    fs.writeFileSync(file, JSON.stringify({ GEMINI_BASE_URL: 'not a url' }));
    const child = spawn(process.execPath, [SERVER_BIN], { env: { PATH: process.env.PATH, TASK_ORCHESTRATOR_HOME: home } });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`GEMINI_BASE_URL`);
    expect(stderr).toContain(`(set in ${file})`);
  });

  it.each([
    ['a file in place of the data directory', (home: string) => fs.writeFileSync(home, 'x'), /(ENOTDIR|EEXIST).*A file is in the way/],
    ['a garbage database', (home: string) => (fs.mkdirSync(home), fs.writeFileSync(path.join(home, 'orchestrator.db'), 'garbage '.repeat(100))), /SQLITE_NOTADB.*move the file/],
  ])('stays up when the data directory cannot be used (%s): every tool call says path, cause and fix', async (_what, breakIt, cause) => {
    const home = path.join(makeTempDir(), 'home');
    breakIt(home);
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: home });
    try {
      for (const name of ['tasks_list', 'cost_summary']) {
        const result = await server.client.callTool({ name, arguments: {} });
        expect(result.isError).toBe(true);
        const text = (result.content as Array<{ text: string }>)[0]!.text;
        expect(text).toMatch(/^storage_unavailable: The database .*orchestrator\.db cannot be used: /);
        expect(text).toContain(home);
        expect(text).toMatch(cause);
      }
      expect(server.transport.child!.exitCode).toBeNull();
      expect(server.transport.stderr).toMatch(/ERROR.*cannot open the data directory/);
    } finally {
      await server.stop();
    }
  });

  it('chooses tool sets: core is small, a list picks, disabled removes', async () => {
    const core = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir(), TASK_ORCHESTRATOR_TOOLS: 'core' });
    const coreList = await core.client.listTools();
    await core.stop();
    expect(core.transport.invalidStdoutLines).toEqual([]);
    // The whole tools/list answer as it crosses the wire, JSON-RPC envelope included.
    const answer = core.transport.stdoutLines.find((line) => line.includes('"tools":['))!;
    expect(Buffer.byteLength(answer)).toBeLessThanOrEqual(5 * 1024);
    expect(coreList.tools.map((t) => t.name).sort()).toEqual(
      ['agent_result', 'cost_summary', 'spawn_agent', 'spawn_parallel_agents', 'tasks_add', 'tasks_complete', 'tasks_list'],
    );

    const picked = await startServer({
      TASK_ORCHESTRATOR_HOME: makeTempDir(),
      TASK_ORCHESTRATOR_TOOLS: 'tasks_add,tasks_list,tasks_delete',
      TASK_ORCHESTRATOR_DISABLED_TOOLS: 'tasks_delete',
    });
    const pickedList = await picked.client.listTools();
    await picked.stop();
    expect(pickedList.tools.map((t) => t.name).sort()).toEqual(['tasks_add', 'tasks_list']);
  });
});
