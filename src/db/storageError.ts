import { AppError, errorMessage } from '../errors.js';

/**
 * The data directory or the database cannot be used. The message names the path, the cause and
 * what the user can do about it, so the model can pass it on as is.
 */
export class StorageError extends AppError {
  constructor(
    readonly file: string,
    cause: string,
    fix: string,
    opts: { cause?: unknown } = {},
  ) {
    super('storage_unavailable', `The database ${file} cannot be used: ${cause}. ${fix}`, { cause: opts.cause, details: { file } });
  }
}

const MOVE_OR_POINT = 'Point TASK_ORCHESTRATOR_HOME at a directory this user can write, or fix the path, then call again.';

/** The fix for each failure, by Node errno or SQLite result code (extended codes by prefix). */
const FIXES: Array<[RegExp, string]> = [
  [/^(ENOTDIR|EEXIST)$/, `A file is in the way of the data directory. ${MOVE_OR_POINT}`],
  [/^(EACCES|EPERM|EROFS|SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_PERM|SQLITE_AUTH)/, 'This user cannot write there: make it writable (chmod u+w), or point TASK_ORCHESTRATOR_HOME at a directory this user can write, then call again.'],
  [/^(ENOSPC|EDQUOT|SQLITE_FULL)/, 'The disk (or quota) is full: free some space; nothing is lost, call again afterwards.'],
  [/^(SQLITE_NOTADB|SQLITE_CORRUPT)/, 'The file is damaged or is not a Task Orchestrator database: stop the server, move the file (and its -wal, -shm) aside or restore a backup; a new empty database is created at start.'],
  [/^(SQLITE_IOERR|EIO)/, 'The disk reported an I/O error: check the disk (dmesg), then restart the server.'],
];

/** A StorageError for a failure of the file system or of SQLite's file, else undefined. */
export function storageErrorFrom(err: unknown, file: string): StorageError | undefined {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const fix = FIXES.find(([pattern]) => pattern.test(code));
  if (!fix) return undefined;
  return new StorageError(file, `${errorMessage(err)} (${code})`, fix[1], { cause: err });
}

/** The same, for a failure while serving: only SQLite's own codes (a tool's EACCES is not the database's). */
export function storageErrorFromSqlite(err: unknown, file: string): StorageError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? storageErrorFrom(err, file) : undefined;
}
