import type { Db } from '../db/database.js';
import { passRateAfter, votes } from './guardrails/effectiveness.js';
import type { GuardrailRow, PatternRow } from './failureStore.js';

/**
 * Read models of the failure memory for immune_status, immune_dashboard and the HTML dashboard.
 * Reads the same database the server writes; tables of other concerns (ledger, alerts) are read
 * only if they exist.
 */
const DAY_MS = 86_400_000;

export interface GuardrailView {
  id: string;
  pattern_id: string | null;
  kind: string;
  source: string;
  status: string;
  status_reason: string | null;
  instruction: string | null;
  applied: number;
  passed: number;
  failed: number;
  votes: number;
  pass_rate_after: number | null;
}

export interface PatternView {
  id: string;
  failure_class: string;
  severity: string;
  status: string;
  count: number;
  first_seen: string;
  last_seen: string;
  example: string;
  models: Array<{ model: string; failures: number; passes: number }>;
  guardrails: GuardrailView[];
}

export interface StatusReport {
  patterns_known: number;
  patterns_active: number;
  failures_recorded: number;
  period_days: number;
  failure_rate: { current: number | null; previous: number | null; current_trials: number; previous_trials: number };
  recurrences_prevented: number;
  checks: { rewritten: number; blocked: number; observed: number };
  top_patterns: PatternView[];
  guardrails: GuardrailView[];
}

export interface DayRow {
  day: string;
  trials: number;
  failed: number;
  failures: number;
  rewritten: number;
  blocked: number;
  cost_usd: number;
  incidents: number;
}

export interface DashboardReport {
  generated_at: string;
  period_days: number;
  status: StatusReport;
  days: DayRow[];
  by_class: Array<{ key: string; failures: number }>;
  by_operation: Array<{ key: string; failures: number }>;
  by_grader: Array<{ key: string; failures: number }>;
  by_model: Array<{ key: string; failures: number; trials: number }>;
  incidents: Array<{ at: string; kind: string; provider: string; model: string; detail: string }>;
  incidents_by_kind: Array<{ key: string; count: number }>;
  alerts: Array<{ at: string; kind: string; message: string }> | null;
}

const iso = (ms: number) => new Date(ms).toISOString();
const dayKey = (ms: number) => iso(ms).slice(0, 10);

function tableExists(db: Db, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?").get(name) !== undefined;
}

function columns(db: Db, table: string): Set<string> {
  return new Set((db.prepare(`PRAGMA table_info(${JSON.stringify(table)})`).all() as Array<{ name: string }>).map((c) => c.name));
}

export function guardrailView(g: GuardrailRow): GuardrailView {
  const rate = passRateAfter(g);
  return {
    id: g.id,
    pattern_id: g.pattern_id,
    kind: g.kind,
    source: g.source,
    status: g.status,
    status_reason: g.status_reason,
    instruction: g.instruction,
    applied: g.applied,
    passed: g.passed,
    failed: g.failed,
    votes: votes(g),
    pass_rate_after: rate === undefined ? null : Number(rate.toFixed(3)),
  };
}

export function patternViews(db: Db, limit: number, patternId?: string): PatternView[] {
  const rows = (
    patternId
      ? db.prepare('SELECT * FROM immune_patterns WHERE id = ?').all(patternId)
      : db.prepare('SELECT * FROM immune_patterns ORDER BY count DESC, last_seen_ms DESC LIMIT ?').all(limit)
  ) as PatternRow[];
  const models = db.prepare('SELECT model, failures, passes FROM immune_pattern_models WHERE pattern_id = ? ORDER BY failures DESC');
  const guardrails = db.prepare('SELECT * FROM immune_guardrails WHERE pattern_id = ? ORDER BY created_ms');
  return rows.map((p) => ({
    id: p.id,
    failure_class: p.failure_class,
    severity: p.severity,
    status: p.status,
    count: p.count,
    first_seen: iso(p.first_seen_ms),
    last_seen: iso(p.last_seen_ms),
    example: p.sample_prompt.slice(0, 240),
    models: models.all(p.id) as PatternView['models'],
    guardrails: (guardrails.all(p.id) as GuardrailRow[]).map(guardrailView),
  }));
}

export function statusReport(db: Db, now: number, periodDays = 7, top = 5): StatusReport {
  const period = periodDays * DAY_MS;
  const rate = (from: number, to: number) => {
    const r = db
      .prepare("SELECT COUNT(*) AS n, SUM(CASE WHEN status IN ('failed','errored') THEN 1 ELSE 0 END) AS bad FROM immune_outcomes WHERE at_ms >= ? AND at_ms < ?")
      .get(from, to) as { n: number; bad: number | null };
    return { n: r.n, rate: r.n === 0 ? null : Number(((r.bad ?? 0) / r.n).toFixed(4)) };
  };
  const current = rate(now - period, now + 1);
  const previous = rate(now - 2 * period, now - period);
  const counts = db.prepare("SELECT COUNT(*) AS n, SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active FROM immune_patterns").get() as { n: number; active: number | null };
  const checks = db
    .prepare("SELECT SUM(CASE WHEN action = 'rewritten' THEN 1 ELSE 0 END) AS rewritten, SUM(CASE WHEN action = 'blocked' THEN 1 ELSE 0 END) AS blocked, SUM(observed) AS observed FROM immune_checks")
    .get() as { rewritten: number | null; blocked: number | null; observed: number | null };
  const prevented = db.prepare("SELECT COUNT(*) AS n FROM immune_outcomes WHERE guarded = 1 AND status = 'passed'").get() as { n: number };
  return {
    patterns_known: counts.n,
    patterns_active: counts.active ?? 0,
    failures_recorded: (db.prepare('SELECT COUNT(*) AS n FROM immune_failures').get() as { n: number }).n,
    period_days: periodDays,
    failure_rate: { current: current.rate, previous: previous.rate, current_trials: current.n, previous_trials: previous.n },
    recurrences_prevented: prevented.n + (checks.blocked ?? 0),
    checks: { rewritten: checks.rewritten ?? 0, blocked: checks.blocked ?? 0, observed: checks.observed ?? 0 },
    top_patterns: patternViews(db, top),
    guardrails: (db.prepare("SELECT * FROM immune_guardrails ORDER BY applied DESC, created_ms LIMIT 50").all() as GuardrailRow[]).map(guardrailView),
  };
}

function grouped(db: Db, sql: string, from: number): Array<{ key: string; failures: number }> {
  return db.prepare(sql).all(from) as Array<{ key: string; failures: number }>;
}

export function dashboardReport(db: Db, now: number, periodDays = 14): DashboardReport {
  const from = Math.floor((now - (periodDays - 1) * DAY_MS) / DAY_MS) * DAY_MS;
  const days = new Map<string, DayRow>();
  for (let t = from; t <= now; t += DAY_MS) {
    const day = dayKey(t);
    days.set(day, { day, trials: 0, failed: 0, failures: 0, rewritten: 0, blocked: 0, cost_usd: 0, incidents: 0 });
  }
  const each = (sql: string, apply: (row: DayRow, r: Record<string, number>) => void) => {
    for (const r of db.prepare(sql).all(from) as Array<Record<string, number>>) {
      const row = days.get(dayKey(r.day! * DAY_MS));
      if (row) apply(row, r);
    }
  };
  each("SELECT at_ms / 86400000 AS day, COUNT(*) AS n, SUM(CASE WHEN status IN ('failed','errored') THEN 1 ELSE 0 END) AS bad FROM immune_outcomes WHERE at_ms >= ? GROUP BY day", (row, r) => {
    row.trials = r.n!;
    row.failed = r.bad ?? 0;
  });
  each('SELECT at_ms / 86400000 AS day, COUNT(*) AS n FROM immune_failures WHERE at_ms >= ? GROUP BY day', (row, r) => (row.failures = r.n!));
  each("SELECT at_ms / 86400000 AS day, SUM(CASE WHEN action = 'rewritten' THEN 1 ELSE 0 END) AS rw, SUM(CASE WHEN action = 'blocked' THEN 1 ELSE 0 END) AS bl FROM immune_checks WHERE at_ms >= ? GROUP BY day", (row, r) => {
    row.rewritten = r.rw ?? 0;
    row.blocked = r.bl ?? 0;
  });
  each('SELECT at_ms / 86400000 AS day, COUNT(*) AS n FROM immune_incidents WHERE at_ms >= ? GROUP BY day', (row, r) => (row.incidents = r.n!));
  if (tableExists(db, 'ledger')) {
    each('SELECT time_ms / 86400000 AS day, SUM(cost_usd) AS usd FROM ledger WHERE time_ms >= ? GROUP BY day', (row, r) => (row.cost_usd = Number((r.usd ?? 0).toFixed(6))));
  }
  const models = db
    .prepare(
      `SELECT m AS key, SUM(f) AS failures, SUM(t) AS trials FROM (
         SELECT COALESCE(model, 'unknown') AS m, 1 AS f, 0 AS t FROM immune_failures WHERE at_ms >= @from
         UNION ALL SELECT COALESCE(model, 'unknown'), 0, 1 FROM immune_outcomes WHERE at_ms >= @from
       ) GROUP BY m ORDER BY failures DESC LIMIT 12`,
    )
    .all({ from }) as DashboardReport['by_model'];
  return {
    generated_at: iso(now),
    period_days: periodDays,
    status: statusReport(db, now, Math.max(1, Math.round(periodDays / 2)), 8),
    days: [...days.values()],
    by_class: grouped(db, 'SELECT failure_class AS key, COUNT(*) AS failures FROM immune_failures WHERE at_ms >= ? GROUP BY key ORDER BY failures DESC LIMIT 12', from),
    by_operation: grouped(db, 'SELECT operation AS key, COUNT(*) AS failures FROM immune_failures WHERE at_ms >= ? GROUP BY key ORDER BY failures DESC', from),
    by_grader: grouped(
      db,
      "SELECT CASE WHEN failure_class LIKE 'grader:%' THEN substr(failure_class, 8) ELSE '(none: ' || failure_class || ')' END AS key, COUNT(*) AS failures FROM immune_failures WHERE at_ms >= ? GROUP BY key ORDER BY failures DESC LIMIT 12",
      from,
    ),
    by_model: models,
    incidents: (db.prepare('SELECT at_ms, kind, provider, model, detail FROM immune_incidents WHERE at_ms >= ? ORDER BY at_ms DESC LIMIT 20').all(from) as Array<{ at_ms: number; kind: string; provider: string; model: string; detail: string }>).map(
      ({ at_ms, ...rest }) => ({ at: iso(at_ms), ...rest }),
    ),
    incidents_by_kind: db.prepare('SELECT kind AS key, COUNT(*) AS count FROM immune_incidents WHERE at_ms >= ? GROUP BY kind ORDER BY count DESC').all(from) as DashboardReport['incidents_by_kind'],
    alerts: readAlerts(db, from),
  };
}

/** The alerting subsystem's table, if it exists; its shape is not ours, so only what can be found is read. */
function readAlerts(db: Db, from: number): DashboardReport['alerts'] {
  if (!tableExists(db, 'alerts')) return null;
  try {
    const cols = columns(db, 'alerts');
    const at = ['at_ms', 'created_at_ms', 'time_ms', 'sent_at_ms', 'created_ms'].find((c) => cols.has(c));
    const kind = ['kind', 'type', 'rule', 'event', 'severity'].find((c) => cols.has(c));
    const message = ['message', 'text', 'title', 'summary', 'detail'].find((c) => cols.has(c));
    if (!at) return [];
    const rows = db
      .prepare(`SELECT ${at} AS at, ${kind ?? "''"} AS kind, ${message ?? "''"} AS message FROM alerts WHERE ${at} >= ? ORDER BY ${at} DESC LIMIT 10`)
      .all(from) as Array<{ at: number; kind: unknown; message: unknown }>;
    return rows.map((r) => ({ at: iso(Number(r.at)), kind: String(r.kind ?? ''), message: String(r.message ?? '').slice(0, 300) }));
  } catch {
    return [];
  }
}
