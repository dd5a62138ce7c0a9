import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { InvalidInputError } from '../../../src/errors.js';
import { exportTrials, runExportCli, TRIAL_RECORD_FORMAT, type ChatExample, type TrialRecordV2 } from '../../../src/eval/export.js';
import type { GraderResult } from '../../../src/eval/graders/types.js';
import { trialMigrations, TrialStore } from '../../../src/eval/trialStore.js';
import { makeTempDir } from '../../helpers/paths.js';

const GOOGLE_KEY = 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const CONFIGURED_SECRET = 'my-literal-langfuse-secret';

let dir: string;
let db: Db;
let clock: ManualClock;
let store: TrialStore;

const pass: GraderResult = { type: 'non_empty', pass: true, score: 1, reason: 'ok', status: 'graded', required: true, weight: 1 };
const fail: GraderResult = { type: 'contains', pass: false, score: 0, reason: 'missing "x"', status: 'graded', required: true, weight: 1 };
const ungraded: GraderResult = { type: 'relevance', pass: null, score: null, reason: 'judge down', status: 'could_not_grade', required: true, weight: 1 };

function addTrial(opts: { day: number; outcome: 'passed' | 'failed' | 'errored' | 'incomplete'; prompt?: string; model?: string; tags?: string[]; system?: string }) {
  clock.set(Date.UTC(2026, 0, opts.day, 9, 30));
  const t = store.create({ prompt: opts.prompt ?? `prompt ${opts.day}`, system: opts.system, tags: opts.tags ?? [], provider: 'google_gemini' });
  store.markRunning(t.id);
  if (opts.outcome === 'errored') return store.error(t.id, { code: 'provider_error', message: `HTTP 503 for key=${GOOGLE_KEY}`, costUsd: 0, latencyMs: 10 });
  store.complete(t.id, {
    output: `answer ${opts.day}`,
    parsedJson: { api_key: 'plain-looking-value', nested: { note: `token ${JWT}` } },
    model: opts.model ?? 'gemini-2.5-flash',
    inputTokens: 100,
    outputTokens: 20,
    costUsd: 0.0123,
    latencyMs: 456,
  });
  if (opts.outcome === 'incomplete') return store.grade(t.id, [pass, ungraded], true, { score: 1, incomplete: true });
  return store.grade(t.id, opts.outcome === 'passed' ? [pass] : [pass, fail], opts.outcome === 'passed', { score: opts.outcome === 'passed' ? 1 : 0.5 });
}

function readJsonl<T>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}

beforeEach(() => {
  dir = makeTempDir('export-');
  db = openDatabase(path.join(dir, 'test.db'), { migrations: trialMigrations });
  db.pragma('synchronous = OFF'); // durability is not under test here; speed is
  clock = new ManualClock();
  store = new TrialStore(db, clock);
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('exportTrials records', () => {
  it('round-trips every trial as a versioned record, oldest first', async () => {
    const secretPrompt = `Fix my code. My key is ${GOOGLE_KEY} and my session ${JWT}; langfuse ${CONFIGURED_SECRET}`;
    addTrial({ day: 1, outcome: 'passed', prompt: secretPrompt, system: 'You are terse.', tags: ['code'] });
    addTrial({ day: 2, outcome: 'failed' });
    addTrial({ day: 3, outcome: 'errored' });
    const file = path.join(dir, 'out', 'records.jsonl');

    const result = await exportTrials(store, { format: 'records', secrets: [CONFIGURED_SECRET] }, file);
    expect(result).toEqual({ count: 3, path: file });

    const text = fs.readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const secret of [GOOGLE_KEY, JWT, CONFIGURED_SECRET, 'plain-looking-value']) expect(text).not.toContain(secret);

    const records = readJsonl<TrialRecordV2>(file);
    expect(records.map((r) => [r.outcome.status, r.outcome.passed])).toEqual([
      ['passed', true],
      ['failed', false],
      ['errored', null],
    ]);
    const [first, second, third] = records as [TrialRecordV2, TrialRecordV2, TrialRecordV2];
    expect(first).toMatchObject({
      format: TRIAL_RECORD_FORMAT,
      created_at: '2026-01-01T09:30:00.000Z',
      input: {
        prompt: 'Fix my code. My key is [REDACTED] and my session [REDACTED]; langfuse [REDACTED]',
        system: 'You are terse.',
        model: 'gemini-2.5-flash',
        tags: ['code'],
        graders: [{ type: 'non_empty', required: true }],
      },
      outcome: {
        output: 'answer 1',
        parsed_json: { api_key: '[REDACTED]', nested: { note: 'token [REDACTED]' } },
        usage: { input_tokens: 100, output_tokens: 20 },
        cost_usd: 0.0123,
        latency_ms: 456,
        attempts: 1,
        retried: false,
        output_chars: 8,
        grading: { score: 1, incomplete: false, results: [{ type: 'non_empty', status: 'graded', pass: true, score: 1, required: true, weight: 1, reason: 'ok' }] },
        error: null,
      },
    });
    expect(first.input.features).toMatchObject({
      prompt_chars: secretPrompt.length,
      prompt_words: secretPrompt.split(/\s+/).length,
      prompt_lines: 1,
      system_chars: 14,
      has_system: true,
      has_response_schema: false,
      tag_count: 1,
      created_hour_utc: 9,
      created_weekday_utc: 4,
    });
    expect(second.outcome.grading?.results.map((r) => r.type)).toEqual(['non_empty', 'contains']);
    expect(third).toMatchObject({ input: { graders: null }, outcome: { error: { code: 'provider_error', message: 'HTTP 503 for key=[REDACTED]' }, output: null, grading: null } });
  });

  it.each([
    ['status passed', { status: 'passed' as const }, ['prompt 1', 'prompt 3']],
    ['status failed', { status: 'failed' as const }, ['prompt 2']],
    ['model', { model: 'gemini-2.5-pro' }, ['prompt 3']],
    ['tag', { tag: 'keep' }, ['prompt 2', 'prompt 3']],
    ['time window', { from: '2026-01-02', to: '2026-01-02' }, ['prompt 2']],
  ])('filters by %s', async (_name, filters, prompts) => {
    addTrial({ day: 1, outcome: 'passed' });
    addTrial({ day: 2, outcome: 'failed', tags: ['keep'] });
    addTrial({ day: 3, outcome: 'passed', model: 'gemini-2.5-pro', tags: ['keep'] });
    const out = path.join(dir, 'f.jsonl');
    const { count } = await exportTrials(store, { format: 'records', filters }, out);
    expect(readJsonl<TrialRecordV2>(out).map((r) => r.input.prompt)).toEqual(prompts);
    expect(count).toBe(prompts.length);
  });

  it('streams many trials across pages with back-pressure and honours limit', async () => {
    db.transaction(() => {
      for (let i = 0; i < 450; i++) {
        clock.advance(1);
        const t = store.create({ prompt: `p${i} ${'x'.repeat(2000)}` });
        store.markRunning(t.id);
      }
    })();
    const stream = new PassThrough({ highWaterMark: 1024 });
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const { count } = await exportTrials(store, { format: 'records' }, stream);
    stream.end();
    await reading;
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    expect(count).toBe(450);
    expect(lines).toHaveLength(450);
    expect(new Set(lines.map((l) => (JSON.parse(l) as TrialRecordV2).id)).size).toBe(450);

    const limited = await exportTrials(store, { format: 'records', limit: 201 }, path.join(dir, 'l.jsonl'));
    expect(limited.count).toBe(201);
    expect(readJsonl(path.join(dir, 'l.jsonl'))).toHaveLength(201);
  });

  it('noClobber refuses to replace a file and leaves no temp files', async () => {
    addTrial({ day: 1, outcome: 'passed' });
    const out = path.join(dir, 'exports', 'x.jsonl');
    await exportTrials(store, { format: 'records', noClobber: true }, out);
    await expect(exportTrials(store, { format: 'records', noClobber: true }, out)).rejects.toThrow(InvalidInputError);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['x.jsonl']);
    // Without noClobber the file is replaced.
    addTrial({ day: 2, outcome: 'passed' });
    expect((await exportTrials(store, { format: 'records' }, out)).count).toBe(2);
    expect(readJsonl(out)).toHaveLength(2);
  });
});

describe('exportTrials chat', () => {
  it('exports only passed, completely graded trials by default, redacted', async () => {
    addTrial({ day: 1, outcome: 'passed', system: 'Be kind.', prompt: `use ${GOOGLE_KEY}` });
    addTrial({ day: 2, outcome: 'failed' });
    addTrial({ day: 3, outcome: 'errored' });
    addTrial({ day: 4, outcome: 'incomplete' });
    addTrial({ day: 5, outcome: 'passed' });
    const out = path.join(dir, 'chat.jsonl');
    const { count } = await exportTrials(store, { format: 'chat' }, out);
    expect(count).toBe(2);
    expect(readJsonl<ChatExample>(out)).toEqual([
      {
        messages: [
          { role: 'system', content: 'Be kind.' },
          { role: 'user', content: 'use [REDACTED]' },
          { role: 'assistant', content: 'answer 1' },
        ],
      },
      {
        messages: [
          { role: 'user', content: 'prompt 5' },
          { role: 'assistant', content: 'answer 5' },
        ],
      },
    ]);
    expect((await exportTrials(store, { format: 'chat', includeIncomplete: true }, path.join(dir, 'c2.jsonl'))).count).toBe(3);
    expect((await exportTrials(store, { format: 'chat', filters: { status: 'failed' } }, path.join(dir, 'c3.jsonl'))).count).toBe(1);
  });

  it('uses the processed prompt (what the model actually saw) when there is one', async () => {
    const t = store.create({ prompt: 'short', processedPrompt: 'short + context' });
    store.markRunning(t.id);
    store.complete(t.id, { output: 'o', model: 'm', inputTokens: 1, outputTokens: 1, costUsd: 0, latencyMs: 1 });
    store.grade(t.id, [pass], true);
    const out = path.join(dir, 'c.jsonl');
    await exportTrials(store, { format: 'chat' }, out);
    expect(readJsonl<ChatExample>(out)[0]!.messages[0]).toEqual({ role: 'user', content: 'short + context' });
  });
});

describe('runExportCli', () => {
  function io() {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out: string[] = [];
    const err: string[] = [];
    stdout.on('data', (c: Buffer) => out.push(c.toString()));
    stderr.on('data', (c: Buffer) => err.push(c.toString()));
    return { stdout, stderr, out: () => out.join(''), err: () => err.join('') };
  }

  it('writes JSONL to stdout by default and reports on stderr', async () => {
    addTrial({ day: 1, outcome: 'passed', prompt: `k ${GOOGLE_KEY}` });
    addTrial({ day: 2, outcome: 'failed' });
    const s = io();
    const code = await runExportCli(['--status', 'passed'], { store, secrets: [], stdout: s.stdout, stderr: s.stderr });
    await new Promise((r) => setImmediate(r));
    expect(code).toBe(0);
    const lines = s.out().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TrialRecordV2);
    expect(lines.map((l) => l.input.prompt)).toEqual(['k [REDACTED]']);
    expect(s.err()).toBe('Exported 1 trial records.\n');
  });

  it('writes chat examples to --out', async () => {
    addTrial({ day: 1, outcome: 'passed' });
    addTrial({ day: 2, outcome: 'passed', model: 'gemini-2.5-pro', tags: ['t'] });
    const s = io();
    const out = path.join(dir, 'cli.jsonl');
    const code = await runExportCli(['--format', 'chat', '--model', 'gemini-2.5-pro', '--tag', 't', '--from', '2026-01-01', '--out', out], {
      store,
      secrets: [],
      stdout: s.stdout,
      stderr: s.stderr,
    });
    expect(code).toBe(0);
    expect(readJsonl<ChatExample>(out)).toHaveLength(1);
    expect(s.out()).toBe('');
    expect(s.err()).toBe(`Exported 1 chat examples to ${out}.\n`);
  });

  it.each([
    [['--format', 'csv'], /--format must be records or chat/],
    [['--status', 'great'], /--status must be one of/],
    [['--from', 'last week'], /from "last week" is not a date/],
    [['--limit', '0'], /--limit must be a positive integer/],
    [['--bogus'], /Unknown option '--bogus'[\s\S]*Usage: task-orchestrator export/],
  ])('rejects %j with exit code 2', async (argv, message) => {
    const s = io();
    const code = await runExportCli(argv, { store, secrets: [], stdout: s.stdout, stderr: s.stderr });
    await new Promise((r) => setImmediate(r));
    expect(code).toBe(2);
    expect(s.err()).toMatch(message);
    expect(s.out()).toBe('');
  });

  it('prints help', async () => {
    const s = io();
    expect(await runExportCli(['--help'], { store, secrets: [], stdout: s.stdout, stderr: s.stderr })).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(s.err()).toContain('--format records|chat');
  });
});
