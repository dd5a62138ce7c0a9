import type { Statement } from 'better-sqlite3';
import { atomicRunner, cachedPrepare, type Atomic, type Db } from '../db/database.js';

/** SQL of the failure memory; no policy here (see ImmuneSystem). */
export interface PatternRow {
  id: string;
  failure_class: string;
  grader: string | null;
  error_code: string | null;
  operation: string;
  masked_prompt: string;
  sample_prompt: string;
  terms: string;
  failed_spec: string | null;
  finish_reason: string | null;
  judge_reason: string | null;
  count: number;
  guarded_failures: number;
  severity: string;
  status: 'active' | 'disabled';
  false_positives: number;
  first_seen_ms: number;
  last_seen_ms: number;
}

export interface GuardrailRow {
  id: string;
  pattern_id: string | null;
  kind: string;
  source: string;
  instruction: string | null;
  status: 'active' | 'retired' | 'disabled';
  status_reason: string | null;
  applied: number;
  passed: number;
  failed: number;
  false_positives: number;
  created_ms: number;
  updated_ms: number;
}

export interface FailureRow {
  id: number;
  trial_id: string;
  pattern_id: string;
  operation: string;
  status: string;
  failure_class: string;
  prompt: string;
  processed_prompt: string | null;
  output: string | null;
  grader_results: string;
  provider: string | null;
  model: string | null;
  finish_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  guardrails: string;
  at_ms: number;
}

export interface ModelRow {
  pattern_id: string;
  model: string;
  failures: number;
  passes: number;
}

export type NewFailure = Omit<FailureRow, 'id'>;

export class FailureStore {
  private readonly sql: (text: string) => Statement;

  /** One immediate transaction (nested calls become savepoints). */
  readonly transaction: Atomic;

  constructor(readonly db: Db) {
    this.sql = cachedPrepare(db);
    this.transaction = atomicRunner(db);
  }

  allPatterns(): PatternRow[] {
    return this.sql('SELECT * FROM immune_patterns').all() as PatternRow[];
  }

  pattern(id: string): PatternRow | undefined {
    return this.sql('SELECT * FROM immune_patterns WHERE id = ?').get(id) as PatternRow | undefined;
  }

  patternByFingerprint(fingerprint: string): string | undefined {
    return (this.sql('SELECT pattern_id FROM immune_fingerprints WHERE fingerprint = ?').get(fingerprint) as { pattern_id: string } | undefined)?.pattern_id;
  }

  insertPattern(row: PatternRow): void {
    this.sql(
      `INSERT INTO immune_patterns (id, failure_class, grader, error_code, operation, masked_prompt, sample_prompt, terms, failed_spec, finish_reason,
         judge_reason, count, guarded_failures, severity, status, false_positives, first_seen_ms, last_seen_ms)
       VALUES (@id, @failure_class, @grader, @error_code, @operation, @masked_prompt, @sample_prompt, @terms, @failed_spec, @finish_reason,
         @judge_reason, @count, @guarded_failures, @severity, @status, @false_positives, @first_seen_ms, @last_seen_ms)`,
    ).run(row);
  }

  touchPattern(id: string, fields: { count: number; guarded_failures: number; severity: string; last_seen_ms: number; terms: string; failed_spec: string | null; finish_reason: string | null; judge_reason: string | null }): void {
    this.sql(
      `UPDATE immune_patterns SET count = @count, guarded_failures = @guarded_failures, severity = @severity, last_seen_ms = @last_seen_ms, terms = @terms,
         failed_spec = COALESCE(@failed_spec, failed_spec), finish_reason = COALESCE(@finish_reason, finish_reason), judge_reason = COALESCE(@judge_reason, judge_reason)
       WHERE id = @id`,
    ).run({ id, ...fields });
  }

  setPatternStatus(id: string, status: 'active' | 'disabled', falsePositive: boolean): number {
    return this.sql(`UPDATE immune_patterns SET status = ?, false_positives = false_positives + ? WHERE id = ?`).run(status, falsePositive ? 1 : 0, id).changes;
  }

  addFingerprint(fingerprint: string, patternId: string): void {
    this.sql('INSERT OR IGNORE INTO immune_fingerprints (fingerprint, pattern_id) VALUES (?, ?)').run(fingerprint, patternId);
  }

  hasFailure(trialId: string): boolean {
    return this.sql('SELECT 1 FROM immune_failures WHERE trial_id = ?').get(trialId) !== undefined;
  }

  insertFailure(row: NewFailure): void {
    this.sql(
      `INSERT OR IGNORE INTO immune_failures (trial_id, pattern_id, operation, status, failure_class, prompt, processed_prompt, output, grader_results,
         provider, model, finish_reason, error_code, error_message, guardrails, at_ms)
       VALUES (@trial_id, @pattern_id, @operation, @status, @failure_class, @prompt, @processed_prompt, @output, @grader_results,
         @provider, @model, @finish_reason, @error_code, @error_message, @guardrails, @at_ms)`,
    ).run(row);
  }

  failures(patternId: string | undefined, limit: number): FailureRow[] {
    return patternId
      ? (this.sql('SELECT * FROM immune_failures WHERE pattern_id = ? ORDER BY at_ms DESC, id DESC LIMIT ?').all(patternId, limit) as FailureRow[])
      : (this.sql('SELECT * FROM immune_failures ORDER BY at_ms DESC, id DESC LIMIT ?').all(limit) as FailureRow[]);
  }

  bumpModel(patternId: string, model: string, outcome: 'failures' | 'passes'): void {
    this.sql(
      `INSERT INTO immune_pattern_models (pattern_id, model, ${outcome}) VALUES (?, ?, 1)
       ON CONFLICT (pattern_id, model) DO UPDATE SET ${outcome} = ${outcome} + 1`,
    ).run(patternId, model);
  }

  allModels(): ModelRow[] {
    return this.sql('SELECT * FROM immune_pattern_models').all() as ModelRow[];
  }

  allGuardrails(): GuardrailRow[] {
    return this.sql('SELECT * FROM immune_guardrails ORDER BY created_ms, id').all() as GuardrailRow[];
  }

  guardrail(id: string): GuardrailRow | undefined {
    return this.sql('SELECT * FROM immune_guardrails WHERE id = ?').get(id) as GuardrailRow | undefined;
  }

  upsertGuardrail(row: GuardrailRow): void {
    this.sql(
      `INSERT INTO immune_guardrails (id, pattern_id, kind, source, instruction, status, status_reason, applied, passed, failed, false_positives, created_ms, updated_ms)
       VALUES (@id, @pattern_id, @kind, @source, @instruction, @status, @status_reason, @applied, @passed, @failed, @false_positives, @created_ms, @updated_ms)
       ON CONFLICT (id) DO UPDATE SET instruction = excluded.instruction, updated_ms = excluded.updated_ms`,
    ).run(row);
  }

  saveTally(row: Pick<GuardrailRow, 'id' | 'applied' | 'passed' | 'failed' | 'status' | 'status_reason' | 'false_positives' | 'updated_ms'>): void {
    this.sql(
      `UPDATE immune_guardrails SET applied = @applied, passed = @passed, failed = @failed, status = @status, status_reason = @status_reason,
         false_positives = @false_positives, updated_ms = @updated_ms WHERE id = @id`,
    ).run(row);
  }

  recordOutcome(row: { trial_id: string; status: string; operation: string; model: string | null; guarded: number; matched: number; at_ms: number }): void {
    this.sql(
      `INSERT OR IGNORE INTO immune_outcomes (trial_id, status, operation, model, guarded, matched, at_ms)
       VALUES (@trial_id, @status, @operation, @model, @guarded, @matched, @at_ms)`,
    ).run(row);
  }

  recordCheck(row: { at_ms: number; operation: string; action: string; observed: number; risk_score: number | null; matched: number; guardrails: string }): void {
    this.sql(
      `INSERT INTO immune_checks (at_ms, operation, action, observed, risk_score, matched, guardrails)
       VALUES (@at_ms, @operation, @action, @observed, @risk_score, @matched, @guardrails)`,
    ).run(row);
  }

  recordIncident(row: { at_ms: number; kind: string; provider: string; model: string; detail: string }): void {
    this.sql('INSERT INTO immune_incidents (at_ms, kind, provider, model, detail) VALUES (@at_ms, @kind, @provider, @model, @detail)').run(row);
  }

  meta(key: string): string | undefined {
    return (this.sql('SELECT value FROM immune_meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.sql('INSERT INTO immune_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }
}
