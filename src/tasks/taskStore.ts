import type { Clock } from '../clock.js';
import type { Statement } from 'better-sqlite3';
import { cachedPrepare, type Db, type Migration } from '../db/database.js';
import { NotFoundError } from '../errors.js';

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
}

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
  limit?: number | undefined;
  offset?: number | undefined;
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
];

const TASK_COLUMNS = 'id, title, description, priority, status, due, tags, source, created_at, updated_at, completed_at';

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
}

/** Milliseconds for ordering and filtering: a date alone counts as the start of that day, UTC. */
export function dueToMs(due: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(due) ? `${due}T00:00:00Z` : due);
  if (Number.isNaN(ms)) throw new RangeError(`not a date: ${due}`);
  return ms;
}

function normaliseDue(due: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(due) ? due : new Date(dueToMs(due)).toISOString();
}

function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
}

function toTask(row: TaskRow): Task {
  return { ...row, tags: JSON.parse(row.tags) as string[] };
}

/** A row of TASK_COLUMNS in raw (array) mode. */
type TaskTuple = [number, string, string | null, Priority, TaskStatus, string | null, string, string | null, string, string, string | null];

function tupleToTask([id, title, description, priority, status, due, tags, source, created_at, updated_at, completed_at]: TaskTuple): Task {
  return { id, title, description, priority, status, due, tags: JSON.parse(tags) as string[], source, created_at, updated_at, completed_at };
}

/** The user's persistent task list. Every write is one statement or one transaction. */
export class TaskStore {
  private readonly stmt: (sql: string) => Statement;
  private readonly listCache = new Map<string, { version: string; answer: { tasks: Task[]; total: number } }>();
  /** Our own commits (they do not change data_version on this connection). */
  private writes = 0;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.stmt = cachedPrepare(db);
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
    const run = this.db.transaction(() => {
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
    return run.immediate();
  }

  delete(id: number): Task {
    this.writes += 1;
    const run = this.db.transaction(() => {
      const existing = this.get(id);
      this.stmt('DELETE FROM tasks WHERE id = ?').run(id);
      return existing;
    });
    return run.immediate();
  }
}
