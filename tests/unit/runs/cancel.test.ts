import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundRuns, runMigrations } from '../../../src/runs/backgroundRuns.js';
import { runDetachable } from '../../../src/runs/detach.js';
import { systemClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { silentLogger } from '../../../src/logger.js';
import { makeTempDir } from '../../helpers/paths.js';

describe('cancelling and adopting background runs', () => {
  const open: Db[] = [];
  afterEach(() => open.splice(0).forEach((db) => db.open && db.close()));
  const fresh = (file = path.join(makeTempDir(), 'runs.db')) => {
    const db = openDatabase(file, { migrations: runMigrations });
    open.push(db);
    return { db, runs: new BackgroundRuns(db, systemClock, silentLogger, { sync: async () => {} }) };
  };

  it('runs/002 keeps the runs recorded before it', () => {
    const file = path.join(makeTempDir(), 'old.db');
    const old = openDatabase(file, { migrations: runMigrations.slice(0, 1) });
    old.prepare(`INSERT INTO background_runs (id, kind, status, owner_pid, owner_instance, created_at, result) VALUES ('run_old', 'spawn_agent', 'done', 1, 'x', '2026-01-01T00:00:00Z', '{"a":1}')`).run();
    old.close();
    const { runs } = fresh(file);
    return expect(runs.get('run_old')).resolves.toMatchObject({ status: 'done', result: { a: 1 } });
  });

  it('cancel aborts the work, waits for its end and records it as cancelled with what it returned', async () => {
    const { runs } = fresh();
    const id = runs.start('test', (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ spent: 0.5 }))));
    const snapshot = await runs.cancel(id);
    expect(snapshot).toMatchObject({ status: 'cancelled', result: { spent: 0.5 }, error: expect.stringMatching(/agent_cancel/) });
    // A run already over stays as it is.
    expect((await runs.cancel(id)).status).toBe('cancelled');
    const done = runs.start('test', async () => 'ok');
    await runs.get(done, 1_000);
    expect((await runs.cancel(done)).status).toBe('done');
    await expect(runs.cancel('run_nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('shutdown still reports interrupted, not cancelled', async () => {
    const { runs } = fresh();
    const id = runs.start('test', (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('cut'))));
    await runs.shutdown(1_000);
    expect((await runs.get(id)).status).toBe('interrupted');
  });

  it('runDetachable answers with the value when the work ends in time, and writes no run', async () => {
    const { db, runs } = fresh();
    const outcome = await runDetachable(runs, { kind: 'k', afterMs: 1_000, signal: new AbortController().signal }, async () => 7);
    expect(outcome).toEqual({ detached: false, value: 7 });
    expect(db.prepare('SELECT count(*) AS n FROM background_runs').get()).toEqual({ n: 0 });
  });

  it('runDetachable hands slow work to a run with its partial results, and later partials reach the run', async () => {
    const { runs } = fresh();
    let finish!: () => void;
    let report!: (p: unknown) => void;
    const client = new AbortController();
    const outcome = await runDetachable(runs, { kind: 'k', afterMs: 20, signal: client.signal }, async (signal, reportPartial) => {
      report = reportPartial;
      reportPartial([1]);
      await new Promise<void>((resolve) => (finish = resolve));
      return signal.aborted ? 'aborted' : 'finished';
    });
    expect(outcome).toMatchObject({ detached: true, partial: [1] });
    if (!outcome.detached) return;
    // The client's request is over: cancelling it no longer reaches the run.
    client.abort();
    report([1, 2]);
    expect((await runs.get(outcome.runId)).partial).toEqual([1, 2]);
    finish();
    expect(await runs.get(outcome.runId, 1_000)).toMatchObject({ status: 'done', result: 'finished' });
  });
});
