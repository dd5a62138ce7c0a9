import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ALL_MIGRATIONS } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { openDatabase } from '../../src/db/database.js';
import { TrialStore } from '../../src/eval/trialStore.js';
import { startGeminiEmulator, type GeminiEmulator } from '../helpers/geminiEmulator.js';
import { makeTempDir, SERVER_BIN } from '../helpers/paths.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';

type Structured = Record<string, any>;

/** A Google-style key that is NOT the configured one: only the built-in patterns can catch it. */
const FAKE_KEY = `AIzaSy${'Q7w9E1r3T5y7U9i1O3p5A7s9D1f3G5h7J'}`;
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwibmFtZSI6IkpvZSBFeGFtcGxlIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const SECRET_PROMPT = `Debug this config:\nGEMINI_KEY=${FAKE_KEY}\nsession ${JWT}\nWhy does it fail?`;
const SECRET_SYSTEM = `You are a helpful debugger. The operator token is ${JWT}.`;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built bin as a separate process, exactly as a user would from a shell. */
function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SERVER_BIN, ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function parseJsonl(text: string): Structured[] {
  const lines = text.split('\n');
  expect(lines.pop()).toBe(''); // every line ends with \n, nothing after the last
  return lines.map((line) => JSON.parse(line) as Structured);
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(FAKE_KEY);
  expect(text).not.toContain(FAKE_KEY.slice(6)); // not even the key body
  expect(text).not.toContain(JWT);
  expect(text).not.toContain(JWT.split('.')[2]!); // nor the signature
  expect(text).toContain('[REDACTED]');
}

describe('exporting trials: the export CLI and trials_export', () => {
  let emulator: GeminiEmulator;
  let server: StartedServer;
  let home: string;
  const ids: { plain: string; secret: string; failed: string } = { plain: '', secret: '', failed: '' };

  const call = (name: string, args: Record<string, unknown>) => server.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  const ok = async (name: string, args: Record<string, unknown>): Promise<Structured> => {
    const result = await call(name, args);
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    return result.structuredContent as Structured;
  };

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
    home = makeTempDir();
    server = await startServer({
      TASK_ORCHESTRATOR_HOME: home,
      GEMINI_API_KEY: 'AIzaSyCONFIGUREDkey0123456789abcdefghij',
      GEMINI_BASE_URL: emulator.url,
    });
    // The emulator's default answer echoes the prompt, so the secret trial's output leaks too.
    ids.plain = (await ok('spawn_agent', { prompt: 'Summarize the water cycle.', model: 'gemini-2.5-flash', tags: ['geo'] })).result.trial_id;
    ids.secret = (await ok('spawn_agent', { prompt: SECRET_PROMPT, system: SECRET_SYSTEM, model: 'gemini-2.5-flash' })).result.trial_id;
    const failed = (await ok('spawn_agent', { prompt: 'Name a fruit.', model: 'gemini-2.5-flash', graders: [{ type: 'contains', values: ['banana'] }] })).result;
    expect(failed.status).toBe('failed');
    ids.failed = failed.trial_id;
  });
  afterAll(async () => {
    await server?.stop();
    await emulator?.close();
  });

  it('trials_export inline: records and chat JSONL, redacted', async () => {
    const records = await ok('trials_export', { format: 'records', inline: true });
    expect(records).toMatchObject({ count: 3, path: null, truncated: false });
    const lines = parseJsonl(records.jsonl);
    expect(lines).toHaveLength(3);
    expect(new Set(lines.map((l) => l.id))).toEqual(new Set([ids.plain, ids.secret, ids.failed]));
    expect(lines.every((l) => l.format === 'task-orchestrator.trial.v2')).toBe(true);
    expectNoSecrets(records.jsonl);

    const chat = await ok('trials_export', { format: 'chat', inline: true });
    expect(chat.count).toBe(2); // passed trials only
    const examples = parseJsonl(chat.jsonl);
    expect(examples.map((e) => e.messages.map((m: Structured) => m.role))).toEqual(
      expect.arrayContaining([
        ['user', 'assistant'],
        ['system', 'user', 'assistant'],
      ]),
    );
    expectNoSecrets(chat.jsonl);
  });

  it('trials_export to a file under exports/, never overwriting', async () => {
    const written = await ok('trials_export', { format: 'records', status: 'passed', file_name: 'passed.jsonl' });
    expect(written).toMatchObject({ count: 2, path: path.join(home, 'exports', 'passed.jsonl') });
    const text = fs.readFileSync(written.path, 'utf8');
    expect(parseJsonl(text).map((l) => l.outcome.status)).toEqual(['passed', 'passed']);
    expectNoSecrets(text);
    const again = await call('trials_export', { format: 'records', file_name: 'passed.jsonl' });
    expect(again.isError).toBe(true);
    expect((again.content[0] as { text: string }).text).toMatch(/already exists/);
    expect(fs.readFileSync(written.path, 'utf8')).toBe(text);
  });

  it('trials_export without a file name: two exports in the same second both succeed, to different files', async () => {
    const [a, b] = await Promise.all([ok('trials_export', {}), ok('trials_export', {})]);
    expect(a.path).not.toBe(b.path);
    for (const written of [a, b]) {
      expect(path.dirname(written.path)).toBe(path.join(home, 'exports'));
      expect(path.basename(written.path)).toMatch(/^trials-records-\d{8}T\d{6}Z(-\d+)?\.jsonl$/);
      expect(parseJsonl(fs.readFileSync(written.path, 'utf8'))).toHaveLength(3);
    }
  });

  it('the CLI exports records to --out while the server is running (WAL), then chat to stdout after it stopped', async () => {
    const out = path.join(makeTempDir(), 'records.jsonl');
    const live = await runCli(['export', '--format', 'records', '--out', out], { TASK_ORCHESTRATOR_HOME: home });
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toBe('');
    expect(live.stderr).toMatch(/Exported 3 trial records to .*records\.jsonl/);
    const text = fs.readFileSync(out, 'utf8');
    const records = parseJsonl(text);
    expect(records).toHaveLength(3);
    const byId = new Map(records.map((r) => [r.id, r]));
    expect(byId.get(ids.plain)).toMatchObject({
      format: 'task-orchestrator.trial.v2',
      input: { provider: 'google_gemini', model: 'gemini-2.5-flash', tags: ['geo'], prompt: 'Summarize the water cycle.' },
      outcome: { status: 'passed', passed: true, error: null },
    });
    expect(byId.get(ids.failed)).toMatchObject({ outcome: { status: 'failed', passed: false } });
    expect(byId.get(ids.failed)!.outcome.grading.results).toEqual([expect.objectContaining({ type: 'contains', pass: false })]);
    const secret = byId.get(ids.secret)!;
    expect(secret.input.prompt).toContain('Debug this config:');
    expect(secret.input.prompt).toContain('[REDACTED]');
    // Features are measured on the original text, before redaction.
    expect(secret.input.features.prompt_chars).toBe(SECRET_PROMPT.length);
    expect(secret.input.features.has_system).toBe(true);
    expect(secret.outcome.output).toContain('[REDACTED]');
    expectNoSecrets(text);

    // The same database, read after the server shut down.
    expect(await server.stop()).toBe(0);
    const chat = await runCli(['export', '--format', 'chat'], { TASK_ORCHESTRATOR_HOME: home });
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stderr).toMatch(/Exported 2 chat examples\./);
    const examples = parseJsonl(chat.stdout);
    expect(examples).toHaveLength(2);
    for (const e of examples) {
      expect(Object.keys(e)).toEqual(['messages']);
      expect(e.messages.at(-1).role).toBe('assistant');
    }
    const secretExample = examples.find((e) => e.messages[0].role === 'system')!;
    expect(secretExample.messages[0].content).toBe('You are a helpful debugger. The operator token is [REDACTED].');
    expect(secretExample.messages[1].content).toContain('GEMINI_KEY=[REDACTED]');
    expectNoSecrets(chat.stdout);

    // A usage error is exit code 2 with a message, and writes nothing to stdout.
    const bad = await runCli(['export', '--format', 'csv'], { TASK_ORCHESTRATOR_HOME: home });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/--format must be records or chat/);
  });

  it('`export | head -1`: a reader that leaves early ends the export quietly, exit 0', async () => {
    // More records than a pipe holds (64 KiB), so the export is still writing when the reader goes:
    // with a handful it may finish first, and then its summary on stderr is right too.
    const full = makeTempDir();
    const db = openDatabase(path.join(full, 'orchestrator.db'), { migrations: ALL_MIGRATIONS });
    const store = new TrialStore(db, systemClock);
    for (let i = 0; i < 200; i++) store.markRunning(store.create({ prompt: `question ${i} ${'x'.repeat(1_000)}`, provider: 'google_gemini' }).id);
    db.close();
    const piped = await new Promise<{ code: number | null; stderr: string; firstLine: string }>((resolve) => {
      const child = spawn(process.execPath, [SERVER_BIN, 'export', '--format', 'records'], { env: { PATH: process.env.PATH, TASK_ORCHESTRATOR_HOME: full } });
      let stderr = '';
      let head = '';
      let firstLine = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      // Like head -1: read up to the first newline (a pipe may hand over part of a line), then close.
      child.stdout.on('data', (c: Buffer) => {
        head += c.toString();
        if (firstLine || !head.includes('\n')) return;
        firstLine = head.split('\n')[0]!;
        child.stdout.destroy();
      });
      child.on('exit', (code) => resolve({ code, stderr, firstLine }));
    });
    expect(JSON.parse(piped.firstLine)).toMatchObject({ input: { prompt: expect.stringMatching(/^question \d+ x+$/) } });
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
  });

  it('export with a data directory that has no database says so, exits 1 and creates nothing', async () => {
    const mistyped = path.join(makeTempDir(), 'task-orchestrater');
    const run = await runCli(['export'], { TASK_ORCHESTRATOR_HOME: mistyped });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`no database at ${path.join(mistyped, 'orchestrator.db')}: nothing to export`);
    expect(fs.existsSync(mistyped)).toBe(false);
  });

  it('--help lists every command, serve included', async () => {
    const help = await runCli(['--help'], {});
    for (const command of ['serve', 'export', '--version']) expect(help.stdout).toContain(`task-orchestrator ${command}`);
  });
});
