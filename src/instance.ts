import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import type { Statement } from 'better-sqlite3';
import type { Db, Migration } from './db/database.js';
import { processIsAlive } from './processAlive.js';

/** Who wrote a row that a server owns while it works on it (a running trial, run, open reservation). */
export interface RowOwner {
  pid: number | null;
  instance: string | null;
}

/** The registry of server instances on a database file (see InstanceIdentity.join). */
export const instanceMigrations: Migration[] = [
  {
    id: 'instances/001-create',
    sql: `
      CREATE TABLE server_instances (
        id TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        process_started_ms REAL NOT NULL,
        started_at_ms INTEGER NOT NULL,
        stopped_at_ms INTEGER
      );
    `,
  },
];

/** Stopped instances are kept this long in the registry (diagnosis), then purged when one joins. */
const STOPPED_RETENTION_MS = 30 * 86_400_000;

export interface InstanceIdentityOptions {
  clock: Clock;
  /** Tests name an instance (or simulate an earlier process with the same pid). */
  id?: string;
  pid?: number;
  /** When this OS process started; defaults to performance.timeOrigin. */
  processStartedMs?: number;
}

/**
 * One server instance among those sharing a database file: created once in the composition root
 * and given to every store that marks rows as its own (trials, background runs, budget
 * reservations), with the one rule for whether a row's owner is gone. This is also the seam for
 * federation / team mode later: one identity per server instance, which a remote peer can name.
 *
 * The rule: a row of this instance is alive; a row of another process is gone once that process
 * no longer exists, or its instance said it stopped; a row of another instance in this very
 * process (two apps in one process, as in tests) is alive while that instance is registered here
 * and not stopped, and gone otherwise (a restarted server in this process, or an earlier process
 * that had the same pid — pid 1 in a container — which the process start time tells apart).
 * Rows written before owners were recorded (pid null) are gone. Worker threads have their own
 * start time, so an app in another worker of this process counts as gone: run one per process.
 */
export class InstanceIdentity {
  readonly id: string;
  readonly pid: number;
  /** Epoch ms this instance was created. */
  readonly startedAt: number;
  readonly processStartedMs: number;
  private registry: { db: Db; lookup: Statement } | undefined;
  private readonly clock: Clock;

  constructor(opts: InstanceIdentityOptions) {
    this.clock = opts.clock;
    this.id = opts.id ?? randomUUID();
    this.pid = opts.pid ?? process.pid;
    this.startedAt = opts.clock.now();
    this.processStartedMs = opts.processStartedMs ?? performance.timeOrigin;
  }

  /** The row is this instance's own. */
  isSelf(owner: RowOwner): boolean {
    return owner.pid === this.pid && owner.instance === this.id;
  }

  /** Whether the row's owner is gone (see the class comment), so its rows may be recovered. */
  ownerIsGone(owner: RowOwner): boolean {
    if (owner.pid === null) return true;
    if (this.isSelf(owner)) return false;
    const registered = owner.instance === null ? undefined : this.lookup(owner.instance);
    if (registered?.stopped_at_ms != null) return true;
    if (owner.pid !== this.pid) return !processIsAlive(owner.pid);
    return registered === undefined || registered.process_started_ms !== this.processStartedMs;
  }

  /**
   * Registers this instance on the database file (the composition root does this once), so other
   * instances in this process see its rows as alive; stores created without it (unit tests) see
   * every other instance of their own process as gone.
   */
  join(db: Db): void {
    const now = this.clock.now();
    db.prepare(`DELETE FROM server_instances WHERE stopped_at_ms IS NOT NULL AND stopped_at_ms < ?`).run(now - STOPPED_RETENTION_MS);
    db.prepare(
      `INSERT INTO server_instances (id, pid, process_started_ms, started_at_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET stopped_at_ms = NULL`,
    ).run(this.id, this.pid, this.processStartedMs, this.startedAt);
    this.registry = { db, lookup: db.prepare(`SELECT process_started_ms, stopped_at_ms FROM server_instances WHERE id = ?`) };
  }

  /**
   * Marks registered instances whose process is gone as stopped (called by the sweep), so the
   * registry says which instances are running. Returns how many.
   */
  markDeadStopped(): number {
    if (!this.registry) return 0;
    const { db } = this.registry;
    const rows = db.prepare(`SELECT id, pid FROM server_instances WHERE stopped_at_ms IS NULL AND pid != ?`).all(this.pid) as Array<{ id: string; pid: number }>;
    const stop = db.prepare(`UPDATE server_instances SET stopped_at_ms = ? WHERE id = ? AND stopped_at_ms IS NULL`);
    let count = 0;
    for (const row of rows) if (!processIsAlive(row.pid)) count += stop.run(this.clock.now(), row.id).changes;
    return count;
  }

  /** The server is closing: its rows left open count as gone from now on. Idempotent. */
  leave(): void {
    if (!this.registry) return;
    this.registry.db.prepare(`UPDATE server_instances SET stopped_at_ms = ? WHERE id = ? AND stopped_at_ms IS NULL`).run(this.clock.now(), this.id);
    this.registry = undefined;
  }

  private lookup(instance: string): { process_started_ms: number; stopped_at_ms: number | null } | undefined {
    return this.registry?.lookup.get(instance) as { process_started_ms: number; stopped_at_ms: number | null } | undefined;
  }
}
