import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startGeminiEmulator, type GeminiEmulator } from '../helpers/geminiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';
import { TEST_API_KEY } from '../helpers/keys.js';

type Structured = Record<string, any>;

// gemini-2.5-flash: $0.30 in / $2.50 out per million tokens. With max_output_tokens 1000 and a
// short prompt each call may cost up to ~$0.0025; each real call costs 100 in + 1000 out.
const REAL_COST = (100 * 0.3 + 1000 * 2.5) / 1e6;

describe('budgets hold under concurrency, across processes and through a crash', () => {
  let emulator: GeminiEmulator;
  beforeAll(async () => {
    emulator = await startGeminiEmulator();
    emulator.setDefault({ kind: 'ok', text: 'done', usage: { input: 100, output: 1000 }, delayMs: 30 });
  });
  afterAll(async () => {
    await emulator.close();
  });

  const env = (home: string) => ({ TASK_ORCHESTRATOR_HOME: home, GEMINI_API_KEY: TEST_API_KEY, GEMINI_BASE_URL: emulator.url });
  const agent = { prompt: 'Say done', model: 'gemini-2.5-flash', max_output_tokens: 1000 };
  const ledger = (home: string) => new Database(path.join(home, 'orchestrator.db'), { readonly: true });

  it('100 concurrent spawns against a budget that fits some: the booked total never exceeds it and every refusal is clear', async () => {
    const home = makeTempDir();
    const server = await startServer(env(home));
    const limit = 0.05;
    const set = (await server.client.callTool({ name: 'cost_set_budget', arguments: { provider: 'google_gemini', daily_limit: limit } })) as CallToolResult;
    expect(set.isError).toBeFalsy();
    const result = (await server.client.callTool({ name: 'spawn_parallel_agents', arguments: { agents: Array.from({ length: 100 }, () => agent), max_concurrency: 50 } })) as CallToolResult;
    const { outcome } = result.structuredContent as Structured;
    const passed = outcome.results.filter((r: Structured) => r.status === 'passed');
    const refused = outcome.results.filter((r: Structured) => r.status === 'errored');
    expect(passed.length + refused.length).toBe(100);
    expect(passed.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.error.code).toBe('budget_exceeded');
      expect(r.error.message).toMatch(/daily budget for google_gemini is \$0\.05/);
    }
    const summary = ((await server.client.callTool({ name: 'cost_summary', arguments: { period: 'today' } })) as CallToolResult).structuredContent as Structured;
    expect(summary.totals.usd).toBeLessThanOrEqual(limit);
    expect(summary.totals.usd).toBeCloseTo(passed.length * REAL_COST, 9);
    await server.stop();
  });

  it('two server processes on one database cannot overspend together', async () => {
    const home = makeTempDir();
    const a = await startServer(env(home));
    const b = await startServer(env(home));
    await a.client.callTool({ name: 'cost_set_budget', arguments: { provider: 'google_gemini', daily_limit: 0.04 } });
    const batch = { agents: Array.from({ length: 40 }, () => agent), max_concurrency: 20 };
    const [ra, rb] = (await Promise.all([
      a.client.callTool({ name: 'spawn_parallel_agents', arguments: batch }),
      b.client.callTool({ name: 'spawn_parallel_agents', arguments: batch }),
    ])) as CallToolResult[];
    const passed = [ra, rb].flatMap((r) => (r!.structuredContent as Structured).outcome.results).filter((r: Structured) => r.status === 'passed');
    expect(passed.length).toBeGreaterThan(0);
    await a.stop();
    await b.stop();
    const db = ledger(home);
    const spent = (db.prepare(`SELECT SUM(cost_nusd) AS n FROM ledger`).get() as { n: number }).n / 1e9;
    db.close();
    expect(spent).toBeLessThanOrEqual(0.04);
    expect(spent).toBeCloseTo(passed.length * REAL_COST, 9);
  });

  it('kill -9 while agents are booking: every reported cost is in the ledger and the database is intact', async () => {
    const home = makeTempDir();
    let server: StartedServer = await startServer(env(home));
    const reported: Array<{ trial: string; usd: number }> = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = (await server.client.callTool({ name: 'spawn_agent', arguments: agent })) as CallToolResult;
          if (!r.isError) {
            const { result } = r.structuredContent as Structured;
            reported.push({ trial: result.trial_id, usd: result.cost_usd });
          }
        } catch {
          return; // the connection died with the server
        }
      }
    };
    const workers = Array.from({ length: 10 }, worker);
    await expect.poll(() => reported.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(40);
    server.transport.child!.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    const answered = [...reported];

    const db = ledger(home);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const byTrial = db.prepare(`SELECT SUM(cost_nusd) AS n FROM ledger WHERE trial_id = ?`);
    for (const { trial, usd } of answered) {
      expect((byTrial.get(trial) as { n: number }).n / 1e9).toBeCloseTo(usd, 9);
    }
    db.close();

    // The restarted server reads the same ledger and releases what the dead one held.
    server = await startServer(env(home));
    const summary = ((await server.client.callTool({ name: 'cost_summary', arguments: { period: 'all' } })) as CallToolResult).structuredContent as Structured;
    expect(summary.totals.usd).toBeGreaterThanOrEqual(answered.reduce((s, r) => s + r.usd, 0) - 1e-9);
    for (const budget of summary.budgets) {
      expect(budget.daily?.reserved_usd ?? 0).toBe(0);
    }
    await server.stop();
  });
});

describe("the audit's overrun scenario against the built server", () => {
  let emulator: GeminiEmulator;
  beforeAll(async () => {
    emulator = await startGeminiEmulator();
    // Ignores max_output_tokens and answers 50–62 tokens: 4.2–5.1x what a 100-character prompt with max_output_tokens 1 reserves.
    emulator.setDefault((req) => ({ kind: 'ok', text: 'y'.repeat(200 + ((req.id * 7919) % 13) * 4), delayMs: 5 }));
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('100 concurrent calls, each costing 4–5x its reservation, end at ≤ 110% of the daily limit; cost_summary shows the overrun', async () => {
    const home = makeTempDir();
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: home, GEMINI_API_KEY: TEST_API_KEY, GEMINI_BASE_URL: emulator.url });
    const limit = 0.0005;
    await server.client.callTool({ name: 'cost_set_budget', arguments: { provider: 'google_gemini', daily_limit: limit } });
    const agents = Array.from({ length: 100 }, (_, i) => ({
      prompt: `Task ${String(i).padStart(3, '0')}: answer briefly. `.padEnd(100, 'x'),
      model: 'gemini-2.0-flash',
      max_output_tokens: 1,
    }));
    const result = (await server.client.callTool({ name: 'spawn_parallel_agents', arguments: { agents, max_concurrency: 100 } })) as CallToolResult;
    const results = (result.structuredContent as Structured).outcome.results as Structured[];
    const passed = results.filter((r) => r.status === 'passed');
    expect(passed.length).toBeGreaterThan(10);
    for (const r of results.filter((x) => x.status !== 'passed')) expect(r.error.code).toBe('budget_exceeded');
    const summary = (await server.client.callTool({ name: 'cost_summary', arguments: { period: 'today' } })) as CallToolResult;
    const s = summary.structuredContent as Structured;
    console.log(`e2e audit scenario: ${passed.length} passed, spent $${s.totals.usd} of $${limit} = ${((s.totals.usd / limit) * 100).toFixed(1)}%`);
    expect(s.totals.usd).toBeLessThanOrEqual(limit * 1.1);
    expect(s.overruns).toEqual([expect.objectContaining({ provider: 'google_gemini', model: 'gemini-2.0-flash' })]);
    const text = (summary.content as Array<{ type: string; text: string }>)[0]!.text;
    expect(text).toMatch(/warning: \d+ call\(s\) to google_gemini model "gemini-2\.0-flash" cost more than was reserved/);
    await server.stop();
  });
});
