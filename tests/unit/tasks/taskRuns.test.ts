import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALL_MIGRATIONS } from '../../../src/app.js';
import { ManualClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { TrialStore } from '../../../src/eval/trialStore.js';
import { TaskStore, taskMigrations } from '../../../src/tasks/taskStore.js';
import { makeTempDir } from '../../helpers/paths.js';

describe('agent runs linked to tasks (trials.task_id)', () => {
  let db: Db;
  let clock: ManualClock;
  beforeEach(() => {
    db = openDatabase(path.join(makeTempDir(), 'test.db'), { migrations: ALL_MIGRATIONS });
    clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
  });
  afterEach(() => db.close());

  it('counts each task\'s runs, sums their cost and names the latest first', () => {
    const tasks = new TaskStore(db, clock);
    const trials = new TrialStore(db, clock);
    const a = tasks.add({ title: 'A' });
    const b = tasks.add({ title: 'B' });
    const ids: string[] = [];
    for (const [taskId, cost] of [[a.id, 0.0012], [a.id, 0.0030], [b.id, 0.5], [null, 9]] as const) {
      clock.advance(1_000);
      const t = trials.create({ prompt: 'p', taskId });
      trials.markRunning(t.id);
      trials.complete(t.id, { output: 'ok', model: 'm', inputTokens: 1, outputTokens: 1, costUsd: cost, latencyMs: 1 });
      ids.push(t.id);
    }
    const runs = tasks.runsOf([a.id, b.id, 999]);
    expect(runs.get(a.id)).toEqual({ count: 2, cost_usd: 0.0042, recent_trial_ids: [ids[1], ids[0]] });
    expect(runs.get(b.id)).toEqual({ count: 1, cost_usd: 0.5, recent_trial_ids: [ids[2]] });
    expect(runs.has(999)).toBe(false);
    // The index the per-task read relies on exists (tasks/003, after the trials migrations).
    expect(db.prepare(`EXPLAIN QUERY PLAN SELECT task_id, COUNT(*) FROM trials WHERE task_id IN (SELECT value FROM json_each('[1,2]')) GROUP BY task_id`).all().map((r) => (r as { detail: string }).detail).join(' ')).toContain('trials_task');
  });

  it('is empty, not an error, in a database without the trials table', () => {
    const tasksOnly = openDatabase(':memory:', { migrations: taskMigrations });
    const store = new TaskStore(tasksOnly, clock);
    expect(store.runsOf([store.add({ title: 'x' }).id]).size).toBe(0);
    tasksOnly.close();
  });
});
