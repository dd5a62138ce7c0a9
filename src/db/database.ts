import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { StorageError, storageErrorFrom } from './storageError.js';

export type Db = Database.Database;

/**
 * Returns a `prepare` that compiles each SQL text once per connection: preparing costs more
 * than running a small query, and stores run the same few statements on every call.
 */
export function cachedPrepare(db: Db): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}

/**
 * A versioned schema change owned by one concern (tasks, ledger, trials, ...). Ids are
 * "<concern>/<NNN>-<name>" and are applied once each, in list order, inside a transaction.
 */
export interface Migration {
  id: string;
  sql: string;
}

export interface OpenDatabaseOptions {
  migrations: readonly Migration[];
  /** How long a writer waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Files up to this size get `PRAGMA quick_check` at open (it reads the whole file). */
  quickCheckMaxBytes?: number;
}

/**
 * The schema generation this code writes, kept in `PRAGMA user_version`. A database with a
 * higher one was written by a newer version: refused rather than misread. Raise it with any
 * migration an older version could not work with.
 */
export const SCHEMA_VERSION = 1;
const QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Opens (creating if needed) the SQLite file with the settings that make it safe to share between
 * two server processes: WAL and a busy timeout. Migrations commit with synchronous=FULL; after
 * them the connection commits with NORMAL (a commit survives a killed process at once, power loss
 * once WalSync.sync() has fsynced the WAL: the server does that before any tool answers).
 * The directory is created 0700 and the file 0600 (SQLite gives -wal and -shm the file's mode).
 * Any failure of the directory or the file is a StorageError naming path, cause and fix.
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions): Db {
  let db: Db | undefined;
  try {
    if (file !== ':memory:') preparePrivateFile(file);
    // Loaded here, not at import: modules that only need the helpers below (the stores, and through
    // them the tool schemas) must not pull the native addon into start-up.
    const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    db = new BetterSqlite3(file);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StorageError(file, `it was written by a newer Task Orchestrator (schema ${version}; this version reads up to ${SCHEMA_VERSION})`, 'Upgrade task-orchestrator (npm i -g task-orchestrator-mcp@latest), or point TASK_ORCHESTRATOR_HOME elsewhere.');
    }
    if (file !== ':memory:' && fs.statSync(file).size <= (opts.quickCheckMaxBytes ?? QUICK_CHECK_MAX_BYTES)) {
      const check = db.pragma('quick_check(1)', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(`quick_check found damage: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    runMigrations(db, opts.migrations);
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    db.pragma('synchronous = NORMAL');
    return db;
  } catch (err) {
    db?.close();
    throw storageErrorFrom(err, file) ?? err;
  }
}

function preparePrivateFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, '', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Made by an older version (0644): the prompts and outputs in it are the user's alone.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      try {
        if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
      } catch {
        // Absent, or not ours to change: SQLite's own open reports what matters.
      }
    }
  }
}

/** Runs `fn` in one immediate transaction (nested calls become savepoints). */
export type Atomic = <T>(fn: () => T) => T;

/**
 * An Atomic for `db`, built once per store: better-sqlite3's transaction() wraps a function anew
 * on every call, which costs more than the BEGIN and COMMIT themselves on the per-agent path.
 * Stores run their transactions through one of these, not through db.transaction().
 */
export function atomicRunner(db: Db): Atomic {
  const tx = db.transaction((fn: () => unknown) => fn());
  return <T>(fn: () => T) => tx.immediate(fn) as T;
}

export function runMigrations(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
  )`);
  const isApplied = db.prepare<[string], { id: string }>('SELECT id FROM schema_migrations WHERE id = ?');
  const markApplied = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const migration of migrations) {
    // IMMEDIATE takes the write lock first, so two processes starting together apply each
    // migration once: the second waits, then sees it applied.
    const apply = db.transaction(() => {
      if (isApplied.get(migration.id)) return;
      db.exec(migration.sql);
      markApplied.run(migration.id, new Date().toISOString());
    });
    apply.immediate();
  }
}
