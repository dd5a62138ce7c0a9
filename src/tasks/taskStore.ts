import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Statement } from 'better-sqlite3';
import { atomicRunner, cachedPrepare, type Atomic, type Db, type Migration } from '../db/database.js';
import { NotFoundError } from '../errors.js';
import { readTaskRuns, type TaskRuns } from './taskRuns.js';
import { isIsoDate, utcDayStartMs } from '../time/isoBounds.js';

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export type TaskStatus = 'open' | 'done';

export interface Task {
  id: number;
  title: string;
  description: string | null;
  priority: Priority;
  status: TaskStatus;
  /** As given: a date (YYYY-MM-DD) or a UTC date-time. */
  due: string | null;
  tags: string[];
  source: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** Set on imported tasks: "ical:<UID>" or "mail:<Message-ID>"; unique. */
  external_id: string | null;
  /** Where an imported task came from (sender and date of a mail, start of an event, ...). */
  origin: TaskOrigin | null;
}

export type TaskOrigin = {
  kind: 'email' | 'event' | 'todo';
  from?: string | undefined;
  /** ISO date-time the mail was sent. */
  date?: string | undefined;
  location?: string | undefined;
  /** The RRULE of a recurring event: its due date is the next occurrence. */
  recurrence?: string | undefined;
  file?: string | undefined;
};

export interface NewTask {
  title: string;
  description?: string | undefined;
  priority?: Priority | undefined;
  due?: string | undefined;
  tags?: string[] | undefined;
  source?: string | undefined;
}

export interface TaskChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  priority?: Priority | undefined;
  due?: string | null | undefined;
  tags?: string[] | undefined;
  source?: string | null | undefined;
  status?: TaskStatus | undefined;
}

export interface TaskQuery {
  status?: TaskStatus | 'all' | undefined;
  priority?: Priority | undefined;
  tag?: string | undefined;
  /** Only tasks due strictly before this date or date-time. */
  dueBefore?: string | undefined;
  /** Case-insensitive words that must all appear in the title or description. */
  text?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

/** One task an import wants to exist, keyed by the item's own id. */
export interface ImportedTask {
  externalId: string;
  /** How a report names the item: 'event "Weekly sync" (UID abc)'. */
  label: string;
  title: string;
  description: string | null;
  priority: Priority;
  due: string | null;
  status: TaskStatus;
  tags: string[];
  source: string | null;
  origin: TaskOrigin;
  /**
   * The source cancelled the item (STATUS:CANCELLED, METHOD:CANCEL): the task imported from it
   * is closed; none is created for it.
   */
  cancelled?: true;
}

export type ImportOutcome =
  | { kind: 'created' | 'updated' | 'unchanged'; task: Task }
  | { kind: 'skipped'; item: string; reason: string };

/** The fields an import owns; a hash of them tells an unchanged task from one edited by hand. */
function importHash(f: { title: string; description: string | null; priority: Priority; due: string | null; status: TaskStatus; tags: string[] }): string {
  return createHash('sha256').update(JSON.stringify([f.title, f.description, f.priority, f.due, f.status, f.tags])).digest('base64url');
}

export const taskMigrations: Migration[] = [
  {
    id: 'tasks/001-create',
    sql: `
      CREATE TABLE tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        description TEXT,
        priority TEXT NOT NULL CHECK (priority IN ('critical','high','medium','low')),
        priority_rank INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done')),
        due TEXT,
        due_ms INTEGER,
        tags TEXT NOT NULL DEFAULT '[]',
        source TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        completed_at TEXT
      );
      CREATE INDEX tasks_open_order ON tasks (status, priority_rank, due_ms, id);
    `,
  },
  {
    // Imports: the item's UID / Message-ID (unique, so an import can never create a second copy),
    // a hash of the fields as last imported (to tell a hand edit from an unchanged task), and
    // where it came from.
    id: 'tasks/002-external-id',
    sql: `
      ALTER TABLE tasks ADD COLUMN external_id TEXT;
      ALTER TABLE tasks ADD COLUMN import_hash TEXT;
      ALTER TABLE tasks ADD COLUMN origin TEXT;
      CREATE UNIQUE INDEX tasks_external_id ON tasks (external_id) WHERE external_id IS NOT NULL;
      CREATE INDEX tasks_status_due ON tasks (status, due_ms) WHERE due_ms IS NOT NULL;
    `,
  },
];

const TASK_COLUMNS = 'id, title, description, priority, status, due, tags, source, created_at, updated_at, completed_at, external_id, origin';

const LIST_CACHE_SIZE = 16;

const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

interface TaskRow {
  id: number;
  title: string;
  description: string | null;
  priority: Priority;
  status: TaskStatus;
  due: string | null;
  tags: string;
  source: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  external_id: string | null;
  origin: string | null;
}

/** Milliseconds for ordering and filtering: a date alone counts as the start of that day, UTC. */
export function dueToMs(due: string): number {
  const ms = isIsoDate(due) ? utcDayStartMs(due) : Date.parse(due);
  if (Number.isNaN(ms)) throw new RangeError(`not a date: ${due}`);
  return ms;
}

function normaliseDue(due: string): string {
  return isIsoDate(due) ? due : new Date(dueToMs(due)).toISOString();
}

function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
}

function toTask(row: TaskRow): Task {
  return { ...row, tags: JSON.parse(row.tags) as string[], origin: row.origin === null ? null : (JSON.parse(row.origin) as TaskOrigin) };
}

/** A row of TASK_COLUMNS in raw (array) mode. */
type TaskTuple = [number, string, string | null, Priority, TaskStatus, string | null, string, string | null, string, string, string | null, string | null, string | null];

function tupleToTask([id, title, description, priority, status, due, tags, source, created_at, updated_at, completed_at, external_id, origin]: TaskTuple): Task {
  return {
    id,
    title,
    description,
    priority,
    status,
    due,
    tags: JSON.parse(tags) as string[],
    source,
    created_at,
    updated_at,
    completed_at,
    external_id,
    origin: origin === null ? null : (JSON.parse(origin) as TaskOrigin),
  };
}

/** LIKE pattern for a literal word ("50%" must not match everything). */
function likeContains(word: string): string {
  return `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The user's persistent task list. Every write is one statement or one transaction. */
export class TaskStore {
  private readonly stmt: (sql: string) => Statement;
  private readonly atomic: Atomic;
  private readonly listCache = new Map<string, { version: string; answer: { tasks: Task[]; total: number } }>();
  /** Our own commits (they do not change data_version on this connection). */
  private writes = 0;
  /** Whether this database has the trials table (a tasks-only database in tests has not). */
  private hasTrials: boolean | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.stmt = cachedPrepare(db);
    this.atomic = atomicRunner(db);
    db.function('task_fold', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : ''));
  }

  add(input: NewTask): Task {
    this.writes += 1;
    const now = new Date(this.clock.now()).toISOString();
    const priority = input.priority ?? 'medium';
    const due = input.due === undefined ? null : normaliseDue(input.due);
    const info = this
      .stmt(
        `INSERT INTO tasks (title, description, priority, priority_rank, due, due_ms, tags, source, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        input.title.trim(),
        input.description ?? null,
        priority,
        PRIORITY_RANK[priority],
        due,
        due === null ? null : dueToMs(due),
        JSON.stringify(normaliseTags(input.tags ?? [])),
        input.source ?? null,
        now,
        now,
      );
    return this.get(Number(info.lastInsertRowid));
  }

  exists(id: number): boolean {
    return this.stmt('SELECT 1 FROM tasks WHERE id = ?').get(id) !== undefined;
  }

  get(id: number): Task {
    const row = this.stmt(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
    if (!row) throw new NotFoundError(`No task with id ${id}. Use tasks_list to see task ids.`);
    return toTask(row);
  }

  /**
   * Lists are asked for again and again while nothing changes (an assistant re-checking the
   * list), so the last few answers are kept, each stamped with the database's version: SQLite's
   * data_version (bumped by another process's commit) plus our own write count. Callers get a
   * shared, read-only answer.
   */
  list(query: TaskQuery = {}): { tasks: Task[]; total: number } {
    const key = JSON.stringify(query);
    const version = `${this.stmt('PRAGMA data_version').pluck().get() as number}:${this.writes}`;
    const cached = this.listCache.get(key);
    if (cached?.version === version) return cached.answer;
    const answer = this.queryList(query);
    if (this.listCache.size >= LIST_CACHE_SIZE) this.listCache.delete(this.listCache.keys().next().value!);
    this.listCache.set(key, { version, answer });
    return answer;
  }

  private queryList(query: TaskQuery): { tasks: Task[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    const status = query.status ?? 'open';
    if (status !== 'all') {
      where.push('status = ?');
      params.push(status);
    }
    if (query.priority) {
      where.push('priority = ?');
      params.push(query.priority);
    }
    if (query.tag) {
      where.push('EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE json_each.value = ?)');
      params.push(query.tag.trim());
    }
    if (query.dueBefore) {
      where.push('due_ms IS NOT NULL AND due_ms < ?');
      params.push(dueToMs(query.dueBefore));
    }
    for (const word of (query.text ?? '').split(/\s+/).filter(Boolean)) {
      // SQLite folds case for ASCII only; task_fold (JavaScript's toLowerCase) folds "Ü" too.
      where.push(`(task_fold(title) LIKE ? ESCAPE '\\' OR task_fold(description) LIKE ? ESCAPE '\\')`);
      const pattern = likeContains(word.toLowerCase());
      params.push(pattern, pattern);
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.stmt(`SELECT COUNT(*) AS n FROM tasks ${whereSql}`).get(...params) as { n: number }).n;
    // Rows as arrays: materialising hundreds of row objects is most of a large list's cost.
    const rows = this.stmt(
      `SELECT ${TASK_COLUMNS} FROM tasks ${whereSql}
       ORDER BY priority_rank, due_ms IS NULL, due_ms, created_at, id
       LIMIT ? OFFSET ?`,
    )
      .raw(true)
      .all(...params, query.limit ?? 50, query.offset ?? 0) as TaskTuple[];
    return { tasks: rows.map(tupleToTask), total };
  }

  /**
   * Open tasks due before `untilMs` (UTC ms; a date counts from its UTC midnight, so callers ask
   * a day beyond what they need and judge each date in the user's zone), soonest first.
   */
  openDueBefore(untilMs: number, limit: number): Task[] {
    const rows = this.stmt(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE status = 'open' AND due_ms IS NOT NULL AND due_ms < ?
       ORDER BY due_ms, priority_rank, id LIMIT ?`,
    )
      .raw(true)
      .all(untilMs, limit) as TaskTuple[];
    return rows.map(tupleToTask);
  }

  /** The agent runs linked to each task (spawn's task_id) and their cost. */
  runsOf(taskIds: readonly number[]): Map<number, TaskRuns> {
    // Decided once: the schema is complete when the store is built (migrations run at open).
    this.hasTrials ??= this.stmt(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trials'`).get() !== undefined;
    return this.hasTrials ? readTaskRuns(this.stmt, taskIds) : new Map();
  }

  /**
   * Writes one import in one transaction: all of it or none. Each item is matched by its
   * external id: new → created; same as last imported → unchanged; changed in the file and
   * untouched here → updated; changed in the file AND edited by hand since the last import →
   * skipped, never overwritten (the report says so, and the user decides).
   */
  applyImport(items: readonly ImportedTask[]): ImportOutcome[] {
    this.writes += 1;
    return this.atomic(() => {
      const seen = new Set<string>();
      const now = new Date(this.clock.now()).toISOString();
      return items.map((item): ImportOutcome => {
        if (seen.has(item.externalId)) return { kind: 'skipped', item: item.label, reason: 'duplicate: an earlier item of this import has the same id' };
        seen.add(item.externalId);
        const due = item.due === null ? null : normaliseDue(item.due);
        const fields = { title: item.title.trim(), description: item.description, priority: item.priority, due, status: item.status, tags: normaliseTags(item.tags) };
        const incoming = importHash(fields);
        const row = this.stmt('SELECT id, import_hash FROM tasks WHERE external_id = ?').get(item.externalId) as { id: number; import_hash: string | null } | undefined;
        if (item.cancelled) return this.closeCancelled(item, row, now);
        if (!row) {
          const info = this
            .stmt(
              `INSERT INTO tasks (title, description, priority, priority_rank, status, due, due_ms, tags, source, created_at, updated_at,
                 completed_at, external_id, import_hash, origin)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              fields.title, fields.description, fields.priority, PRIORITY_RANK[fields.priority], fields.status, due,
              due === null ? null : dueToMs(due), JSON.stringify(fields.tags), item.source, now, now,
              fields.status === 'done' ? now : null, item.externalId, incoming, JSON.stringify(item.origin),
            );
          return { kind: 'created', task: this.get(Number(info.lastInsertRowid)) };
        }
        const current = this.get(row.id);
        if (incoming === row.import_hash) return { kind: 'unchanged', task: current };
        const local = importHash(current);
        if (local === incoming) {
          this.stmt('UPDATE tasks SET import_hash = ? WHERE id = ?').run(incoming, row.id);
          return { kind: 'unchanged', task: current };
        }
        if (local !== row.import_hash) {
          return {
            kind: 'skipped',
            item: item.label,
            reason: `edited since import: task #${row.id} was changed by hand, so the file's changes were not applied (edit it with tasks_update, or delete it and import again)`,
          };
        }
        this.stmt(
          `UPDATE tasks SET title = ?, description = ?, priority = ?, priority_rank = ?, status = ?, due = ?, due_ms = ?, tags = ?,
             completed_at = ?, import_hash = ?, origin = ?, updated_at = ? WHERE id = ?`,
        ).run(
          fields.title, fields.description, fields.priority, PRIORITY_RANK[fields.priority], fields.status, due,
          due === null ? null : dueToMs(due), JSON.stringify(fields.tags),
          fields.status === 'done' ? (current.completed_at ?? now) : null, incoming, JSON.stringify(item.origin), now, row.id,
        );
        return { kind: 'updated', task: this.get(row.id) };
      });
    });
  }

  /** A cancelled item: its task (if one was imported and not edited by hand since) is marked done. */
  private closeCancelled(item: ImportedTask, row: { id: number; import_hash: string | null } | undefined, now: string): ImportOutcome {
    if (!row) return { kind: 'skipped', item: item.label, reason: 'cancelled in the calendar' };
    const current = this.get(row.id);
    if (current.status === 'done') return { kind: 'unchanged', task: current };
    if (importHash(current) !== row.import_hash) {
      return {
        kind: 'skipped',
        item: item.label,
        reason: `edited since import: task #${row.id} was changed by hand, so it was left open although the calendar cancelled it (close it with tasks_complete)`,
      };
    }
    this.stmt(`UPDATE tasks SET status = 'done', completed_at = ?, updated_at = ?, import_hash = ? WHERE id = ?`).run(
      now,
      now,
      importHash({ ...current, status: 'done' }),
      row.id,
    );
    return { kind: 'updated', task: this.get(row.id) };
  }

  complete(id: number): { task: Task; alreadyDone: boolean } {
    const existing = this.get(id);
    if (existing.status === 'done') return { task: existing, alreadyDone: true };
    const now = new Date(this.clock.now()).toISOString();
    this.writes += 1;
    this.stmt(`UPDATE tasks SET status = 'done', completed_at = ?, updated_at = ? WHERE id = ? AND status = 'open'`).run(now, now, id);
    return { task: this.get(id), alreadyDone: false };
  }

  update(id: number, changes: TaskChanges): Task {
    this.writes += 1;
    return this.atomic(() => {
      const existing = this.get(id);
      const now = new Date(this.clock.now()).toISOString();
      const sets: string[] = ['updated_at = ?'];
      const params: unknown[] = [now];
      const set = (column: string, value: unknown) => {
        sets.push(`${column} = ?`);
        params.push(value);
      };
      if (changes.title !== undefined) set('title', changes.title.trim());
      if (changes.description !== undefined) set('description', changes.description);
      if (changes.priority !== undefined) {
        set('priority', changes.priority);
        set('priority_rank', PRIORITY_RANK[changes.priority]);
      }
      if (changes.due !== undefined) {
        const due = changes.due === null ? null : normaliseDue(changes.due);
        set('due', due);
        set('due_ms', due === null ? null : dueToMs(due));
      }
      if (changes.tags !== undefined) set('tags', JSON.stringify(normaliseTags(changes.tags)));
      if (changes.source !== undefined) set('source', changes.source);
      if (changes.status !== undefined && changes.status !== existing.status) {
        set('status', changes.status);
        set('completed_at', changes.status === 'done' ? now : null);
      }
      this.db.prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
      return this.get(id);
    });
  }

  delete(id: number): Task {
    this.writes += 1;
    return this.atomic(() => {
      const existing = this.get(id);
      this.stmt('DELETE FROM tasks WHERE id = ?').run(id);
      return existing;
    });
  }
}
