import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TrialPort } from '../../../src/agents/ports.js';
import { ManualClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { AppError, InvalidInputError, NotFoundError } from '../../../src/errors.js';
import type { GraderResult } from '../../../src/eval/graders/types.js';
import { canTransition, TRIAL_STATUSES, trialMigrations, TrialStore, TrialTransitionError, type TrialStatus } from '../../../src/eval/trialStore.js';
import { makeTempDir } from '../../helpers/paths.js';

let dir: string;
let db: Db;
let clock: ManualClock;
let store: TrialStore;

beforeEach(() => {
  dir = makeTempDir('trials-');
  db = openDatabase(path.join(dir, 'test.db'), { migrations: trialMigrations });
  db.pragma('synchronous = OFF'); // durability is not under test here; speed is
  clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  store = new TrialStore(db, clock);
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const passResult: GraderResult = { type: 'non_empty', pass: true, score: 1, reason: 'ok', status: 'graded', required: true, weight: 1 };

const completed = { output: 'answer', model: 'gemini-2.5-flash', provider: 'google_gemini', inputTokens: 10, outputTokens: 5, costUsd: 0.001, latencyMs: 1234 };

/** Drives a new trial to `status` through the real lifecycle. */
function trialIn(status: TrialStatus, extra: Parameters<TrialStore['create']>[0] = { prompt: 'p' }) {
  const t = store.create(extra);
  if (status === 'created') return t;
  if (status === 'errored') return store.error(t.id, { code: 'budget_exceeded', message: 'over' });
  store.markRunning(t.id);
  if (status === 'running') return store.get(t.id);
  store.complete(t.id, completed);
  if (status === 'completed') return store.get(t.id);
  return store.grade(t.id, [passResult], status === 'passed');
}

describe('TrialStore lifecycle', () => {
  it('walks created -> running -> completed -> passed, keeping every fact', () => {
    const t = store.create({
      prompt: 'Summarise this',
      processedPrompt: 'Summarise this\n\n<context>',
      system: 'Be brief.',
      responseSchema: { type: 'object' },
      provider: 'google_gemini',
      taskId: 7,
      tags: [' a ', 'b', 'a', ''],
      parentRunId: 'run_1',
    });
    expect(t.id).toMatch(/^tr_[A-Za-z0-9_-]{12}$/);
    expect(t).toMatchObject({
      status: 'created',
      attempts: 0,
      tags: ['a', 'b'],
      task_id: 7,
      parent_run_id: 'run_1',
      response_schema: { type: 'object' },
      created_at: '2026-01-15T12:00:00.000Z',
      created_at_ms: Date.UTC(2026, 0, 15, 12, 0, 0),
    });

    clock.advance(1000);
    expect(store.markRunning(t.id, { model: 'gemini-2.5-flash', modelReason: 'tier 2: code' })).toMatchObject({
      status: 'running',
      attempts: 1,
      model: 'gemini-2.5-flash',
      model_reason: 'tier 2: code',
      updated_at: '2026-01-15T12:00:01.000Z',
    });
    expect(store.markRunning(t.id).attempts).toBe(2);

    clock.advance(1000);
    const done = store.complete(t.id, { ...completed, parsedJson: { ok: true } });
    expect(done).toMatchObject({
      status: 'completed',
      output: 'answer',
      parsed_json: { ok: true },
      input_tokens: 10,
      output_tokens: 5,
      cost_usd: 0.001,
      latency_ms: 1234,
      attempts: 2,
      model_reason: 'tier 2: code',
    });

    const graded = store.grade(t.id, [passResult], true, { score: 1, incomplete: true });
    expect(graded).toMatchObject({ status: 'passed', grader_results: [passResult], score: 1, grading_incomplete: true });
    expect(store.get(t.id)).toEqual(graded);
  });

  it('records errors, also straight from created', () => {
    const t = store.create({ prompt: 'p' });
    expect(store.error(t.id, { code: 'budget_exceeded', message: 'Daily budget reached.', costUsd: 0 })).toMatchObject({
      status: 'errored',
      error_code: 'budget_exceeded',
      error_message: 'Daily budget reached.',
    });
    const r = trialIn('running');
    expect(store.error(r.id, { code: 'provider_error', message: '503', model: null, attempts: 4, latencyMs: 99.6 })).toMatchObject({
      status: 'errored',
      attempts: 4,
      latency_ms: 100,
      model: null,
    });
  });

  const all = TRIAL_STATUSES;
  // Nothing has a way back to "created", so targets start at "running".
  const cases = all.flatMap((from) => all.filter((to) => to !== 'created').map((to) => [from, to] as const));
  it.each(cases)('%s -> %s follows the lifecycle table', (from, to) => {
    const t = trialIn(from);
    const move = () => {
      if (to === 'running') return store.markRunning(t.id);
      if (to === 'completed') return store.complete(t.id, completed);
      if (to === 'errored') return store.error(t.id, { code: 'x', message: 'y' });
      return store.grade(t.id, [passResult], to === 'passed');
    };
    if (canTransition(from, to)) {
      expect(move().status).toBe(to);
    } else {
      expect(move).toThrow(TrialTransitionError);
      expect(store.get(t.id).status).toBe(from);
    }
  });

  it('explains an invalid transition', () => {
    const t = trialIn('passed');
    try {
      store.markRunning(t.id);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).message).toBe(`Trial ${t.id} is passed and cannot become running (it is final).`);
    }
    const c = trialIn('created');
    expect(() => store.grade(c.id, [], true)).toThrow(`Trial ${c.id} is created and cannot become passed (allowed next: running, errored).`);
  });

  it('names unknown ids', () => {
    expect(() => store.get('tr_nope')).toThrow(NotFoundError);
    expect(() => store.markRunning('tr_nope')).toThrow('No trial with id tr_nope. Use trials_list to see trial ids.');
  });

  it('fits the agent pipeline port: open starts running, finish completes and grades in one step', () => {
    const port: TrialPort = store;
    const fields = { prompt: 'p', system: null, responseSchema: null, provider: 'google_gemini', taskId: null, tags: [], parentRunId: null };
    port.open({ id: 'tr_given_id', ...fields });
    expect(store.get('tr_given_id')).toMatchObject({ status: 'running', attempts: 1 });
    const answer = { output: 'o', finishReason: 'stop', model: 'm', modelReason: 'r', inputTokens: 1, outputTokens: 1, costUsd: 0, latencyMs: 1, attempts: 3 };
    port.finish('tr_given_id', answer, { results: [passResult], passed: false, score: 0.25, incomplete: true });
    expect(store.get('tr_given_id')).toMatchObject({ status: 'failed', attempts: 3, model_reason: 'r', finish_reason: 'stop', output: 'o', score: 0.25, grading_incomplete: true });
    expect(store.get('tr_given_id').grader_results).toEqual([passResult]);
    // A finished trial is final; one never opened cannot be finished.
    expect(() => port.finish('tr_given_id', answer, { results: [], passed: true })).toThrow('Trial tr_given_id is failed and cannot become passed (it is final).');
    port.create({ id: 'tr_created', ...fields });
    expect(() => port.finish('tr_created', answer, { results: [], passed: true })).toThrow('Trial tr_created is created and cannot become passed');
    expect(() => port.finish('tr_nope', answer, { results: [], passed: true })).toThrow(NotFoundError);
  });

  it('stores how the answer ended', () => {
    const t = store.create({ prompt: 'p' });
    store.markRunning(t.id);
    expect(store.get(t.id).finish_reason).toBeNull();
    store.complete(t.id, { ...completed, finishReason: 'length' });
    expect(store.get(t.id)).toMatchObject({ status: 'completed', finish_reason: 'length' });
  });

  it('adds later columns to a database made before them, keeping its trials', () => {
    db.close();
    const file = path.join(dir, 'old.db');
    const old = openDatabase(file, { migrations: trialMigrations.filter((m) => m.id === 'trials/001-create') });
    // Written as the first release wrote it: only the columns it had.
    old.prepare(
      `INSERT INTO trials (id, status, prompt, tags, created_at_ms, created_at, updated_at_ms, updated_at)
       VALUES ('tr_old', 'passed', 'from before', '[]', 0, '1970-01-01T00:00:00.000Z', 0, '1970-01-01T00:00:00.000Z')`,
    ).run();
    old.close();
    db = openDatabase(file, { migrations: trialMigrations });
    expect(new TrialStore(db, clock).get('tr_old')).toMatchObject({ prompt: 'from before', status: 'passed', finish_reason: null });
  });

  it('keeps trials across reopening the database', () => {
    const t = trialIn('passed');
    db.close();
    db = openDatabase(path.join(dir, 'test.db'), { migrations: trialMigrations });
    expect(new TrialStore(db, clock).get(t.id).status).toBe('passed');
  });
});

describe('TrialStore.list filters', () => {
  beforeEach(() => {
    const mk = (day: number, status: TrialStatus, model: string, tags: string[]) => {
      clock.set(Date.UTC(2026, 0, day, 10));
      const t = store.create({ prompt: `day ${day}`, tags, model, taskId: day === 3 ? 42 : undefined });
      if (status === 'created') return;
      store.markRunning(t.id);
      store.complete(t.id, { ...completed, model });
      if (status !== 'completed') store.grade(t.id, [passResult], status === 'passed');
    };
    mk(1, 'passed', 'flash', ['x']);
    mk(2, 'failed', 'flash', ['y']);
    mk(3, 'passed', 'pro', ['x', 'y']);
    mk(4, 'created', 'pro', []);
  });

  it.each([
    ['no filter: newest first', {}, ['day 4', 'day 3', 'day 2', 'day 1']],
    ['status', { status: 'passed' as const }, ['day 3', 'day 1']],
    ['several statuses', { status: ['failed', 'created'] as TrialStatus[] }, ['day 4', 'day 2']],
    ['model', { model: 'flash' }, ['day 2', 'day 1']],
    ['tag', { tag: 'y' }, ['day 3', 'day 2']],
    ['task', { taskId: 42 }, ['day 3']],
    ['from a date', { from: '2026-01-02' }, ['day 4', 'day 3', 'day 2']],
    ['to a date includes that day', { to: '2026-01-02' }, ['day 2', 'day 1']],
    ['to a date-time is exclusive', { to: '2026-01-02T10:00:00Z' }, ['day 1']],
    ['from/to in ms', { from: Date.UTC(2026, 0, 2), to: Date.UTC(2026, 0, 3) }, ['day 2']],
    ['combined', { status: 'passed' as const, tag: 'x', model: 'pro' }, ['day 3']],
  ])('%s', (_name, filters, prompts) => {
    const { trials, total } = store.list(filters);
    expect(trials.map((t) => t.prompt)).toEqual(prompts);
    expect(total).toBe(prompts.length);
  });

  it('pages with limit and offset, total unchanged', () => {
    const { trials, total } = store.list({ limit: 2, offset: 1 });
    expect(trials.map((t) => t.prompt)).toEqual(['day 3', 'day 2']);
    expect(total).toBe(4);
  });

  it('rejects a bad date with an actionable message', () => {
    expect(() => store.list({ from: 'yesterday' })).toThrow(InvalidInputError);
    expect(() => store.list({ from: 'yesterday' })).toThrow('from "yesterday" is not a date (YYYY-MM-DD) or ISO date-time.');
  });

  it('keyset pages run oldest first with no gaps or repeats', () => {
    clock.set(Date.UTC(2026, 0, 5));
    for (let i = 0; i < 5; i++) store.create({ prompt: `same ms ${i}` });
    const seen: string[] = [];
    let cursor;
    for (;;) {
      const page = store.page({}, cursor, 3);
      if (page.length === 0) break;
      seen.push(...page.map((t) => t.id));
      const last = page[page.length - 1]!;
      cursor = { createdAtMs: last.created_at_ms, id: last.id };
    }
    expect(seen).toHaveLength(9);
    expect(new Set(seen).size).toBe(9);
    expect(store.get(seen[0]!).prompt).toBe('day 1');
  });
});

describe('recovery at start-up', () => {
  it('ends trials left running by a server that is gone, and only those', async () => {
    const { spawnSync } = await import('node:child_process');
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const crashed = trialIn('running');
    const crashedEarly = trialIn('created');
    const otherLiveServer = trialIn('running');
    const finished = trialIn('passed');
    db.prepare('UPDATE trials SET owner_pid = ?, owner_instance = ? WHERE id IN (?, ?)').run(deadPid, 'gone', crashed.id, crashedEarly.id);
    db.prepare('UPDATE trials SET owner_pid = ?, owner_instance = ? WHERE id = ?').run(process.ppid, 'another', otherLiveServer.id);

    // The current store's own trials are in flight, not interrupted.
    expect(store.recoverInterrupted()).toBe(2);
    for (const id of [crashed.id, crashedEarly.id]) {
      expect(store.get(id)).toMatchObject({ status: 'errored', error_code: 'interrupted', error_message: expect.stringMatching(/server stopped/) });
    }
    expect(store.get(otherLiveServer.id).status).toBe('running');
    expect(store.get(finished.id).status).toBe('passed');

    // A restarted server in this same process (a new store) takes over what its predecessor left.
    const mine = trialIn('running');
    expect(new TrialStore(db, clock).recoverInterrupted()).toBe(1);
    expect(store.get(mine.id).status).toBe('errored');
  });
});
