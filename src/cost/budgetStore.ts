import type { Db, Migration } from '../db/database.js';
import { nanoToUsd } from './prices.js';

/**
 * Budgets, outstanding reservations and sent threshold alerts. A budget is keyed by
 * (provider, model_key) where model_key '*' means every model of the provider. Amounts are
 * integer nano-USD; a NULL limit means "no limit for that period".
 */
export const ALL_MODELS = '*';

export const budgetMigrations: Migration[] = [
  {
    id: 'budget/001-create',
    sql: `
      CREATE TABLE budgets (
        provider TEXT NOT NULL,
        model_key TEXT NOT NULL DEFAULT '*',
        daily_limit_nusd INTEGER CHECK (daily_limit_nusd IS NULL OR daily_limit_nusd >= 0),
        monthly_limit_nusd INTEGER CHECK (monthly_limit_nusd IS NULL OR monthly_limit_nusd >= 0),
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (provider, model_key)
      ) WITHOUT ROWID;

      CREATE TABLE budget_reservations (
        id TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        model_key TEXT NOT NULL,
        amount_nusd INTEGER NOT NULL CHECK (amount_nusd >= 0),
        price_known INTEGER NOT NULL,
        trial_id TEXT,
        task_id INTEGER,
        owner_pid INTEGER NOT NULL,
        owner_instance TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'settled', 'released', 'expired')),
        closed_ms INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX budget_reservations_open ON budget_reservations (provider, model_key, amount_nusd) WHERE state = 'open';
      CREATE INDEX budget_reservations_closed ON budget_reservations (closed_ms) WHERE state <> 'open';

      CREATE TABLE budget_alerts (
        provider TEXT NOT NULL,
        model_key TEXT NOT NULL,
        period TEXT NOT NULL CHECK (period IN ('daily', 'monthly')),
        period_label TEXT NOT NULL,
        threshold INTEGER NOT NULL,
        sent_ms INTEGER NOT NULL,
        PRIMARY KEY (provider, model_key, period, period_label, threshold)
      ) WITHOUT ROWID;
    `,
  },
  {
    // The learned cost ratio (costRatios.ts) a reservation was taken at, so settling knows what it taught.
    id: 'budget/002-reservation-ratio',
    sql: `ALTER TABLE budget_reservations ADD COLUMN ratio REAL NOT NULL DEFAULT 1;`,
  },
];

export interface BudgetRow {
  provider: string;
  model_key: string;
  daily_limit_nusd: number | null;
  monthly_limit_nusd: number | null;
  updated_ms: number;
}

export type ReservationState = 'open' | 'settled' | 'released' | 'expired';

export interface ReservationRow {
  id: string;
  provider: string;
  model: string;
  model_key: string;
  amount_nusd: number;
  price_known: number;
  trial_id: string | null;
  task_id: number | null;
  owner_pid: number;
  owner_instance: string;
  created_ms: number;
  expires_ms: number;
  state: ReservationState;
  closed_ms: number | null;
  ratio: number;
}

/** What the API shows for a budget. */
export interface Budget {
  provider: string;
  /** null: the budget covers every model of the provider. */
  model: string | null;
  daily_limit_usd: number | null;
  monthly_limit_usd: number | null;
  updated_at: string;
}

export function toBudget(r: BudgetRow): Budget {
  return {
    provider: r.provider,
    model: r.model_key === ALL_MODELS ? null : r.model_key,
    daily_limit_usd: r.daily_limit_nusd === null ? null : nanoToUsd(r.daily_limit_nusd),
    monthly_limit_usd: r.monthly_limit_nusd === null ? null : nanoToUsd(r.monthly_limit_nusd),
    updated_at: new Date(r.updated_ms).toISOString(),
  };
}

export class BudgetStore {
  private readonly getStmt;
  private readonly applicableStmt;
  private readonly listStmt;
  private readonly upsertStmt;
  private readonly deleteStmt;
  private readonly insertReservationStmt;
  private readonly getReservationStmt;
  private readonly closeReservationStmt;
  private readonly markSettledStmt;
  private readonly renewStmt;
  private readonly reservedProviderStmt;
  private readonly reservedModelStmt;
  private readonly openReservationsStmt;
  private readonly purgeStmt;
  private readonly markAlertStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare<[string, string], BudgetRow>('SELECT * FROM budgets WHERE provider = ? AND model_key = ?');
    this.applicableStmt = db.prepare<[string, string], BudgetRow>(
      `SELECT * FROM budgets WHERE provider = ? AND model_key IN ('*', ?) ORDER BY model_key = '*' DESC`,
    );
    this.listStmt = db.prepare<[], BudgetRow>(`SELECT * FROM budgets ORDER BY provider, model_key = '*' DESC, model_key`);
    this.upsertStmt = db.prepare<[string, string, number | null, number | null, number]>(
      `INSERT INTO budgets (provider, model_key, daily_limit_nusd, monthly_limit_nusd, updated_ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (provider, model_key) DO UPDATE SET daily_limit_nusd = excluded.daily_limit_nusd,
         monthly_limit_nusd = excluded.monthly_limit_nusd, updated_ms = excluded.updated_ms`,
    );
    this.deleteStmt = db.prepare<[string, string]>('DELETE FROM budgets WHERE provider = ? AND model_key = ?');
    this.insertReservationStmt = db.prepare<
      [string, string, string, string, number, number, string | null, number | null, number, string, number, number, number]
    >(
      `INSERT INTO budget_reservations (id, provider, model, model_key, amount_nusd, price_known, trial_id, task_id,
         owner_pid, owner_instance, created_ms, expires_ms, ratio) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.getReservationStmt = db.prepare<[string], ReservationRow>('SELECT * FROM budget_reservations WHERE id = ?');
    this.closeReservationStmt = db.prepare<[ReservationState, number, string]>(
      `UPDATE budget_reservations SET state = ?, closed_ms = ? WHERE id = ? AND state = 'open'`,
    );
    this.markSettledStmt = db.prepare<[number, string]>(`UPDATE budget_reservations SET state = 'settled', closed_ms = ? WHERE id = ?`);
    this.renewStmt = db.prepare<[number, string]>(`UPDATE budget_reservations SET expires_ms = ? WHERE id = ? AND state = 'open'`);
    this.reservedProviderStmt = db.prepare<[string], { n: number }>(
      `SELECT COALESCE(SUM(amount_nusd), 0) AS n FROM budget_reservations WHERE state = 'open' AND provider = ?`,
    );
    this.reservedModelStmt = db.prepare<[string, string], { n: number }>(
      `SELECT COALESCE(SUM(amount_nusd), 0) AS n FROM budget_reservations WHERE state = 'open' AND provider = ? AND model_key = ?`,
    );
    this.openReservationsStmt = db.prepare<[], ReservationRow>(`SELECT * FROM budget_reservations WHERE state = 'open'`);
    this.purgeStmt = db.prepare<[number]>(`DELETE FROM budget_reservations WHERE state <> 'open' AND closed_ms < ?`);
    this.markAlertStmt = db.prepare<[string, string, string, string, number, number]>(
      `INSERT OR IGNORE INTO budget_alerts (provider, model_key, period, period_label, threshold, sent_ms) VALUES (?, ?, ?, ?, ?, ?)`,
    );
  }

  get(provider: string, modelKey: string): BudgetRow | undefined {
    return this.getStmt.get(provider, modelKey);
  }

  /** The provider-wide budget and the one for this model, if set. */
  applicable(provider: string, modelKey: string): BudgetRow[] {
    return this.applicableStmt.all(provider, modelKey);
  }

  list(): BudgetRow[] {
    return this.listStmt.all();
  }

  /** Writes limits; a budget with no limit left is deleted. Returns the row, or undefined if deleted. */
  put(provider: string, modelKey: string, dailyNano: number | null, monthlyNano: number | null, nowMs: number): BudgetRow | undefined {
    if (dailyNano === null && monthlyNano === null) {
      this.deleteStmt.run(provider, modelKey);
      return undefined;
    }
    this.upsertStmt.run(provider, modelKey, dailyNano, monthlyNano, nowMs);
    return this.get(provider, modelKey);
  }

  insertReservation(r: Omit<ReservationRow, 'state' | 'closed_ms'>): void {
    this.insertReservationStmt.run(
      r.id,
      r.provider,
      r.model,
      r.model_key,
      r.amount_nusd,
      r.price_known,
      r.trial_id,
      r.task_id,
      r.owner_pid,
      r.owner_instance,
      r.created_ms,
      r.expires_ms,
      r.ratio,
    );
  }

  getReservation(id: string): ReservationRow | undefined {
    return this.getReservationStmt.get(id);
  }

  /** Moves an open reservation to a final state; false if it was not open. */
  closeReservation(id: string, state: Exclude<ReservationState, 'open'>, nowMs: number): boolean {
    return this.closeReservationStmt.run(state, nowMs, id).changes === 1;
  }

  /** Moves an open reservation's expiry; false when it is no longer open. */
  renew(id: string, expiresMs: number): boolean {
    return this.renewStmt.run(expiresMs, id).changes === 1;
  }

  /** Marks a reservation settled whatever its state (a call booked after expiry or release). */
  markSettled(id: string, nowMs: number): void {
    this.markSettledStmt.run(nowMs, id);
  }

  /** Nano-USD held by open reservations for a provider, or one model of it. */
  reserved(provider: string, modelKey: string): number {
    return modelKey === ALL_MODELS ? this.reservedProviderStmt.get(provider)!.n : this.reservedModelStmt.get(provider, modelKey)!.n;
  }

  openReservations(): ReservationRow[] {
    return this.openReservationsStmt.all();
  }

  /** Deletes closed reservations older than a cut-off; returns how many. */
  purgeClosed(beforeMs: number): number {
    return this.purgeStmt.run(beforeMs).changes;
  }

  /** Records that an alert was sent; true only for the first caller (across processes). */
  markAlert(provider: string, modelKey: string, period: 'daily' | 'monthly', periodLabel: string, threshold: number, nowMs: number): boolean {
    return this.markAlertStmt.run(provider, modelKey, period, periodLabel, threshold, nowMs).changes === 1;
  }
}
