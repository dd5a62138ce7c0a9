import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { NotFoundError } from '../../../src/errors.js';
import { TaskStore, taskMigrations } from '../../../src/tasks/taskStore.js';
import { makeTempDir } from '../../helpers/paths.js';

describe('TaskStore (real SQLite file)', () => {
  let dir: string;
  let db: Db;
  let clock: ManualClock;
  let store: TaskStore;

  beforeEach(() => {
    dir = makeTempDir();
    db = openDatabase(path.join(dir, 'test.db'), { migrations: taskMigrations });
    clock = new ManualClock(Date.UTC(2026, 10, 1, 9, 0, 0));
    store = new TaskStore(db, clock);
  });
  afterEach(() => db.close());

  it('adds a task with defaults and reads it back', () => {
    const task = store.add({ title: '  Write report  ' });
    expect(task).toMatchObject({ id: 1, title: 'Write report', priority: 'medium', status: 'open', due: null, tags: [], description: null });
    expect(task.created_at).toBe('2026-11-01T09:00:00.000Z');
    expect(store.get(task.id)).toEqual(task);
  });

  it('orders by priority, then due date (none last), then creation', () => {
    const add = (title: string, extra: Partial<Parameters<TaskStore['add']>[0]> = {}) => {
      clock.advance(1000);
      return store.add({ title, ...extra });
    };
    add('low no due', { priority: 'low' });
    add('medium late', { due: '2026-12-20' });
    add('medium none');
    add('medium soon', { due: '2026-11-05T10:00:00+02:00' });
    add('critical', { priority: 'critical' });
    add('medium soon too, created later', { due: '2026-11-05T08:00:00Z' });
    const titles = store.list().tasks.map((t) => t.title);
    expect(titles).toEqual(['critical', 'medium soon', 'medium soon too, created later', 'medium late', 'medium none', 'low no due']);
  });

  it('filters by status, priority, tag and due_before, and pages', () => {
    store.add({ title: 'a', tags: ['home', 'home', ' x '], due: '2026-11-03' });
    store.add({ title: 'b', tags: ['work'], priority: 'high', due: '2026-11-10' });
    const c = store.add({ title: 'c', tags: ['work'] });
    store.complete(c.id);
    expect(store.list({ tag: 'home' }).tasks.map((t) => t.title)).toEqual(['a']);
    expect(store.list({ tag: 'home' }).tasks[0]!.tags).toEqual(['home', 'x']);
    expect(store.list({ priority: 'high' }).tasks.map((t) => t.title)).toEqual(['b']);
    expect(store.list({ dueBefore: '2026-11-05' }).tasks.map((t) => t.title)).toEqual(['a']);
    expect(store.list({ status: 'done' }).tasks.map((t) => t.title)).toEqual(['c']);
    expect(store.list({ status: 'all' }).total).toBe(3);
    const page = store.list({ status: 'all', limit: 1, offset: 1 });
    expect(page.tasks).toHaveLength(1);
    expect(page.total).toBe(3);
  });

  it('completes once; completing again is harmless', () => {
    const t = store.add({ title: 'x' });
    clock.advance(60_000);
    const first = store.complete(t.id);
    expect(first.alreadyDone).toBe(false);
    expect(first.task.completed_at).toBe('2026-11-01T09:01:00.000Z');
    clock.advance(60_000);
    const second = store.complete(t.id);
    expect(second.alreadyDone).toBe(true);
    expect(second.task.completed_at).toBe(first.task.completed_at);
  });

  it('updates fields, clears with null, reopens', () => {
    const t = store.add({ title: 'x', description: 'd', due: '2026-11-02', source: 'mail' });
    store.complete(t.id);
    const updated = store.update(t.id, { title: 'y', description: null, due: null, priority: 'critical', tags: ['a'], status: 'open', source: null });
    expect(updated).toMatchObject({ title: 'y', description: null, due: null, priority: 'critical', tags: ['a'], status: 'open', completed_at: null, source: null });
    expect(store.list().tasks[0]!.id).toBe(t.id);
  });

  it('deletes and reports unknown ids clearly', () => {
    const t = store.add({ title: 'x' });
    expect(store.delete(t.id).title).toBe('x');
    expect(() => store.get(t.id)).toThrow(NotFoundError);
    expect(() => store.complete(999)).toThrow(/No task with id 999/);
    expect(() => store.update(999, { title: 'z' })).toThrow(NotFoundError);
    expect(() => store.delete(999)).toThrow(NotFoundError);
  });

  it('a repeated list is answered again only while nothing changed, in this or another process', () => {
    store.add({ title: 'first' });
    const before = store.list();
    expect(store.list()).toBe(before);
    // Another connection (as a second server process would) commits: the next list sees it.
    const other = openDatabase(path.join(dir, 'test.db'), { migrations: taskMigrations });
    new TaskStore(other, clock).add({ title: 'from elsewhere' });
    other.close();
    expect(store.list().tasks.map((t) => t.title)).toEqual(['first', 'from elsewhere']);
    // Our own writes too.
    const cached = store.list();
    store.complete(cached.tasks[0]!.id);
    expect(store.list().tasks.map((t) => t.title)).toEqual(['from elsewhere']);
    store.update(cached.tasks[1]!.id, { title: 'renamed' });
    expect(store.list().tasks.map((t) => t.title)).toEqual(['renamed']);
  });

  it('persists across reopening the file and applies migrations once', () => {
    store.add({ title: 'survives' });
    db.close();
    db = openDatabase(path.join(dir, 'test.db'), { migrations: taskMigrations });
    expect(new TaskStore(db, clock).list().tasks.map((t) => t.title)).toEqual(['survives']);
    expect(db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: taskMigrations.length });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('tasks/002 upgrades a database made before it: old tasks keep everything and have no external id', () => {
    db.close();
    const file = path.join(dir, 'old.db');
    db = openDatabase(file, { migrations: taskMigrations.slice(0, 1) });
    db.prepare(`INSERT INTO tasks (title, priority, priority_rank, tags, created_at, updated_at) VALUES ('old', 'low', 3, '["x"]', 'a', 'a')`).run();
    db.close();
    db = openDatabase(file, { migrations: taskMigrations });
    expect(new TaskStore(db, clock).get(1)).toMatchObject({ title: 'old', tags: ['x'], external_id: null, origin: null });
    expect(() => db.exec(`UPDATE tasks SET external_id = 'ical:x'; INSERT INTO tasks (title, priority, priority_rank, created_at, updated_at, external_id) VALUES ('dup', 'low', 3, 'a', 'a', 'ical:x')`)).toThrow(/UNIQUE/);
  });

  it('finds tasks by words in the title or description, case-insensitively, literally', () => {
    store.add({ title: 'Call Jörg about the budget' });
    store.add({ title: 'Discount', description: 'Ask for 50% OFF on the ÜBER plan' });
    store.add({ title: 'Plan trip' });
    const titles = (text: string) => store.list({ text }).tasks.map((t) => t.title);
    expect(titles('jörg BUDGET')).toEqual(['Call Jörg about the budget']);
    expect(titles('über 50%')).toEqual(['Discount']);
    expect(titles('5_%')).toEqual([]);
    expect(titles('plan')).toEqual(['Discount', 'Plan trip']);
  });
});
