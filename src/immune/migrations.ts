import type { Migration } from '../db/database.js';

/** The failure memory's own schema (ids "immune/NNN-..."); see FailureStore. */
export const immuneMigrations: Migration[] = [
  {
    id: 'immune/001-create',
    sql: `
      CREATE TABLE immune_patterns (
        id TEXT PRIMARY KEY,
        failure_class TEXT NOT NULL,
        grader TEXT,
        error_code TEXT,
        operation TEXT NOT NULL,
        masked_prompt TEXT NOT NULL,
        sample_prompt TEXT NOT NULL,
        terms TEXT NOT NULL,
        failed_spec TEXT,
        finish_reason TEXT,
        judge_reason TEXT,
        count INTEGER NOT NULL DEFAULT 0,
        -- Failures that happened with one of its learned instructions applied: the instruction is not enough.
        guarded_failures INTEGER NOT NULL DEFAULT 0,
        severity TEXT NOT NULL DEFAULT 'low',
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','disabled')),
        false_positives INTEGER NOT NULL DEFAULT 0,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL
      );
      CREATE INDEX immune_patterns_last_seen ON immune_patterns (last_seen_ms);
      CREATE TABLE immune_fingerprints (
        fingerprint TEXT PRIMARY KEY,
        pattern_id TEXT NOT NULL REFERENCES immune_patterns(id) ON DELETE CASCADE
      );
      CREATE TABLE immune_failures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        trial_id TEXT NOT NULL UNIQUE,
        pattern_id TEXT NOT NULL REFERENCES immune_patterns(id) ON DELETE CASCADE,
        operation TEXT NOT NULL,
        status TEXT NOT NULL,
        failure_class TEXT NOT NULL,
        prompt TEXT NOT NULL,
        processed_prompt TEXT,
        output TEXT,
        grader_results TEXT NOT NULL DEFAULT '[]',
        provider TEXT,
        model TEXT,
        finish_reason TEXT,
        error_code TEXT,
        error_message TEXT,
        guardrails TEXT NOT NULL DEFAULT '[]',
        at_ms INTEGER NOT NULL
      );
      CREATE INDEX immune_failures_pattern ON immune_failures (pattern_id, at_ms);
      CREATE INDEX immune_failures_at ON immune_failures (at_ms);
      CREATE TABLE immune_pattern_models (
        pattern_id TEXT NOT NULL REFERENCES immune_patterns(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        passes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (pattern_id, model)
      );
      CREATE TABLE immune_guardrails (
        id TEXT PRIMARY KEY,
        pattern_id TEXT REFERENCES immune_patterns(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        instruction TEXT,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','retired','disabled')),
        status_reason TEXT,
        applied INTEGER NOT NULL DEFAULT 0,
        passed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        false_positives INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      );
      CREATE INDEX immune_guardrails_pattern ON immune_guardrails (pattern_id);
      -- Every finished trial (not cancelled), so failure rates compare periods.
      CREATE TABLE immune_outcomes (
        trial_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        operation TEXT NOT NULL,
        model TEXT,
        guarded INTEGER NOT NULL DEFAULT 0,
        matched INTEGER NOT NULL DEFAULT 0,
        at_ms INTEGER NOT NULL
      );
      CREATE INDEX immune_outcomes_at ON immune_outcomes (at_ms);
      -- Every pre-call check: what it did (blocked and rewritten calls are the recurrences it answered).
      CREATE TABLE immune_checks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        operation TEXT NOT NULL,
        action TEXT NOT NULL,
        observed INTEGER NOT NULL DEFAULT 0,
        risk_score REAL,
        matched INTEGER NOT NULL DEFAULT 0,
        guardrails TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX immune_checks_at ON immune_checks (at_ms);
      -- Provider incidents (breaker trips, rate limits, retries given up): where failures come from.
      CREATE TABLE immune_incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX immune_incidents_at ON immune_incidents (at_ms);
      CREATE TABLE immune_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
];
