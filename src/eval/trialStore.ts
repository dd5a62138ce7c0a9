import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Statement } from 'better-sqlite3';
import { cachedPrepare, type Db, type Migration } from '../db/database.js';
import { AppError, InvalidInputError, NotFoundError } from '../errors.js';
import { InstanceIdentity } from '../instance.js';
import type { GraderResult } from './graders/types.js';
import { isIsoDate, parseIsoBound, UTC_CALENDAR } from '../time/isoBounds.js';

/**
 * One agent call and what became of it. Lifecycle (never backwards):
 *   created -> running (-> running again per retry attempt) -> completed | errored
 *   created -> errored (refused before any call, e.g. over budget)
 *   completed -> passed | failed (graded)
 */
export const TRIAL_STATUSES = ['created', 'running', 'completed', 'errored', 'passed', 'failed'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

const TRANSITIONS: Record<TrialStatus, readonly TrialStatus[]> = {
  created: ['running', 'errored'],
  running: ['running', 'completed', 'errored'],
  completed: ['passed', 'failed'],
  errored: [],
  passed: [],
  failed: [],
};

/** The states each state may be reached from (the inverse of TRANSITIONS). */
const PREDECESSORS = Object.fromEntries(
  (Object.keys(TRANSITIONS) as TrialStatus[]).map((to) => [to, (Object.keys(TRANSITIONS) as TrialStatus[]).filter((from) => TRANSITIONS[from].includes(to))]),
) as unknown as Record<TrialStatus, readonly TrialStatus[]>;

export function canTransition(from: TrialStatus, to: TrialStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export interface Trial {
  id: string;
  status: TrialStatus;
  prompt: string;
  /** The prompt as sent when a pre-check rewrote it; null when it was sent as given. */
  processed_prompt: string | null;
  /** What the pre-checks applied to this call (empty when none did). */
  guardrails: Array<{ id: string; kind: string; reason: string } & Record<string, unknown>>;
  system: string | null;
  response_schema: Record<string, unknown> | null;
  output: string | null;
  parsed_json: unknown;
  /** How the answer ended (stop, length, safety, other); null until one came. */
  finish_reason: string | null;
  provider: string | null;
  model: string | null;
  model_reason: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  latency_ms: number | null;
  grader_results: GraderResult[] | null;
  score: number | null;
  /** A required grader could not grade; the verdict rests on the others. */
  grading_incomplete: boolean;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  task_id: number | null;
  tags: string[];
  parent_run_id: string | null;
  created_at: string;
  created_at_ms: number;
  updated_at: string;
  updated_at_ms: number;
}

export interface NewTrial {
  /** Set by callers that need the id before the row exists (e.g. to start a trace); else generated. */
  id?: string | undefined;
  prompt: string;
  /** The prompt as actually sent (after templates, attached context, ...). */
  processedPrompt?: string | null | undefined;
  /** Guardrails the pre-checks applied. */
  guardrails?: ReadonlyArray<{ id: string; kind: string; reason: string }> | undefined;
  system?: string | null | undefined;
  responseSchema?: Record<string, unknown> | null | undefined;
  provider?: string | null | undefined;
  model?: string | null | undefined;
  /** Why this model was picked (routing explanation). */
  modelReason?: string | null | undefined;
  taskId?: number | null | undefined;
  tags?: readonly string[] | undefined;
  /** Groups the trials of one parallel run. */
  parentRunId?: string | null | undefined;
}

export interface RunningUpdate {
  provider?: string | undefined;
  model?: string | undefined;
  modelReason?: string | undefined;
}

/** Totals over all attempts. Fields left undefined keep their stored value. */
export interface CompletedUpdate {
  output: string;
  parsedJson?: unknown;
  finishReason?: string | undefined;
  provider?: string | undefined;
  model: string;
  modelReason?: string | undefined;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
  /** Provider requests made (retries included); overrides the count markRunning kept. */
  attempts?: number | undefined;
  /** Guardrails applied to the call, judges' included; undefined keeps what create stored. */
  guardrails?: ReadonlyArray<{ id: string; kind: string; reason: string }> | undefined;
}

export interface ErroredUpdate {
  code: string;
  message: string;
  provider?: string | undefined;
  model?: string | null | undefined;
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  costUsd?: number | undefined;
  latencyMs?: number | undefined;
  attempts?: number | undefined;
}

export interface GradeUpdate {
  score?: number | null | undefined;
  incomplete?: boolean | undefined;
}

/** A time bound: epoch ms, or an ISO date ("2026-01-15", UTC day) / date-time. */
export type TimeBound = number | string;

export interface TrialFilters {
  status?: TrialStatus | readonly TrialStatus[] | undefined;
  /** Created at or after. */
  from?: TimeBound | undefined;
  /** Created before (a bare date includes that whole UTC day). */
  to?: TimeBound | undefined;
  model?: string | undefined;
  provider?: string | undefined;
  tag?: string | undefined;
  taskId?: number | undefined;
  parentRunId?: string | undefined;
}

export interface TrialQuery extends TrialFilters {
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface TrialCursor {
  createdAtMs: number;
  id: string;
}

export interface TrialStoreOptions {
  newId?: () => string;
  /** This server instance (the composition root's); a store of its own by default. */
  instance?: InstanceIdentity;
}

export const trialMigrations: Migration[] = [
  {
    id: 'trials/001-create',
    sql: `
      CREATE TABLE trials (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('created','running','completed','errored','passed','failed')),
        prompt TEXT NOT NULL,
        processed_prompt TEXT,
        system TEXT,
        response_schema TEXT,
        output TEXT,
        parsed_json TEXT,
        provider TEXT,
        model TEXT,
        model_reason TEXT,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        latency_ms INTEGER,
        grader_results TEXT,
        score REAL,
        grading_incomplete INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        error_code TEXT,
        error_message TEXT,
        task_id INTEGER,
        tags TEXT NOT NULL DEFAULT '[]',
        parent_run_id TEXT,
        created_at_ms INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX trials_created ON trials (created_at_ms, id);
      CREATE INDEX trials_status_created ON trials (status, created_at_ms);
      CREATE INDEX trials_model_created ON trials (model, created_at_ms);
      CREATE INDEX trials_parent ON trials (parent_run_id) WHERE parent_run_id IS NOT NULL;
    `,
  },
  {
    // Which server process runs a trial, so one cut off by a crash is not left running forever.
    id: 'trials/002-owner',
    sql: `
      ALTER TABLE trials ADD COLUMN owner_pid INTEGER;
      ALTER TABLE trials ADD COLUMN owner_instance TEXT;
    `,
  },
  {
    // Nullable: trials from before it, and trials that never got an answer, have none.
    id: 'trials/003-finish-reason',
    sql: `ALTER TABLE trials ADD COLUMN finish_reason TEXT;`,
  },
  {
    // JSON list of what the pre-checks applied ({id, kind, reason, ...}); NULL before this column.
    id: 'trials/004-guardrails',
    sql: `ALTER TABLE trials ADD COLUMN guardrails TEXT;`,
  },
];

interface TrialRow {
  id: string;
  status: TrialStatus;
  prompt: string;
  processed_prompt: string | null;
  guardrails: string | null;
  system: string | null;
  response_schema: string | null;
  output: string | null;
  parsed_json: string | null;
  finish_reason: string | null;
  provider: string | null;
  model: string | null;
  model_reason: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  latency_ms: number | null;
  grader_results: string | null;
  score: number | null;
  grading_incomplete: number;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  task_id: number | null;
  tags: string;
  parent_run_id: string | null;
  created_at_ms: number;
  created_at: string;
  updated_at_ms: number;
  updated_at: string;
}

/** Raised when a caller tries to move a trial backwards or skip a step. */
export class TrialTransitionError extends AppError {
  constructor(id: string, from: TrialStatus, to: TrialStatus) {
    const allowed = TRANSITIONS[from];
    super(
      'invalid_input',
      `Trial ${id} is ${from} and cannot become ${to}` +
        (allowed.length > 0 ? ` (allowed next: ${allowed.join(', ')}).` : ' (it is final).'),
      { details: { id, from, to } },
    );
  }
}

export function newTrialId(): string {
  return `tr_${randomBytes(9).toString('base64url')}`;
}

/** Epoch ms of a bound; a bare date as `to` means the end of that UTC day (exclusive next midnight). */
export function parseTimeBound(value: TimeBound, side: 'from' | 'to'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidInputError(`${side} must be a finite time`);
    return value;
  }
  const text = value.trim();
  const ms = parseIsoBound(text, side, UTC_CALENDAR);
  if (ms === undefined && isIsoDate(text)) throw new InvalidInputError(`${side} "${text}" is not a valid date (use YYYY-MM-DD).`);
  if (ms === undefined) throw new InvalidInputError(`${side} "${text.slice(0, 40)}" is not a date (YYYY-MM-DD) or ISO date-time.`);
  return ms;
}

function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
}

function parseJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function toTrial(row: TrialRow): Trial {
  return {
    ...row,
    response_schema: parseJson<Record<string, unknown>>(row.response_schema),
    parsed_json: parseJson<unknown>(row.parsed_json),
    grader_results: parseJson<GraderResult[]>(row.grader_results),
    grading_incomplete: row.grading_incomplete === 1,
    tags: parseJson<string[]>(row.tags) ?? [],
    guardrails: parseJson<Trial['guardrails']>(row.guardrails) ?? [],
  };
}

/** Persists trials. Every status change is checked against the lifecycle by the UPDATE that makes it. */
export class TrialStore {
  private readonly newId: () => string;
  /** This server's identity among those sharing the database (see recoverInterrupted). */
  private readonly instance: InstanceIdentity;

  private readonly sql: (text: string) => Statement;

  constructor(
    db: Db,
    private readonly clock: Clock,
    opts: TrialStoreOptions = {},
  ) {
    this.newId = opts.newId ?? newTrialId;
    this.instance = opts.instance ?? new InstanceIdentity({ clock });
    this.sql = cachedPrepare(db);
  }

  /**
   * At start-up: trials left created or running by a server process that is gone (a crash, a
   * kill) end as errored, so no trial stays running forever. Returns how many.
   */
  recoverInterrupted(): number {
    const rows = this.sql(`SELECT id, owner_pid, owner_instance FROM trials WHERE status IN ('created', 'running')`).all() as Array<{
      id: string;
      owner_pid: number | null;
      owner_instance: string | null;
    }>;
    const ms = this.clock.now();
    let count = 0;
    for (const row of rows) {
      if (!this.instance.ownerIsGone({ pid: row.owner_pid, instance: row.owner_instance })) continue;
      count += this.sql(
        `UPDATE trials SET status = 'errored', error_code = 'interrupted', error_message = ?, updated_at_ms = ?, updated_at = ?
         WHERE id = ? AND status IN ('created', 'running')`,
      ).run('The server stopped while this trial was running (crash or kill); it never finished.', ms, new Date(ms).toISOString(), row.id).changes;
    }
    return count;
  }

  create(input: NewTrial): Trial {
    return this.get(this.insert(input, 'created'));
  }

  /**
   * The agent pipeline's first write: the trial starts as running, its first attempt under way
   * (created -> running in one INSERT; nothing can see the trial between the two). Returns nothing,
   * so the hot path reads no row back.
   */
  open(input: NewTrial & { id: string }): void {
    this.insert(input, 'running');
  }

  private insert(input: NewTrial, status: 'created' | 'running'): string {
    const id = input.id ?? this.newId();
    const ms = this.clock.now();
    const iso = new Date(ms).toISOString();
    this.sql(
      `INSERT INTO trials (id, status, attempts, prompt, processed_prompt, guardrails, system, response_schema, provider, model, model_reason,
         task_id, tags, parent_run_id, created_at_ms, created_at, updated_at_ms, updated_at, owner_pid, owner_instance)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      status,
      status === 'running' ? 1 : 0,
      input.prompt,
      input.processedPrompt ?? null,
      input.guardrails && input.guardrails.length > 0 ? JSON.stringify(input.guardrails) : null,
      input.system ?? null,
      input.responseSchema === undefined ? null : JSON.stringify(input.responseSchema),
      input.provider ?? null,
      input.model ?? null,
      input.modelReason ?? null,
      input.taskId ?? null,
      JSON.stringify(normaliseTags(input.tags ?? [])),
      input.parentRunId ?? null,
      ms,
      iso,
      ms,
      iso,
      this.instance.pid,
      this.instance.id,
    );
    return id;
  }

  /** Starts an attempt: created -> running, or running -> running for a retry (attempts + 1). */
  markRunning(id: string, update: RunningUpdate = {}): Trial {
    this.apply(id, 'running', {
      attempts: { sql: 'attempts + 1' },
      provider: update.provider,
      model: update.model,
      model_reason: update.modelReason,
    });
    return this.get(id);
  }

  complete(id: string, update: CompletedUpdate): Trial {
    this.apply(id, 'completed', completedColumns(update));
    return this.get(id);
  }

  error(id: string, update: ErroredUpdate): Trial {
    this.apply(id, 'errored', {
      error_code: update.code,
      error_message: update.message,
      provider: update.provider,
      model: update.model ?? undefined,
      attempts: update.attempts,
      input_tokens: update.inputTokens,
      output_tokens: update.outputTokens,
      cost_usd: update.costUsd,
      latency_ms: update.latencyMs === undefined ? undefined : Math.round(update.latencyMs),
    });
    return this.get(id);
  }

  /** completed -> passed | failed, storing every grader result. */
  grade(id: string, results: readonly GraderResult[], passed: boolean, update: GradeUpdate = {}): Trial {
    this.apply(id, passed ? 'passed' : 'failed', gradeColumns(results, update));
    return this.get(id);
  }

  /**
   * The agent pipeline's write for a graded answer: running -> passed | failed in one UPDATE
   * (complete and grade at once; nothing can see the trial completed but ungraded in between).
   */
  finish(id: string, update: CompletedUpdate, grading: { results: readonly GraderResult[]; passed: boolean } & GradeUpdate): void {
    this.apply(id, grading.passed ? 'passed' : 'failed', { ...completedColumns(update), ...gradeColumns(grading.results, grading) }, ['running']);
  }

  get(id: string): Trial {
    const row = this.sql('SELECT * FROM trials WHERE id = ?').get(id) as TrialRow | undefined;
    if (!row) throw new NotFoundError(`No trial with id ${id}. Use trials_list to see trial ids.`);
    return toTrial(row);
  }

  /** Newest first. */
  list(query: TrialQuery = {}): { trials: Trial[]; total: number } {
    const { whereSql, params } = buildWhere(query);
    const total = (this.sql(`SELECT COUNT(*) AS n FROM trials ${whereSql}`).get(...params) as { n: number }).n;
    const rows = this.sql(`SELECT * FROM trials ${whereSql} ORDER BY created_at_ms DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, clampInt(query.limit ?? 50, 1, 1000), Math.max(0, Math.floor(query.offset ?? 0))) as TrialRow[];
    return { trials: rows.map(toTrial), total };
  }

  count(filters: TrialFilters = {}): number {
    const { whereSql, params } = buildWhere(filters);
    return (this.sql(`SELECT COUNT(*) AS n FROM trials ${whereSql}`).get(...params) as { n: number }).n;
  }

  /**
   * Oldest first, strictly after `after`: keyset pages for streaming exports. Each page is read
   * completely, so no statement stays open while the caller awaits I/O (which would block other
   * writers on this connection).
   */
  page(filters: TrialFilters, after: TrialCursor | undefined, limit: number): Trial[] {
    const { where, params } = buildConditions(filters);
    if (after) {
      where.push('(created_at_ms > ? OR (created_at_ms = ? AND id > ?))');
      params.push(after.createdAtMs, after.createdAtMs, after.id);
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.sql(`SELECT * FROM trials ${whereSql} ORDER BY created_at_ms, id LIMIT ?`).all(...params, clampInt(limit, 1, 10_000)) as TrialRow[];
    return rows.map(toTrial);
  }

  /**
   * One guarded UPDATE: it changes the row only if the trial is in a state that may become `to`
   * (atomic without a transaction of its own); when it changed nothing, the row says why.
   */
  private apply(id: string, to: TrialStatus, changes: Record<string, unknown>, from: readonly TrialStatus[] = PREDECESSORS[to]): void {
    const ms = this.clock.now();
    const sets = ['status = ?', 'updated_at_ms = ?', 'updated_at = ?'];
    const params: unknown[] = [to, ms, new Date(ms).toISOString()];
    for (const [column, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      if (typeof value === 'object' && value !== null && 'sql' in value) {
        sets.push(`${column} = ${(value as { sql: string }).sql}`);
      } else {
        sets.push(`${column} = ?`);
        params.push(value);
      }
    }
    const guard = from.map(() => '?').join(', ');
    if (this.sql(`UPDATE trials SET ${sets.join(', ')} WHERE id = ? AND status IN (${guard})`).run(...params, id, ...from).changes > 0) return;
    const row = this.sql('SELECT status FROM trials WHERE id = ?').get(id) as { status: TrialStatus } | undefined;
    if (!row) throw new NotFoundError(`No trial with id ${id}. Use trials_list to see trial ids.`);
    throw new TrialTransitionError(id, row.status, to);
  }
}

function completedColumns(update: CompletedUpdate): Record<string, unknown> {
  return {
    output: update.output,
    parsed_json: update.parsedJson === undefined ? undefined : JSON.stringify(update.parsedJson),
    finish_reason: update.finishReason,
    provider: update.provider,
    model: update.model,
    model_reason: update.modelReason,
    attempts: update.attempts,
    input_tokens: update.inputTokens,
    output_tokens: update.outputTokens,
    cost_usd: update.costUsd,
    latency_ms: Math.round(update.latencyMs),
    guardrails: update.guardrails === undefined || update.guardrails.length === 0 ? undefined : JSON.stringify(update.guardrails),
  };
}

function gradeColumns(results: readonly GraderResult[], update: GradeUpdate): Record<string, unknown> {
  return { grader_results: JSON.stringify(results), score: update.score ?? null, grading_incomplete: update.incomplete ? 1 : 0 };
}

function clampInt(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(n)));
}

function buildConditions(filters: TrialFilters): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filters.status !== undefined) {
    const statuses: readonly TrialStatus[] = typeof filters.status === 'string' ? [filters.status] : filters.status;
    if (statuses.length > 0) {
      where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
      params.push(...statuses);
    }
  }
  if (filters.from !== undefined) {
    where.push('created_at_ms >= ?');
    params.push(parseTimeBound(filters.from, 'from'));
  }
  if (filters.to !== undefined) {
    where.push('created_at_ms < ?');
    params.push(parseTimeBound(filters.to, 'to'));
  }
  if (filters.model) {
    where.push('model = ?');
    params.push(filters.model);
  }
  if (filters.provider) {
    where.push('provider = ?');
    params.push(filters.provider);
  }
  if (filters.tag) {
    where.push('EXISTS (SELECT 1 FROM json_each(trials.tags) WHERE json_each.value = ?)');
    params.push(filters.tag.trim());
  }
  if (filters.taskId !== undefined) {
    where.push('task_id = ?');
    params.push(filters.taskId);
  }
  if (filters.parentRunId) {
    where.push('parent_run_id = ?');
    params.push(filters.parentRunId);
  }
  return { where, params };
}

function buildWhere(filters: TrialFilters): { whereSql: string; params: unknown[] } {
  const { where, params } = buildConditions(filters);
  return { whereSql: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}
