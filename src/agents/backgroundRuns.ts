import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db, Migration } from '../db/database.js';
import { CancelledError, errorMessage, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';

export const runMigrations: Migration[] = [
  {
    id: 'runs/001-create',
    sql: `
      CREATE TABLE background_runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running','done','failed','interrupted')),
        owner_pid INTEGER NOT NULL,
        owner_instance TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        partial TEXT,
        result TEXT,
        error TEXT
      );
      CREATE INDEX background_runs_status ON background_runs (status);
    `,
  },
];

export type RunStatus = 'running' | 'done' | 'failed' | 'interrupted';

export interface RunSnapshot {
  run_id: string;
  kind: string;
  status: RunStatus;
  created_at: string;
  finished_at: string | null;
  partial: unknown;
  result: unknown;
  error: string | null;
}

interface RunRow {
  id: string;
  kind: string;
  status: RunStatus;
  created_at: string;
  finished_at: string | null;
  partial: string | null;
  result: string | null;
  error: string | null;
  owner_pid: number;
  owner_instance: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Work that outlives the client's patience: started at once, polled with agent_result. Rows live
 * in SQLite so a run cut off by a restart is reported as interrupted, never silently lost.
 */
export class BackgroundRuns {
  private readonly instance = randomUUID();
  private readonly live = new Map<string, { done: Promise<void>; abort: AbortController }>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Makes the run's final row durable without anyone polling for it (see WalSync). */
    private readonly walSync: { sync(): Promise<void> },
  ) {}

  /** Marks runs whose owning process is gone as interrupted. Called at start-up. */
  recoverInterrupted(): number {
    const rows = this.db.prepare<[], RunRow>(`SELECT * FROM background_runs WHERE status = 'running'`).all();
    const mark = this.db.prepare(`UPDATE background_runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ? AND status = 'running'`);
    let count = 0;
    for (const row of rows) {
      if (row.owner_instance !== this.instance && (row.owner_pid === process.pid || !isAlive(row.owner_pid))) {
        mark.run(this.iso(), 'The server restarted while this run was in progress; its results up to then are in partial.', row.id);
        count += 1;
      }
    }
    if (count > 0) this.logger.warn(`marked ${count} background run(s) interrupted by a restart`);
    return count;
  }

  start<T>(kind: string, work: (signal: AbortSignal, reportPartial: (partial: unknown) => void) => Promise<T>): string {
    const id = `run_${randomUUID()}`;
    this.db
      .prepare(`INSERT INTO background_runs (id, kind, status, owner_pid, owner_instance, created_at) VALUES (?, ?, 'running', ?, ?, ?)`)
      .run(id, kind, process.pid, this.instance, this.iso());
    const abort = new AbortController();
    const reportPartial = (partial: unknown) =>
      this.db.prepare(`UPDATE background_runs SET partial = ? WHERE id = ?`).run(JSON.stringify(partial), id);
    const done = work(abort.signal, reportPartial).then(
      (result) => {
        this.db
          .prepare(`UPDATE background_runs SET status = 'done', result = ?, finished_at = ? WHERE id = ? AND status = 'running'`)
          .run(JSON.stringify(result), this.iso(), id);
      },
      (err: unknown) => {
        const message = err instanceof CancelledError ? 'cancelled (server shutting down)' : err instanceof Error ? err.message : String(err);
        this.db
          .prepare(`UPDATE background_runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'`)
          .run(err instanceof CancelledError ? 'interrupted' : 'failed', message, this.iso(), id);
      },
    );
    const entry = {
      done: done.finally(() => {
        this.live.delete(id);
        this.walSync.sync().catch((err: unknown) => this.logger.error('could not fsync the database', { error: errorMessage(err) }));
      }),
      abort,
    };
    this.live.set(id, entry);
    return id;
  }

  /** The run's state; waits up to `waitMs` for a running one to finish. */
  async get(id: string, waitMs = 0): Promise<RunSnapshot> {
    const live = this.live.get(id);
    if (live && waitMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.done, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    }
    const row = this.db.prepare<[string], RunRow>('SELECT * FROM background_runs WHERE id = ?').get(id);
    if (!row) throw new NotFoundError(`No background run with id ${id}.`);
    return {
      run_id: row.id,
      kind: row.kind,
      status: row.status,
      created_at: row.created_at,
      finished_at: row.finished_at,
      partial: row.partial ? (JSON.parse(row.partial) as unknown) : null,
      result: row.result ? (JSON.parse(row.result) as unknown) : null,
      error: row.error,
    };
  }

  /** Aborts every live run and waits (bounded) for them to record their end. */
  async shutdown(timeoutMs: number): Promise<void> {
    for (const { abort } of this.live.values()) abort.abort(new CancelledError('server shutting down'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.live.values()].map((l) => l.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
