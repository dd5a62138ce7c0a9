import type { Statement } from 'better-sqlite3';
import type { Migration } from '../db/database.js';

/**
 * The agent runs (trials) linked to tasks through spawn's task_id, read straight from the trials
 * table: the task list shows them without depending on the agent or eval code.
 */

export interface TaskRuns {
  count: number;
  /** Whole cost of those runs, judges and retries included, in USD. */
  cost_usd: number;
  /** The most recent few, newest first (trials_get shows one). */
  recent_trial_ids: string[];
}

const RECENT = 5;

/** Runs after the trials migrations: the per-task read must not scan every trial. */
export const taskRunMigrations: Migration[] = [
  {
    id: 'tasks/003-trials-by-task',
    sql: `CREATE INDEX IF NOT EXISTS trials_task ON trials (task_id, created_at_ms) WHERE task_id IS NOT NULL;`,
  },
];

/**
 * Runs per task id, for the ids that have any. `prepare` should cache statements (the list view
 * asks on every call); the ids go in as one JSON array, so the SQL text never varies.
 */
export function readTaskRuns(prepare: (sql: string) => Statement, taskIds: readonly number[]): Map<number, TaskRuns> {
  const out = new Map<number, TaskRuns>();
  if (taskIds.length === 0) return out;
  // Most databases have few runs tied to tasks: one probe of the partial index settles that.
  if (prepare('SELECT 1 FROM trials WHERE task_id IS NOT NULL LIMIT 1').get() === undefined) return out;
  const rows = prepare(
    `SELECT task_id, id, n, usd FROM (
       SELECT task_id, id,
         ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY created_at_ms DESC, id DESC) AS rn,
         COUNT(*) OVER (PARTITION BY task_id) AS n,
         SUM(cost_usd) OVER (PARTITION BY task_id) AS usd
       FROM trials WHERE task_id IN (SELECT value FROM json_each(?))
     ) WHERE rn <= ${RECENT} ORDER BY task_id, rn`,
  ).all(JSON.stringify([...new Set(taskIds)])) as Array<{ task_id: number; id: string; n: number; usd: number }>;
  for (const r of rows) {
    let runs = out.get(r.task_id);
    if (!runs) out.set(r.task_id, (runs = { count: r.n, cost_usd: Math.round(r.usd * 1e6) / 1e6, recent_trial_ids: [] }));
    runs.recent_trial_ids.push(r.id);
  }
  return out;
}
