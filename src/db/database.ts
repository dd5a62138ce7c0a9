import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

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
}

/**
 * Opens (creating if needed) the SQLite file with the settings that make it safe to share between
 * two server processes: WAL and a busy timeout. Migrations commit with synchronous=FULL; after
 * them the connection commits with NORMAL (a commit survives a killed process at once, power loss
 * once WalSync.sync() has fsynced the WAL: the server does that before any tool answers).
 */
export function openDatabase(file: string, opts: OpenDatabaseOptions): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  // Loaded here, not at import: modules that only need the helpers below (the stores, and through
  // them the tool schemas) must not pull the native addon into start-up.
  const BetterSqlite3 = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  const db = new BetterSqlite3(file);
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  runMigrations(db, opts.migrations);
  db.pragma('synchronous = NORMAL');
  return db;
}

/** Runs `fn` in one immediate transaction (nested calls become savepoints). */
export function runAtomic<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
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
