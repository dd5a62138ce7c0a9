import type { Statement } from 'better-sqlite3';
import { atomicRunner, type Atomic, type Db, type Migration } from '../db/database.js';
import { nanoToUsd } from './prices.js';
import { ZonedCalendar, type OffsetSegment } from '../zonedCalendar.js';

/**
 * The append-only cost ledger: one row per provider call. Costs are integer nano-USD
 * (`cost_nusd`, exact sums) with a REAL `cost_usd` copy for people reading the file. Tags are
 * a JSON array (read with json_each).
 *
 * Summaries and budget checks never scan the ledger for whole days. LedgerStore (the only
 * writer) keeps, in the same transaction as each insert:
 * - `ledger_day`, `ledger_day_task`, `ledger_day_tag`: totals per LOCAL day, for every time zone
 *   listed in `ledger_zones` (each process registers its configured zone at start-up; the
 *   rollups for a new zone are built once from the ledger, and every writer maintains all zones);
 * - `ledger_bucket`: totals per 15-minute UTC bucket, for ranges that start or end mid-day
 *   (every real UTC offset is a multiple of 15 minutes, so local midnights are bucket-aligned).
 * Only the partial buckets at the very edges of a custom range read ledger rows.
 */
export const BUCKET_MS = 900_000;
const DAY_MS = 86_400_000;
const LOW = -8_640_000_000_000_000;
const HIGH = 8_640_000_000_000_000;
/** task_key for calls without a task. */
const NO_TASK = -1;

const SUMS = `calls INTEGER NOT NULL, unknown_calls INTEGER NOT NULL, input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL, cost_nusd INTEGER NOT NULL`;

export const ledgerMigrations: Migration[] = [
  {
    id: 'ledger/001-create',
    sql: `
      CREATE TABLE ledger (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        time_iso TEXT NOT NULL,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        model_key TEXT NOT NULL,
        input_tokens INTEGER NOT NULL CHECK (input_tokens >= 0),
        output_tokens INTEGER NOT NULL CHECK (output_tokens >= 0),
        cost_nusd INTEGER NOT NULL CHECK (cost_nusd >= 0),
        cost_usd REAL NOT NULL,
        trial_id TEXT,
        task_id INTEGER,
        tags TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'cancelled')),
        price_known INTEGER NOT NULL CHECK (price_known IN (0, 1)),
        reservation_id TEXT
      );
      -- Deliberately few indexes (insert speed): summaries read the rollups below; per-task
      -- and per-tag totals come from ledger_day_task / ledger_day_tag.
      CREATE INDEX ledger_time ON ledger (time_ms);
      -- A reservation is booked at most once, even by two processes.
      CREATE UNIQUE INDEX ledger_reservation ON ledger (reservation_id) WHERE reservation_id IS NOT NULL;

      CREATE TABLE ledger_bucket (
        bucket INTEGER NOT NULL, provider TEXT NOT NULL, model_key TEXT NOT NULL, ${SUMS},
        PRIMARY KEY (bucket, provider, model_key)
      ) WITHOUT ROWID;

      CREATE TABLE ledger_zones (zone TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE ledger_day (
        zone TEXT NOT NULL, day_start INTEGER NOT NULL, day_number INTEGER NOT NULL,
        provider TEXT NOT NULL, model_key TEXT NOT NULL, ${SUMS},
        PRIMARY KEY (zone, day_start, provider, model_key)
      ) WITHOUT ROWID;
      CREATE TABLE ledger_day_task (
        zone TEXT NOT NULL, day_start INTEGER NOT NULL, day_number INTEGER NOT NULL,
        task_key INTEGER NOT NULL, ${SUMS},
        PRIMARY KEY (zone, day_start, task_key)
      ) WITHOUT ROWID;
      CREATE TABLE ledger_day_tag (
        zone TEXT NOT NULL, day_start INTEGER NOT NULL, day_number INTEGER NOT NULL,
        tag TEXT NOT NULL, ${SUMS},
        PRIMARY KEY (zone, day_start, tag)
      ) WITHOUT ROWID;
    `,
  },
];

export type CallStatus = 'ok' | 'error' | 'cancelled';
export const CALL_STATUSES: readonly CallStatus[] = ['ok', 'error', 'cancelled'];

export interface NewLedgerRow {
  timeMs: number;
  provider: string;
  /** As the caller named it. */
  model: string;
  /** Canonical name (price-table key) budgets and summaries group by. */
  modelKey: string;
  inputTokens: number;
  outputTokens: number;
  costNanoUsd: number;
  trialId?: string | null | undefined;
  taskId?: number | null | undefined;
  tags?: readonly string[] | undefined;
  status: CallStatus;
  priceKnown: boolean;
  reservationId?: string | null | undefined;
}

export interface LedgerEntry {
  id: number;
  time: string;
  time_ms: number;
  provider: string;
  model: string;
  model_key: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  trial_id: string | null;
  task_id: number | null;
  tags: string[];
  status: CallStatus;
  price_known: boolean;
  reservation_id: string | null;
}

interface LedgerRow {
  id: number;
  time_ms: number;
  time_iso: string;
  provider: string;
  model: string;
  model_key: string;
  input_tokens: number;
  output_tokens: number;
  cost_nusd: number;
  trial_id: string | null;
  task_id: number | null;
  tags: string;
  status: CallStatus;
  price_known: number;
  reservation_id: string | null;
}

/** [fromMs, toMs) in UTC ms; null is unbounded. */
export interface TimeRange {
  fromMs: number | null;
  toMs: number | null;
}

export type GroupBy = 'provider' | 'model' | 'day' | 'task' | 'tag';
type Dim = GroupBy | 'total' | 'unknown';

export interface Aggregate {
  calls: number;
  unknownCalls: number;
  inputTokens: number;
  outputTokens: number;
  costNanoUsd: number;
}

export interface GroupAggregate extends Aggregate {
  key: string;
}

interface Sums {
  c: number;
  u: number;
  i: number;
  o: number;
  n: number;
}

interface DayInfo {
  startMs: number;
  endMs: number;
  dayNumber: number;
}

function toEntry(r: LedgerRow): LedgerEntry {
  return {
    id: r.id,
    time: r.time_iso,
    time_ms: r.time_ms,
    provider: r.provider,
    model: r.model,
    model_key: r.model_key,
    input_tokens: r.input_tokens,
    output_tokens: r.output_tokens,
    cost_usd: nanoToUsd(r.cost_nusd),
    trial_id: r.trial_id,
    task_id: r.task_id,
    tags: JSON.parse(r.tags) as string[],
    status: r.status,
    price_known: r.price_known === 1,
    reservation_id: r.reservation_id,
  };
}

/** SQL mapping a UTC ms expression to a local day number (days since local 1970-01-01). */
function dayExpr(timeExpr: string, segments: readonly OffsetSegment[]): string {
  const [first, ...rest] = segments;
  if (!first) return `((${timeExpr}) / ${DAY_MS})`;
  if (rest.length === 0) return `(((${timeExpr}) + ${first.offsetMs}) / ${DAY_MS})`;
  const whens: string[] = [];
  let prev = first;
  for (const seg of rest) {
    whens.push(`WHEN (${timeExpr}) < ${seg.fromMs} THEN ((${timeExpr}) + ${prev.offsetMs}) / ${DAY_MS}`);
    prev = seg;
  }
  return `(CASE ${whens.join(' ')} ELSE ((${timeExpr}) + ${prev.offsetMs}) / ${DAY_MS} END)`;
}

function addSums(map: Map<string, Sums & { args: unknown[] }>, key: string, args: unknown[], row: NewLedgerRow): void {
  let s = map.get(key);
  if (!s) {
    s = { c: 0, u: 0, i: 0, o: 0, n: 0, args };
    map.set(key, s);
  }
  s.c += 1;
  s.u += row.priceKnown ? 0 : 1;
  s.i += row.inputTokens;
  s.o += row.outputTokens;
  s.n += row.costNanoUsd;
}

const UPSERT_SUMS = `ON CONFLICT DO UPDATE SET calls = calls + excluded.calls, unknown_calls = unknown_calls + excluded.unknown_calls,
  input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens,
  cost_nusd = cost_nusd + excluded.cost_nusd`;

export class LedgerStore {
  readonly zone: string;
  private readonly calendars = new Map<string, ZonedCalendar>();
  private readonly dayCache = new Map<string, DayInfo>();
  private readonly cache = new Map<string, Statement>();
  private readonly atomic: Atomic;

  /** Registers `calendar`'s zone (building its day rollups if new) so summaries can use them. */
  constructor(
    private readonly db: Db,
    private readonly calendar: ZonedCalendar,
    clockNow: () => number = Date.now,
  ) {
    this.atomic = atomicRunner(db);
    this.zone = calendar.timeZone;
    this.calendars.set(this.zone, calendar);
    this.registerZone(clockNow());
  }

  /** Inserts one row (a savepoint inside the caller's transaction, else its own IMMEDIATE one). */
  insert(row: NewLedgerRow): LedgerEntry {
    return toEntry(this.atomic(() => this.writeRows([row]))[0]!);
  }

  /** Inserts many rows in one transaction (imports, benchmarks). Returns the count. */
  insertMany(rows: readonly NewLedgerRow[]): number {
    return this.atomic(() => this.writeRows(rows).length);
  }

  getById(id: number): LedgerEntry | undefined {
    const r = this.stmt('SELECT * FROM ledger WHERE id = ?').get(id) as LedgerRow | undefined;
    return r ? toEntry(r) : undefined;
  }

  getByReservation(reservationId: string): LedgerEntry | undefined {
    const r = this.stmt('SELECT * FROM ledger WHERE reservation_id = ?').get(reservationId) as LedgerRow | undefined;
    return r ? toEntry(r) : undefined;
  }

  /** Booked nano-USD in a range for a provider (and optionally one canonical model). */
  sumCost(range: TimeRange, filter: { provider: string; modelKey?: string | null | undefined }): number {
    return this.aggregate(range, 'total', filter)[0]?.costNanoUsd ?? 0;
  }

  totals(range: TimeRange): Aggregate {
    return this.aggregate(range, 'total')[0] ?? { calls: 0, unknownCalls: 0, inputTokens: 0, outputTokens: 0, costNanoUsd: 0 };
  }

  /**
   * Breakdown per group. 'day' keys are local dates ("2026-11-27"); 'task' keys are task ids
   * or "none"; 'tag' counts a call under each of its tags.
   */
  breakdown(range: TimeRange, groupBy: GroupBy): GroupAggregate[] {
    const rows = this.aggregate(range, groupBy);
    if (groupBy === 'day') {
      return rows
        .map((r) => ({ ...r, key: ZonedCalendar.dayNumberToLabel(Number(r.key)) }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    if (groupBy === 'task') return rows.map((r) => ({ ...r, key: r.key === String(NO_TASK) ? 'none' : r.key }));
    return rows;
  }

  /** provider + canonical model of calls booked without a known price, with their totals. */
  unknownPriceModels(range: TimeRange): Array<{ provider: string; model: string; calls: number; costNanoUsd: number }> {
    return this.aggregate(range, 'unknown')
      .filter((r) => r.unknownCalls > 0)
      .map((r) => {
        const [provider, model] = r.key.split('\u0000') as [string, string];
        return { provider, model, calls: r.unknownCalls, costNanoUsd: r.costNanoUsd };
      });
  }

  /**
   * The dearest calls among the latest `window` calls of a range (dearest first): "recent"
   * bounds the work, so the answer stays fast on a ledger of millions of rows.
   */
  topCalls(range: TimeRange, limit: number, window = 2_000): LedgerEntry[] {
    return (
      this.stmt(
        `SELECT * FROM (SELECT * FROM ledger INDEXED BY ledger_time WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms DESC LIMIT ?)
         ORDER BY cost_nusd DESC, id DESC LIMIT ?`,
      ).all(range.fromMs ?? LOW, range.toMs ?? HIGH, window, limit) as LedgerRow[]
    ).map(toEntry);
  }

  // ---------------------------------------------------------------------------------------

  private stmt(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      if (this.cache.size > 300) this.cache.clear();
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private calendarFor(zone: string): ZonedCalendar {
    let c = this.calendars.get(zone);
    if (!c) {
      c = new ZonedCalendar(zone);
      this.calendars.set(zone, c);
    }
    return c;
  }

  private dayOf(zone: string, timeMs: number): DayInfo {
    const cached = this.dayCache.get(zone);
    if (cached && timeMs >= cached.startMs && timeMs < cached.endMs) return cached;
    const cal = this.calendarFor(zone);
    const r = cal.dayRange(timeMs);
    const d = cal.localDate(r.startMs);
    const info = { startMs: r.startMs, endMs: r.endMs, dayNumber: Date.UTC(d.year, d.month - 1, d.day) / DAY_MS };
    this.dayCache.set(zone, info);
    return info;
  }

  /** Inserts rows and updates every rollup; must run inside a transaction. Returns the rows as stored, so a caller need not read them back. */
  private writeRows(rows: readonly NewLedgerRow[]): LedgerRow[] {
    const zones = (this.stmt('SELECT zone FROM ledger_zones').all() as Array<{ zone: string }>).map((z) => z.zone);
    const insert = this.stmt(
      `INSERT INTO ledger (time_ms, time_iso, provider, model, model_key, input_tokens, output_tokens, cost_nusd, cost_usd,
         trial_id, task_id, tags, status, price_known, reservation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const buckets = new Map<string, Sums & { args: unknown[] }>();
    const days = new Map<string, Sums & { args: unknown[] }>();
    const taskDays = new Map<string, Sums & { args: unknown[] }>();
    const tagDays = new Map<string, Sums & { args: unknown[] }>();
    const written: LedgerRow[] = [];
    for (const raw of rows) {
      const row: NewLedgerRow = {
        ...raw,
        inputTokens: Math.max(0, Math.ceil(raw.inputTokens)),
        outputTokens: Math.max(0, Math.ceil(raw.outputTokens)),
      };
      const tags = [...new Set(row.tags ?? [])];
      const stored: Omit<LedgerRow, 'id'> = {
        time_ms: row.timeMs,
        time_iso: new Date(row.timeMs).toISOString(),
        provider: row.provider,
        model: row.model,
        model_key: row.modelKey,
        input_tokens: row.inputTokens,
        output_tokens: row.outputTokens,
        cost_nusd: row.costNanoUsd,
        trial_id: row.trialId ?? null,
        task_id: row.taskId ?? null,
        tags: JSON.stringify(tags),
        status: row.status,
        price_known: row.priceKnown ? 1 : 0,
        reservation_id: row.reservationId ?? null,
      };
      const info = insert.run(
        stored.time_ms,
        stored.time_iso,
        stored.provider,
        stored.model,
        stored.model_key,
        stored.input_tokens,
        stored.output_tokens,
        stored.cost_nusd,
        nanoToUsd(row.costNanoUsd),
        stored.trial_id,
        stored.task_id,
        stored.tags,
        stored.status,
        stored.price_known,
        stored.reservation_id,
      );
      written.push({ id: Number(info.lastInsertRowid), ...stored });
      const bucket = Math.floor(row.timeMs / BUCKET_MS);
      addSums(buckets, `${bucket}\u0000${row.provider}\u0000${row.modelKey}`, [bucket, row.provider, row.modelKey], row);
      for (const zone of zones) {
        const d = this.dayOf(zone, row.timeMs);
        addSums(days, `${zone}\u0000${d.startMs}\u0000${row.provider}\u0000${row.modelKey}`, [zone, d.startMs, d.dayNumber, row.provider, row.modelKey], row);
        const task = row.taskId ?? NO_TASK;
        addSums(taskDays, `${zone}\u0000${d.startMs}\u0000${task}`, [zone, d.startMs, d.dayNumber, task], row);
        for (const tag of tags) addSums(tagDays, `${zone}\u0000${d.startMs}\u0000${tag}`, [zone, d.startMs, d.dayNumber, tag], row);
      }
    }
    const flush = (sql: string, map: Map<string, Sums & { args: unknown[] }>) => {
      const s = this.stmt(sql);
      for (const v of map.values()) s.run(...v.args, v.c, v.u, v.i, v.o, v.n);
    };
    const cols = 'calls, unknown_calls, input_tokens, output_tokens, cost_nusd';
    flush(`INSERT INTO ledger_bucket (bucket, provider, model_key, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ${UPSERT_SUMS}`, buckets);
    flush(`INSERT INTO ledger_day (zone, day_start, day_number, provider, model_key, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${UPSERT_SUMS}`, days);
    flush(`INSERT INTO ledger_day_task (zone, day_start, day_number, task_key, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ${UPSERT_SUMS}`, taskDays);
    flush(`INSERT INTO ledger_day_tag (zone, day_start, day_number, tag, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ${UPSERT_SUMS}`, tagDays);
    return written;
  }

  /**
   * Adds this process's zone to ledger_zones, building its day rollups from the ledger if it is
   * new. One IMMEDIATE transaction, so two processes starting together build it once. Zones are
   * never dropped automatically (a process may run for months): each extra zone costs one more
   * rollup upsert per write. Remove one by hand with DELETE FROM ledger_zones/ledger_day* WHERE zone = ?.
   */
  private registerZone(nowMs: number): void {
    this.atomic(() => {
      const known = this.stmt('SELECT zone FROM ledger_zones WHERE zone = ?').get(this.zone);
      if (!known) this.rebuildDays();
      this.stmt('INSERT INTO ledger_zones (zone, seen_ms) VALUES (?, ?) ON CONFLICT (zone) DO UPDATE SET seen_ms = excluded.seen_ms').run(
        this.zone,
        nowMs,
      );
    });
  }

  private rebuildDays(): void {
    const lo = this.stmt('SELECT MIN(time_ms) AS t FROM ledger').get() as { t: number | null };
    const hi = this.stmt('SELECT MAX(time_ms) AS t FROM ledger').get() as { t: number | null };
    if (lo.t === null || hi.t === null) return;
    const seg = this.calendar.offsetSegments(lo.t, hi.t + 1);
    const dn = dayExpr('time_ms', seg);
    const cols = 'COUNT(*) AS c, SUM(price_known = 0) AS u, SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(cost_nusd) AS n';
    const startOf = (dayNumber: number) => {
      const d = new Date(dayNumber * DAY_MS);
      return this.calendar.startOfDay({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
    };
    const fill = (select: string, insert: string, keys: (r: Record<string, unknown>) => unknown[]) => {
      const ins = this.stmt(insert);
      for (const r of this.db.prepare(select).all() as Array<Record<string, unknown> & Sums & { dn: number }>) {
        ins.run(this.zone, startOf(r.dn), r.dn, ...keys(r), r.c, r.u, r.i, r.o, r.n);
      }
    };
    const c5 = 'calls, unknown_calls, input_tokens, output_tokens, cost_nusd';
    fill(
      `SELECT ${dn} AS dn, provider, model_key, ${cols} FROM ledger GROUP BY dn, provider, model_key`,
      `INSERT INTO ledger_day (zone, day_start, day_number, provider, model_key, ${c5}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      (r) => [r.provider, r.model_key],
    );
    fill(
      `SELECT ${dn} AS dn, COALESCE(task_id, ${NO_TASK}) AS task_key, ${cols} FROM ledger GROUP BY dn, task_key`,
      `INSERT INTO ledger_day_task (zone, day_start, day_number, task_key, ${c5}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      (r) => [r.task_key],
    );
    fill(
      `SELECT ${dn.replaceAll('time_ms', 'l.time_ms')} AS dn, je.value AS tag, ${cols.replaceAll('price_known', 'l.price_known')}
       FROM ledger l, json_each(l.tags) je GROUP BY dn, tag`,
      `INSERT INTO ledger_day_tag (zone, day_start, day_number, tag, ${c5}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      (r) => [r.tag],
    );
  }

  /**
   * Sums over a range in three layers: whole local days from the day rollups, whole 15-minute
   * buckets for the partial days at the edges, and ledger rows for partial buckets.
   */
  private aggregate(range: TimeRange, dim: Dim, filter?: { provider: string; modelKey?: string | null | undefined }): GroupAggregate[] {
    const a = range.fromMs ?? LOW;
    const b = range.toMs ?? HIGH;
    if (a >= b) return [];
    const parts: string[] = [];
    const params: unknown[] = [];
    const sums = 'calls AS c, unknown_calls AS u, input_tokens AS i, output_tokens AS o, cost_nusd AS n';
    const providerFilter = (p: string) => {
      if (!filter) return '';
      params.push(filter.provider);
      if (filter.modelKey !== undefined && filter.modelKey !== null) {
        params.push(filter.modelKey);
        return ` AND ${p}provider = ? AND ${p}model_key = ?`;
      }
      return ` AND ${p}provider = ?`;
    };

    // 1. Whole local days.
    let dayFrom = a;
    let dayTo = b;
    if (range.fromMs !== null) {
      const r = this.calendar.dayRange(a);
      dayFrom = r.startMs === a ? a : r.endMs;
    }
    if (range.toMs !== null) dayTo = this.calendar.dayRange(b).startMs;
    const edges: Array<[number, number]> = [];
    if (dayFrom < dayTo) {
      const table = dim === 'task' ? 'ledger_day_task' : dim === 'tag' ? 'ledger_day_tag' : 'ledger_day';
      const g =
        dim === 'task' ? 'task_key' : dim === 'tag' ? 'tag' : dim === 'day' ? 'day_number' : this.pmGroup(dim, '');
      parts.push(`SELECT ${g} AS g, ${sums} FROM ${table} WHERE zone = ? AND day_start >= ? AND day_start < ?`);
      params.push(this.zone, dayFrom, dayTo);
      parts[parts.length - 1] += providerFilter('');
      if (a < dayFrom) edges.push([a, dayFrom]);
      if (dayTo < b) edges.push([dayTo, b]);
    } else {
      edges.push([a, b]);
    }

    // 2 and 3. Partial days: whole buckets, then ledger rows.
    let dayOfTime: ((t: string) => string) | undefined;
    if (dim === 'day' && edges.length > 0) {
      const lo = Math.max(edges[0]![0], -DAY_MS * 200_000);
      const hi = Math.min(edges[edges.length - 1]![1], DAY_MS * 200_000);
      const seg = this.calendar.offsetSegments(lo, hi);
      dayOfTime = (t) => dayExpr(t, seg);
    }
    for (const [ea, eb] of edges) {
      const ledgerOnly = dim === 'task' || dim === 'tag';
      const A = Math.ceil(ea / BUCKET_MS) * BUCKET_MS;
      const B = Math.floor(eb / BUCKET_MS) * BUCKET_MS;
      const rowRanges: Array<[number, number]> = [];
      if (!ledgerOnly && A < B) {
        const g = dim === 'day' ? dayOfTime!(`bucket * ${BUCKET_MS}`) : this.pmGroup(dim, '');
        parts.push(`SELECT ${g} AS g, ${sums} FROM ledger_bucket WHERE bucket >= ? AND bucket < ?`);
        params.push(A / BUCKET_MS, B / BUCKET_MS);
        parts[parts.length - 1] += providerFilter('');
        if (ea < A) rowRanges.push([ea, A]);
        if (B < eb) rowRanges.push([B, eb]);
      } else {
        rowRanges.push([ea, eb]);
      }
      for (const [ra, rb] of rowRanges) {
        const rowSums = `1 AS c, (l.price_known = 0) AS u, l.input_tokens AS i, l.output_tokens AS o, l.cost_nusd AS n`;
        if (dim === 'tag') {
          parts.push(`SELECT je.value AS g, ${rowSums} FROM ledger l INDEXED BY ledger_time, json_each(l.tags) je WHERE l.time_ms >= ? AND l.time_ms < ?`);
        } else {
          const g =
            dim === 'task' ? `COALESCE(l.task_id, ${NO_TASK})` : dim === 'day' ? dayOfTime!('l.time_ms') : this.pmGroup(dim, 'l.');
          parts.push(`SELECT ${g} AS g, ${rowSums} FROM ledger l INDEXED BY ledger_time WHERE l.time_ms >= ? AND l.time_ms < ?`);
        }
        params.push(ra, rb);
        parts[parts.length - 1] += providerFilter('l.');
      }
    }
    if (parts.length === 0) return [];
    const sql =
      parts.length === 1
        ? `SELECT g, SUM(c) AS c, SUM(u) AS u, SUM(i) AS i, SUM(o) AS o, SUM(n) AS n FROM (${parts[0]}) GROUP BY g HAVING SUM(c) > 0`
        : `SELECT g, SUM(c) AS c, SUM(u) AS u, SUM(i) AS i, SUM(o) AS o, SUM(n) AS n FROM (${parts.join(' UNION ALL ')}) GROUP BY g HAVING SUM(c) > 0`;
    return (this.stmt(sql).all(...params) as Array<Sums & { g: string | number }>).map((r) => ({
      key: String(r.g),
      calls: r.c,
      unknownCalls: r.u,
      inputTokens: r.i,
      outputTokens: r.o,
      costNanoUsd: r.n,
    }));
  }

  private pmGroup(dim: Dim, p: string): string {
    if (dim === 'provider') return `${p}provider`;
    if (dim === 'model') return `${p}model_key`;
    if (dim === 'unknown') return `${p}provider || char(0) || ${p}model_key`;
    return "''";
  }
}
