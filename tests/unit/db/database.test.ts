import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, SCHEMA_VERSION } from '../../../src/db/database.js';
import { StorageError, storageErrorFromSqlite } from '../../../src/db/storageError.js';
import { makeTempDir } from '../../helpers/paths.js';

const migrations = [{ id: 'test/001', sql: 'CREATE TABLE t (v TEXT)' }];
const openError = (file: string): StorageError => {
  try {
    openDatabase(file, { migrations }).close();
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error('opened');
};

describe('openDatabase fails clearly: path, cause, fix', () => {
  it('a file where the data directory should be (works as root, unlike chmod)', () => {
    const blocker = path.join(makeTempDir(), 'a-file');
    fs.writeFileSync(blocker, 'x');
    const file = path.join(blocker, 'home', 'orchestrator.db');
    const err = openError(file);
    expect(err.code).toBe('storage_unavailable');
    expect(err.message).toContain(`The database ${file} cannot be used: `);
    expect(err.message).toMatch(/ENOTDIR.*A file is in the way of the data directory\. Point TASK_ORCHESTRATOR_HOME at a directory/);
    expect(err.details).toEqual({ file });
  });

  it('a file that is not a database is refused, and left as it was', () => {
    const file = path.join(makeTempDir(), 'orchestrator.db');
    fs.writeFileSync(file, 'this is not sqlite, just text '.repeat(200));
    const err = openError(file);
    expect(err.message).toMatch(/SQLITE_NOTADB\)\. The file is damaged or is not a Task Orchestrator database: stop the server, move the file/);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^this is not sqlite/);
  });

  it('a damaged database is found by quick_check at open', () => {
    const file = path.join(makeTempDir(), 'orchestrator.db');
    const db = openDatabase(file, { migrations });
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 2_000; i++) insert.run(`row ${i} ${'x'.repeat(100)}`);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // Scribble over the middle pages (b-tree pages of t), keeping the header intact.
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096 * 3, 0x5a), 0, 4096 * 3, 4096 * 3);
    fs.closeSync(fd);
    expect(openError(file).message).toMatch(/SQLITE_CORRUPT.*damaged/);
    // Big files are not read whole at every start.
    expect(() => openDatabase(file, { migrations, quickCheckMaxBytes: 1024 }).close()).not.toThrow(StorageError);
  });

  it('a database written by a newer version is refused', () => {
    const file = path.join(makeTempDir(), 'orchestrator.db');
    const db = openDatabase(file, { migrations });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(openError(file).message).toMatch(new RegExp(`written by a newer Task Orchestrator \\(schema ${SCHEMA_VERSION + 1}; this version reads up to ${SCHEMA_VERSION}\\)\\. Upgrade`));
  });

  it('creates the data directory 0700 and the database, -wal and -shm 0600', () => {
    const home = path.join(makeTempDir(), 'new-home');
    const file = path.join(home, 'orchestrator.db');
    const db = openDatabase(file, { migrations });
    db.prepare('INSERT INTO t (v) VALUES (?)').run('secret prompt');
    const mode = (f: string) => fs.statSync(f).mode & 0o777;
    expect(mode(home)).toBe(0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).toBe(0o600);
    db.close();
    // A database an older version left 0644 is made private.
    fs.chmodSync(file, 0o644);
    openDatabase(file, { migrations }).close();
    expect(mode(file)).toBe(0o600);
  });

  it('SQLite failures while serving map the same way; other errors do not', () => {
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    expect(storageErrorFromSqlite(full, '/d/orchestrator.db')?.message).toBe(
      'The database /d/orchestrator.db cannot be used: database or disk is full (SQLITE_FULL). The disk (or quota) is full: free some space; nothing is lost, call again afterwards.',
    );
    expect(storageErrorFromSqlite(Object.assign(new Error('x'), { code: 'EACCES' }), '/d/orchestrator.db')).toBeUndefined();
    expect(storageErrorFromSqlite(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' }), '/d/orchestrator.db')).toBeUndefined();
  });
});
