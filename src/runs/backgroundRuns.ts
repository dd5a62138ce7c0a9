import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db, Migration } from '../db/database.js';
import { AppError, CancelledError, errorMessage, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { InstanceIdentity } from '../instance.js';

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
  {
    // agent_cancel: a run can end as cancelled. SQLite cannot alter a CHECK, so the table is rebuilt.
    id: 'runs/002-cancelled',
    sql: `
      CREATE TABLE background_runs_new (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running','done','failed','interrupted','cancelled')),
        owner_pid INTEGER NOT NULL,
        owner_instance TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        partial TEXT,
        result TEXT,
        error TEXT
      );
      INSERT INTO background_runs_new SELECT id, kind, status, owner_pid, owner_instance, created_at, finished_at, partial, result, error FROM background_runs;
      DROP TABLE background_runs;
      ALTER TABLE background_runs_new RENAME TO background_runs;
      CREATE INDEX background_runs_status ON background_runs (status);
    `,
  },
];

export const RUN_STATUSES = ['running', 'done', 'failed', 'interrupted', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

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

const CANCELLED_BY_REQUEST = 'Cancelled with agent_cancel; only what was spent until then is booked (see result).';

/** Why a live run was aborted: the server stopping, or agent_cancel. */
type StopReason = 'shutdown' | 'cancel';

const INTERRUPTED_BY_SHUTDOWN =
  'The server shut down while this run was in progress; agents still running then were cancelled (see result).';

interface UnrecordedEnd {
  status: RunStatus;
  result: unknown;
  error: string | null;
  finished_at: string;
}

/**
 * Work that outlives the client's patience: started at once, polled with agent_result. Rows live
 * in SQLite so a run cut off by a restart is reported as interrupted, never silently lost.
 */
export class BackgroundRuns {
  private readonly live = new Map<string, { done: Promise<void>; abort: AbortController; stop: { reason: StopReason | undefined } }>();
  /** Runs that ended but whose end could not be written (see start). */
  private readonly unrecorded = new Map<string, UnrecordedEnd>();

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Makes the run's final row durable without anyone polling for it (see WalSync). */
    private readonly walSync: { sync(): Promise<void> },
    /** This server instance (the composition root's); one of its own by default. */
    private readonly instance: InstanceIdentity = new InstanceIdentity({ clock }),
  ) {}

  /** Marks runs whose owning server is gone as interrupted. Called at start-up and by the periodic sweep. */
  recoverInterrupted(): number {
    const rows = this.db.prepare<[], RunRow>(`SELECT * FROM background_runs WHERE status = 'running'`).all();
    const mark = this.db.prepare(`UPDATE background_runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ? AND status = 'running'`);
    let count = 0;
    for (const row of rows) {
      if (this.instance.ownerIsGone({ pid: row.owner_pid, instance: row.owner_instance })) {
        mark.run(this.iso(), 'The server running this run stopped (crashed, was killed or restarted) while the run was in progress; its results up to then are in partial.', row.id);
        count += 1;
      }
    }
    if (count > 0) this.logger.warn(`marked ${count} background run(s) interrupted by a restart`);
    return count;
  }

  start<T>(kind: string, work: (signal: AbortSignal, reportPartial: (partial: unknown) => void, runId: string) => Promise<T>): string {
    const abort = new AbortController();
    const id = this.insert(kind, null);
    const reportPartial = this.partialWriter(id);
    this.track(id, work(abort.signal, reportPartial, id), abort);
    return id;
  }

  /**
   * Takes over work already running (a foreground call that outlived the client's patience, see
   * runDetachable) as a background run: from now on `abort` is the run's to pull (shutdown,
   * agent_cancel). Returns the run id and where the work reports its progress from here on.
   */
  adopt<T>(kind: string, running: Promise<T>, abort: AbortController, partial: unknown): { runId: string; reportPartial: (partial: unknown) => void } {
    const id = this.insert(kind, partial);
    this.track(id, running, abort);
    return { runId: id, reportPartial: this.partialWriter(id) };
  }

  /**
   * agent_cancel: aborts a live run and waits (bounded) for it to record its end as cancelled.
   * A run already over is left as it is; one owned by another server process cannot be reached.
   */
  async cancel(id: string, waitMs = 5_000): Promise<RunSnapshot> {
    const live = this.live.get(id);
    if (live) {
      live.stop.reason ??= 'cancel';
      live.abort.abort(new CancelledError('Cancelled with agent_cancel.'));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([live.done, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    } else {
      const snapshot = await this.get(id);
      if (snapshot.status === 'running') {
        throw new AppError('invalid_input', `Background run ${id} belongs to another server process; it can be cancelled only there.`);
      }
    }
    return this.get(id);
  }

  private insert(kind: string, partial: unknown): string {
    const id = `run_${randomUUID()}`;
    this.db
      .prepare(`INSERT INTO background_runs (id, kind, status, owner_pid, owner_instance, created_at, partial) VALUES (?, ?, 'running', ?, ?, ?, ?)`)
      .run(id, kind, this.instance.pid, this.instance.id, this.iso(), partial === null || partial === undefined ? null : JSON.stringify(partial));
    return id;
  }

  private partialWriter(id: string): (partial: unknown) => void {
    return (partial) => {
      try {
        this.db.prepare(`UPDATE background_runs SET partial = ? WHERE id = ?`).run(JSON.stringify(partial), id);
      } catch (err) {
        // Progress is best effort; the run's end is what must not be lost.
        this.logger.error(`could not record progress of background run ${id}`, { error: errorMessage(err) });
      }
    };
  }

  private track<T>(id: string, running: Promise<T>, abort: AbortController): void {
    const stop: { reason: StopReason | undefined } = { reason: undefined };
    // Nothing below may throw into the run (or, at its end, out of it as an unhandled rejection
    // that would take the server down): a write that fails (SQLITE_BUSY past the timeout, a full
    // disk) is logged, and the run's end is kept in memory for agent_result in this process.
    const write = (what: string, fn: () => void, end?: UnrecordedEnd) => {
      try {
        fn();
      } catch (err) {
        this.logger.error(`could not record ${what} of background run ${id}`, { error: errorMessage(err) });
        if (end) this.unrecorded.set(id, end);
      }
    };
    const stopped = (): { status: RunStatus; error: string } =>
      stop.reason === 'cancel' ? { status: 'cancelled', error: CANCELLED_BY_REQUEST } : { status: 'interrupted', error: INTERRUPTED_BY_SHUTDOWN };
    const done = running.then(
      (result) => {
        // Work that was cut off by shutdown or agent_cancel still returns (its agents end as
        // cancelled results): that is an interrupted or cancelled run, whatever it managed before.
        const end = abort.signal.aborted ? stopped() : { status: 'done' as const, error: null };
        const { status, error } = end;
        const finishedAt = this.iso();
        write(
          'the result',
          () =>
            this.db
              .prepare(`UPDATE background_runs SET status = ?, result = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'`)
              .run(status, JSON.stringify(result), error, finishedAt, id),
          { status, result, error, finished_at: finishedAt },
        );
      },
      (err: unknown) => {
        const end = err instanceof CancelledError || abort.signal.aborted ? stopped() : { status: 'failed' as const, error: errorMessage(err) };
        const { status, error: message } = end;
        const finishedAt = this.iso();
        write(
          'the failure',
          () =>
            this.db
              .prepare(`UPDATE background_runs SET status = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'`)
              .run(status, message, finishedAt, id),
          { status, result: null, error: message, finished_at: finishedAt },
        );
      },
    );
    const entry = {
      done: done.finally(() => {
        this.live.delete(id);
        this.walSync.sync().catch((err: unknown) => this.logger.error('could not fsync the database', { error: errorMessage(err) }));
      }),
      abort,
      stop,
    };
    this.live.set(id, entry);
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
    const end = row.status === 'running' ? this.unrecorded.get(id) : undefined;
    return {
      run_id: row.id,
      kind: row.kind,
      status: end?.status ?? row.status,
      created_at: row.created_at,
      finished_at: end?.finished_at ?? row.finished_at,
      partial: row.partial ? (JSON.parse(row.partial) as unknown) : null,
      result: end ? end.result : row.result ? (JSON.parse(row.result) as unknown) : null,
      error: end ? end.error : row.error,
    };
  }

  /** Aborts every live run and waits (bounded) for them to record their end. */
  async shutdown(timeoutMs: number): Promise<void> {
    for (const { abort, stop } of this.live.values()) {
      stop.reason ??= 'shutdown';
      abort.abort(new CancelledError('server shutting down'));
    }
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
