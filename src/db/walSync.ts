import fs from 'node:fs';
import type { Db } from './database.js';

/** fsync of one open file; runs on libuv's thread pool so the event loop never waits on the disk. */
export type Fsync = (fd: number) => Promise<void>;

const fsyncOnThreadPool: Fsync = (fd) =>
  new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));

/**
 * Group commit for a WAL-mode connection that commits with synchronous=NORMAL: commits write
 * their frames to the WAL without an fsync (they survive a killed process, not power loss), and
 * `sync()` makes every commit before it durable by fsyncing the WAL file, which is what
 * synchronous=FULL does at every commit. Callers that arrive while an fsync is in flight share
 * the next one, so twenty agents finishing together cost one or two fsyncs, none on the main
 * thread; with FULL they cost twenty, each blocking the event loop (milliseconds apiece on a
 * laptop disk).
 *
 * Checkpoints need no help: SQLite syncs the WAL before copying it into the database file.
 */
export class WalSync {
  private fd: number | undefined;
  /** total_changes() covered by the last fsync that succeeded. */
  private synced = 0;
  private running: Promise<void> | undefined;
  /** total_changes() when the fsync in flight started. */
  private runningCovers = 0;
  /** The fsync that starts after `running`, shared by everyone who asked meanwhile. */
  private queued: Promise<void> | undefined;
  private closed = false;
  /**
   * The first fsync error, kept: after a failed fsync Linux may drop the unwritten pages and
   * report the next fsync as a success, so a retry proves nothing (PostgreSQL's "fsyncgate").
   * From then on sync() refuses, and tool answers say so, until the server restarts.
   */
  private failure: Error | undefined;
  private readonly totalChanges: () => number;

  constructor(
    private readonly db: Db,
    private readonly fsync: Fsync = fsyncOnThreadPool,
  ) {
    const statement = db.prepare('SELECT total_changes() AS n').pluck();
    this.totalChanges = () => statement.get() as number;
    // Nothing this connection wrote before now (migrations ran under synchronous=FULL) needs it.
    this.synced = this.totalChanges();
  }

  /**
   * Resolves once everything this connection committed before the call is on disk. Cheap when
   * nothing was written since the last fsync (one query, no I/O).
   */
  sync(): Promise<void> {
    if (this.closed || this.db.memory) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    // Nothing committed since the fsync in flight started: it covers the caller.
    if (this.totalChanges() === this.runningCovers) return this.running;
    // The fsync in flight may have started before the caller's commit: queue one after it.
    const next = () => {
      this.queued = undefined;
      return this.start();
    };
    this.queued = this.running.then(next, next);
    return this.queued;
  }

  /** Waits for pending fsyncs and releases the WAL file handle; later sync() calls do nothing. */
  async close(): Promise<void> {
    await this.sync().catch(() => {});
    this.closed = true;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private start(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Queued behind an fsync that failed: that failure stands (see `failure`).
    if (this.failure) return Promise.reject(this.failure);
    // Read before the fsync starts: every commit counted here is in the WAL file already.
    const changes = this.totalChanges();
    if (changes === this.synced) return Promise.resolve();
    const run = Promise.resolve()
      .then(() => this.fsync(this.walFd()))
      .then(
        () => {
          this.synced = Math.max(this.synced, changes);
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          this.failure ??= new Error(`fsync of the database failed (${message})`);
          throw this.failure;
        },
      );
    const tracked = run.finally(() => {
      if (this.running === tracked) this.running = undefined;
    });
    this.running = tracked;
    this.runningCovers = changes;
    return tracked;
  }

  /**
   * The WAL file, opened once. Our connection keeps it in existence: SQLite deletes the WAL only
   * when the last connection to the database closes. r+ because Windows flushes only writable
   * handles.
   */
  private walFd(): number {
    this.fd ??= fs.openSync(`${this.db.name}-wal`, 'r+');
    return this.fd;
  }
}
