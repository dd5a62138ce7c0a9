import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { WalSync } from '../src/db/walSync.js';
import { EventBus } from '../src/events.js';
import { silentLogger } from '../src/logger.js';
import { CostService, costMigrations, type SummaryQuery } from '../src/cost/costService.js';
import { LedgerStore, type NewLedgerRow } from '../src/cost/ledgerStore.js';
import { PriceTable, nanoCost } from '../src/cost/prices.js';

/**
 * Ledger benchmark: batched inserts (rows/s, target >= 50,000) and cost_summary latency over
 * 1,000,000 rows (p50, target <= 20 ms). Rows span 60 days, 6 provider/model pairs, 200 tasks,
 * tags on a third of the calls. Environment: LEDGER_BENCH_ROWS to change the row count.
 */
export async function run(): Promise<void> {
  const total = Number(process.env.LEDGER_BENCH_ROWS ?? 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'to-bench-ledger-'));
  const db = openDatabase(path.join(dir, 'ledger.db'), { migrations: costMigrations });
  try {
    const now = Date.UTC(2026, 10, 27, 15, 0, 0);
    const clock = new ManualClock(now);
    const config = { ...loadConfig({ HOME: dir }), budget: { timeZone: 'Europe/Berlin', reservationTtlMs: 60_000 } };
    const service = new CostService({ db, clock, logger: silentLogger, events: new EventBus(), config });
    service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1_000_000, monthlyLimitUsd: 10_000_000 });
    service.setBudget({ provider: 'google_gemini', model: 'gemini-2.5-pro', dailyLimitUsd: 500_000 });

    const ledger = new LedgerStore(db, service.calendar);
    const prices = new PriceTable();
    const pairs: Array<[string, string]> = [
      ['google_gemini', 'gemini-2.5-flash'],
      ['google_gemini', 'gemini-2.5-flash-lite'],
      ['google_gemini', 'gemini-2.5-pro'],
      ['google_gemini', 'gemini-2.0-flash'],
      ['openai_compatible', 'gpt-4o-mini'],
      ['mcp_sampling', 'host'],
    ];
    const span = 60 * 86_400_000;
    const start = now - span;
    let seed = 42;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);

    const batch = 10_000;
    const walSync = new WalSync(db);
    let insertMs = 0;
    for (let done = 0; done < total; done += batch) {
      const rows: NewLedgerRow[] = [];
      for (let i = 0; i < Math.min(batch, total - done); i++) {
        const [provider, model] = pairs[Math.floor(rand() * pairs.length)]!;
        const inputTokens = Math.floor(rand() * 20_000);
        const outputTokens = Math.floor(rand() * 4_000);
        const match = provider === 'mcp_sampling' ? undefined : prices.lookup(model);
        const price = provider === 'mcp_sampling' ? { input: 0, output: 0 } : (match?.price ?? prices.fallback);
        rows.push({
          timeMs: start + Math.floor(((done + i) / total) * span),
          provider,
          model,
          modelKey: match?.key ?? model,
          inputTokens,
          outputTokens,
          costNanoUsd: nanoCost(price, { inputTokens, outputTokens }),
          trialId: `trial-${done + i}`,
          taskId: rand() < 0.5 ? Math.floor(rand() * 200) : null,
          tags: rand() < 0.33 ? [`tag${Math.floor(rand() * 10)}`] : [],
          status: 'ok',
          priceKnown: provider === 'mcp_sampling' || match !== undefined,
        });
      }
      const t0 = performance.now(); // time the inserts only, not the generation of test rows
      ledger.insertMany(rows);
      await walSync.sync(); // durable, as before a tool answers
      insertMs += performance.now() - t0;
    }
    const rowsPerSec = Math.round(total / (insertMs / 1000));
    console.log(`ledger insert (batches of ${batch.toLocaleString('en-US')}, an fsync after each): ${total.toLocaleString('en-US')} rows in ${(insertMs / 1000).toFixed(2)} s = ${rowsPerSec.toLocaleString('en-US')} rows/s (target >= 50,000) ${rowsPerSec >= 50_000 ? 'OK' : 'BELOW TARGET'}`);

    const queries: Array<[string, SummaryQuery]> = [
      ['today / provider', { period: 'today', groupBy: 'provider' }],
      ['month / model', { period: 'month', groupBy: 'model' }],
      ['all / provider', { period: 'all', groupBy: 'provider' }],
      ['all / day', { period: 'all', groupBy: 'day' }],
      ['range(30d) / model', { period: { from: '2026-10-15T06:10:00Z', to: '2026-11-14T18:20:00Z' }, groupBy: 'model' }],
      ['today / task', { period: 'today', groupBy: 'task' }],
      ['today / tag', { period: 'today', groupBy: 'tag' }],
      ['month / task', { period: 'month', groupBy: 'task' }],
      ['all / tag', { period: 'all', groupBy: 'tag' }],
    ];
    for (const [label, q] of queries) {
      const times: number[] = [];
      for (let i = 0; i < 25; i++) {
        const s = performance.now();
        service.summary(q);
        times.push(performance.now() - s);
      }
      times.sort((a, b) => a - b);
      const p50 = times[Math.floor(times.length / 2)]!;
      const p95 = times[Math.floor(times.length * 0.95)]!;
      console.log(`cost_summary ${label.padEnd(20)} p50 ${p50.toFixed(2)} ms  p95 ${p95.toFixed(2)} ms${p50 <= 20 ? '' : '  (above 20 ms)'}`);
    }

    const rt: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      const r = service.reserve({ provider: 'google_gemini', model: 'gemini-2.5-pro', maxCostUsd: 0.05 });
      service.settle(r.id, { inputTokens: 1000, outputTokens: 500, status: 'ok' });
      rt.push(performance.now() - s);
    }
    rt.sort((a, b) => a - b);
    console.log(`reserve+settle (2 transactions, synchronous=NORMAL; the fsync comes once per tool answer, see WalSync) p50 ${rt[100]!.toFixed(2)} ms  p95 ${rt[190]!.toFixed(2)} ms`);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
