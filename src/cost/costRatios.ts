import type { Db, Migration } from '../db/database.js';

/**
 * What each model really cost against what was reserved for it, shared by every process on the
 * database file (and kept across restarts):
 * - `cost_model_ratios`: per (provider, canonical model) the multiplier its reservations are
 *   taken at (1 until a call cost more than reserved) and how many calls have settled;
 * - `cost_overruns`: one row per call that cost more than its reservation, for cost_summary.
 */
export const costRatioMigrations: Migration[] = [
  {
    id: 'cost/001-model-ratios',
    sql: `
      CREATE TABLE cost_model_ratios (
        provider TEXT NOT NULL,
        model_key TEXT NOT NULL,
        ratio REAL NOT NULL CHECK (ratio >= 1),
        settled_calls INTEGER NOT NULL,
        overruns INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (provider, model_key)
      ) WITHOUT ROWID;
      CREATE TABLE cost_overruns (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        provider TEXT NOT NULL,
        model_key TEXT NOT NULL,
        reserved_nusd INTEGER NOT NULL,
        cost_nusd INTEGER NOT NULL,
        trial_id TEXT,
        reservation_id TEXT
      );
      CREATE INDEX cost_overruns_time ON cost_overruns (time_ms);
    `,
  },
];

/**
 * A learned ratio decays this much per call that needed less than 1/DECAY_BELOW of it (the
 * model's calls changed, e.g. a larger max_output_tokens the provider honours). Calls within the
 * spread already seen do not lower it: a ratio that drifted down between overruns would let the
 * next batch of concurrent calls overrun again.
 */
const DECAY_PER_CLEAN_CALL = 0.99;
const DECAY_BELOW = 1.5;
/** Beyond this a model is mis-priced, not mis-estimated: cap what one call can teach. */
const MAX_RATIO = 1_000;

export interface RatioRow {
  provider: string;
  model_key: string;
  ratio: number;
  settled_calls: number;
  overruns: number;
  updated_ms: number;
}

export interface SettledCall {
  provider: string;
  modelKey: string;
  /** What the reservation held. */
  reservedNano: number;
  /** The ratio the reservation was taken at. */
  appliedRatio: number;
  costNano: number;
  trialId: string | null;
  reservationId: string;
  nowMs: number;
}

export interface Learned {
  overrun: boolean;
  /** cost / reservation of this call. */
  observed: number;
  /** The model's ratio after this call. */
  ratio: number;
}

export interface OverrunAggregate {
  provider: string;
  modelKey: string;
  calls: number;
  reservedNano: number;
  costNano: number;
  maxRatio: number;
}

export class CostRatioStore {
  private readonly getStmt;
  private readonly upsertStmt;
  private readonly insertOverrunStmt;
  private readonly overrunsStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare<[string, string], RatioRow>('SELECT * FROM cost_model_ratios WHERE provider = ? AND model_key = ?');
    this.upsertStmt = db.prepare<[string, string, number, number, number, number]>(
      `INSERT INTO cost_model_ratios (provider, model_key, ratio, settled_calls, overruns, updated_ms) VALUES (?, ?, ?, 1, ?, ?)
       ON CONFLICT (provider, model_key) DO UPDATE SET ratio = excluded.ratio, settled_calls = settled_calls + 1,
         overruns = overruns + excluded.overruns, updated_ms = ?`,
    );
    this.insertOverrunStmt = db.prepare<[number, string, string, number, number, string | null, string]>(
      `INSERT INTO cost_overruns (time_ms, provider, model_key, reserved_nusd, cost_nusd, trial_id, reservation_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.overrunsStmt = db.prepare<[number, number], { provider: string; model_key: string; calls: number; reserved: number; cost: number; max_ratio: number }>(
      `SELECT provider, model_key, COUNT(*) AS calls, SUM(reserved_nusd) AS reserved, SUM(cost_nusd) AS cost,
         MAX(CAST(cost_nusd AS REAL) / MAX(reserved_nusd, 1)) AS max_ratio
       FROM cost_overruns WHERE time_ms >= ? AND time_ms < ? GROUP BY provider, model_key ORDER BY cost DESC`,
    );
  }

  /** The multiplier a new reservation for this model is taken at (1 when nothing was learned). */
  ratio(provider: string, modelKey: string): number {
    return this.getStmt.get(provider, modelKey)?.ratio ?? 1;
  }

  /** Whether any call of this model has settled yet (on this database, by any process). */
  observed(provider: string, modelKey: string): boolean {
    return (this.getStmt.get(provider, modelKey)?.settled_calls ?? 0) > 0;
  }

  /**
   * Inside the settling transaction: learns from one settled call. An overrun raises the ratio to
   * what this call needed (cost / the estimate before any ratio); calls that need far less let
   * it decay slowly, never below 1.
   */
  learn(call: SettledCall): Learned {
    const current = this.ratio(call.provider, call.modelKey);
    const observed = call.costNano / Math.max(call.reservedNano, 1);
    const overrun = call.costNano > call.reservedNano;
    let ratio = current;
    if (call.reservedNano > 0) {
      const needed = Math.min(MAX_RATIO, call.appliedRatio * observed);
      if (overrun) ratio = Math.max(current, needed);
      else if (needed * DECAY_BELOW < current) ratio = Math.max(1, needed, current * DECAY_PER_CLEAN_CALL);
    }
    this.upsertStmt.run(call.provider, call.modelKey, ratio, overrun ? 1 : 0, call.nowMs, call.nowMs);
    if (overrun) {
      this.insertOverrunStmt.run(call.nowMs, call.provider, call.modelKey, call.reservedNano, call.costNano, call.trialId, call.reservationId);
    }
    return { overrun, observed, ratio };
  }

  overruns(fromMs: number, toMs: number): OverrunAggregate[] {
    return this.overrunsStmt.all(fromMs, toMs).map((r) => ({
      provider: r.provider,
      modelKey: r.model_key,
      calls: r.calls,
      reservedNano: r.reserved,
      costNano: r.cost,
      maxRatio: r.max_ratio,
    }));
  }
}
