import type { Db, Migration } from '../db/database.js';

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

/** Runs per task id, for the ids that have any. Empty when the database has no trials table. */
export function readTaskRuns(db: Db, taskIds: readonly number[]): Map<number, TaskRuns> {
  const out = new Map<number, TaskRuns>();
  if (taskIds.length === 0) return out;
  if (!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trials'`).get()) return out;
  const ids = [...new Set(taskIds)];
  // Chunked: SQLite caps bound parameters per statement.
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const marks = chunk.map(() => '?').join(',');
    const totals = db
      .prepare(`SELECT task_id, COUNT(*) AS n, SUM(cost_usd) AS usd FROM trials WHERE task_id IN (${marks}) GROUP BY task_id`)
      .all(...chunk) as Array<{ task_id: number; n: number; usd: number }>;
    for (const t of totals) out.set(t.task_id, { count: t.n, cost_usd: t.usd, recent_trial_ids: [] });
    const recent = db
      .prepare(
        `SELECT task_id, id FROM (
           SELECT task_id, id, ROW_NUMBER() OVER (PARTITION BY task_id ORDER BY created_at_ms DESC, id DESC) AS rn
           FROM trials WHERE task_id IN (${marks})
         ) WHERE rn <= ${RECENT} ORDER BY task_id, rn`,
      )
      .all(...chunk) as Array<{ task_id: number; id: string }>;
    for (const r of recent) out.get(r.task_id)?.recent_trial_ids.push(r.id);
  }
  for (const runs of out.values()) runs.cost_usd = Math.round(runs.cost_usd * 1e6) / 1e6;
  return out;
}
