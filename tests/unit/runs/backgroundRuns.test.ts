import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundRuns, runMigrations } from '../../../src/runs/backgroundRuns.js';
import { systemClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { createLogger } from '../../../src/logger.js';
import { makeTempDir } from '../../helpers/paths.js';

describe('background runs when the database refuses a write', () => {
  const open: Db[] = [];
  afterEach(() => open.splice(0).forEach((db) => db.open && db.close()));

  it('a run whose end cannot be written still reports its end, and nothing crashes', async () => {
    const file = path.join(makeTempDir(), 'runs.db');
    const db = openDatabase(file, { migrations: runMigrations, busyTimeoutMs: 20 });
    const other = new Database(file);
    open.push(db, other);
    const lines: string[] = [];
    const runs = new BackgroundRuns(db, systemClock, createLogger({ level: 'error', write: (l) => lines.push(l) }), { sync: async () => {} });

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const id = runs.start('test', async (_signal, reportPartial) => {
      await gate;
      reportPartial({ done: 1 }); // refused too: progress is best effort
      return { answer: 42 };
    });
    // Another process holds the write lock past our busy timeout when the run ends.
    other.prepare('BEGIN IMMEDIATE').run();
    release();
    const snapshot = await runs.get(id, 2_000);
    expect(snapshot).toMatchObject({ status: 'done', result: { answer: 42 }, error: null });
    expect(lines.join('')).toMatch(/could not record progress of background run/);
    expect(lines.join('')).toMatch(/could not record the result of background run .*database is locked/);
    other.prepare('ROLLBACK').run();
  });
});
