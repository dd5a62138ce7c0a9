import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { agentSpecSchema, type AgentSpec } from '../../../src/agents/spawnSchema.js';
import { loadConfig } from '../../../src/config.js';
import type { CostOverrunEvent, SpendBookedEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/logger.js';
import { estimateTokens } from '../../../src/tokenEstimate.js';
import { emulatedAppEnv, startGeminiEmulator, type GeminiEmulator } from '../../helpers/geminiEmulator.js';
import { gate } from '../../helpers/wait.js';

/**
 * Issue 12 "Money": calls that cost more than reserved must not break the daily limit. Driven
 * through the real pipeline (createApp, the real @google/genai client over HTTP, the emulator).
 */
const spec = (input: Record<string, unknown>): AgentSpec => agentSpecSchema.parse(input);
const ctx = () => ({ signal: new AbortController().signal });

// gemini-2.0-flash: $0.10 in / $0.40 out per 1M tokens, and it does not bill thinking.
const MODEL = 'gemini-2.0-flash';
/** A 100-character prompt: reserved as ceil(100/3) + 16 = 50 input tokens + 1 output token = $0.0000054. */
const promptFor = (i: number) => `Task ${String(i).padStart(3, '0')}: answer briefly. `.padEnd(100, 'x');
/**
 * The emulator ignores max_output_tokens and answers 50–62 tokens (200–248 characters, varying by
 * request): each call costs 25 input + 50..62 output tokens = $0.0000225..$0.0000273, 4.2–5.1x its reservation.
 */
const answerFor = (requestId: number) => 'y'.repeat(200 + ((requestId * 7919) % 13) * 4);

interface ReservationRow {
  amount_nusd: number;
  ratio: number;
  created_ms: number;
  state: string;
}

describe('budgets hold when calls cost more than reserved (real pipeline, Gemini emulator)', () => {
  let emulator: GeminiEmulator;
  let app: App;
  let overruns: CostOverrunEvent[];
  let booked: SpendBookedEvent[];

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(async () => {
    emulator.reset();
    app = await createApp({ config: loadConfig(emulatedAppEnv(emulator)), logger: silentLogger });
    overruns = [];
    booked = [];
    app.services.events.on('cost.overrun', (e) => overruns.push(e));
    app.services.events.on('spend.booked', (e) => booked.push(e));
  });
  afterEach(async () => {
    await app.close();
  });

  it("the audit's scenario: 100 concurrent calls each costing 4–5x their reservation end at ≤ 110% of the daily limit", async () => {
    emulator.setDefault((req) => ({ kind: 'ok', text: answerFor(req.id), delayMs: 5 }));
    const limit = 0.0005;
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: limit });
    const base = app.services.cost.estimateMaxCostUsd('google_gemini', MODEL, estimateTokens(`\n${promptFor(0)}`) + 16, 1);
    expect(base).toBeCloseTo(0.0000054, 12);

    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => app.services.agents.spawn(spec({ prompt: promptFor(i), model: MODEL, max_output_tokens: 1 }), ctx())),
    );

    const passed = results.filter((r) => r.status === 'passed');
    const refused = results.filter((r) => r.status === 'errored');
    expect(passed.length + refused.length).toBe(100);
    for (const r of refused) expect(r.error?.code).toBe('budget_exceeded');
    expect(passed.length).toBeGreaterThan(10);

    const summary = app.services.cost.summary({ period: 'today' });
    const spent = summary.totals.usd;
    const percent = (spent / limit) * 100;
    console.log(`audit scenario: ${passed.length} passed, ${refused.length} refused, spent $${spent.toFixed(7)} of $${limit} = ${percent.toFixed(1)}% of the daily limit; ${overruns.length} overrun(s), learned ratio ${app.services.cost.learnedRatio?.('google_gemini', MODEL).toFixed(3)}`);
    expect(percent).toBeLessThanOrEqual(110);
    expect(summary.totals.calls).toBe(passed.length);

    // Every row booked is a fact on the bus; the first overrun is one too, with its ratio.
    expect(booked).toHaveLength(passed.length);
    expect(overruns.length).toBeGreaterThanOrEqual(1);
    expect(overruns[0]).toMatchObject({ provider: 'google_gemini', model: MODEL });
    expect(overruns[0]!.ratio).toBeGreaterThan(4);
    expect(overruns[0]!.ratio).toBeLessThan(5.2);

    // The first call was reserved at the list estimate; every call after it at the learned ratio.
    const rows = app.services.db
      .prepare(`SELECT amount_nusd, ratio, created_ms, state FROM budget_reservations ORDER BY created_ms`)
      .all() as ReservationRow[];
    expect(rows).toHaveLength(passed.length);
    const atList = rows.filter((r) => r.ratio === 1);
    expect(atList).toHaveLength(1);
    expect(atList[0]!.amount_nusd).toBe(5_400);
    const firstRatio = overruns[0]!.ratio;
    for (const r of rows.filter((x) => x.ratio !== 1)) {
      expect(r.ratio).toBeGreaterThanOrEqual(firstRatio - 1e-9);
      expect(r.amount_nusd).toBeGreaterThanOrEqual(Math.floor(5_400 * r.ratio));
    }

    // cost_summary shows it: a field and a warning line.
    expect(summary.overruns).toEqual([
      expect.objectContaining({ provider: 'google_gemini', model: MODEL, calls: overruns.length, reserve_ratio: expect.any(Number) }),
    ]);
    expect(summary.overruns[0]!.max_ratio).toBeGreaterThan(4);
    expect(summary.warnings.join('\n')).toMatch(/call\(s\) to google_gemini model "gemini-2\.0-flash" cost more than was reserved for them \(up to [\d.]+x/);
  });

  it('the learned ratio is in the database: a restarted server (or another process) reserves with it at once', async () => {
    emulator.setDefault({ kind: 'ok', text: 'y'.repeat(232) });
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    await app.services.agents.spawn(spec({ prompt: promptFor(1), model: MODEL, max_output_tokens: 1 }), ctx());
    expect(overruns).toHaveLength(1);
    const learned = app.services.cost.learnedRatio('google_gemini', MODEL);
    expect(learned).toBeGreaterThan(4);
    const config = app.services.config;
    await app.close();
    app = await createApp({ config, logger: silentLogger });
    expect(app.services.cost.learnedRatio('google_gemini', MODEL)).toBe(learned);
    expect(app.services.cost.estimateMaxCostUsd('google_gemini', MODEL, 50, 1)).toBeCloseTo(0.0000054 * learned, 9);
    // Observed before: no cautious start for this model in the new process.
    expect(app.services.cost.admissionWindow('google_gemini', MODEL)).toBe(Infinity);
  });

  it('a CJK prompt is reserved for what Gemini bills (about a token a character), not a quarter of it', async () => {
    const prompt = '请将以下段落翻译成英文并保持原意。'.repeat(20); // 340 CJK characters
    // Real Gemini bills ~0.6–1 token per CJK character; bill the upper figure. The emulator's own
    // chars/4 (85 tokens) would be 4x low.
    emulator.setDefault({ kind: 'ok', text: 'done', usage: { input: prompt.length, output: 100 } });
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const result = await app.services.agents.spawn(spec({ prompt, model: MODEL, max_output_tokens: 100 }), ctx());
    expect(result.status).toBe('passed');
    const row = app.services.db.prepare(`SELECT amount_nusd FROM budget_reservations`).get() as { amount_nusd: number };
    const reservedInputTokens = (row.amount_nusd - 100 * 400) / 100; // nano-USD at $0.10 / $0.40 per 1M
    console.log(`CJK: ${prompt.length} characters, ${Buffer.byteLength(prompt)} UTF-8 bytes; reserved ${reservedInputTokens} input tokens; billed ${prompt.length}; chars/4 would say ${Math.ceil(prompt.length / 4)}`);
    expect(reservedInputTokens).toBeGreaterThanOrEqual(prompt.length);
    expect(result.cost_usd).toBeLessThanOrEqual(row.amount_nusd / 1e9);
    expect(overruns).toHaveLength(0);
  });

  it('a thinking model is reserved for thinking even with max_output_tokens 1 (Gemini 2.5 bills thoughts as output)', async () => {
    emulator.setDefault({ kind: 'ok', text: 'ok', usage: { input: 10, output: 1, thoughts: 900 } });
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const result = await app.services.agents.spawn(spec({ prompt: 'Is 7 prime?', model: 'gemini-2.5-flash', max_output_tokens: 1 }), ctx());
    expect(result.status).toBe('passed');
    expect(result.cost_usd).toBeCloseTo((10 * 0.3 + 901 * 2.5) / 1e6, 12);
    const row = app.services.db.prepare(`SELECT amount_nusd FROM budget_reservations`).get() as { amount_nusd: number };
    expect(row.amount_nusd / 1e9).toBeGreaterThanOrEqual(result.cost_usd);
    expect(overruns).toHaveLength(0);
  });

  it('without a budget nothing waits: 20 concurrent calls of a new model run together', async () => {
    // Every answer is held until all 20 requests are in flight together (or the poll gives up).
    const answers = gate();
    emulator.setDefault({ kind: 'ok', text: 'fine', release: answers.promise });
    const running = Promise.all(
      Array.from({ length: 20 }, (_, i) => app.services.agents.spawn(spec({ prompt: promptFor(i), model: MODEL }), ctx())),
    );
    try {
      await expect.poll(() => emulator.inFlight, { timeout: 10_000 }).toBe(20);
    } finally {
      answers.open();
    }
    const results = await running;
    expect(results.every((r) => r.status === 'passed')).toBe(true);
    expect(emulator.maxInFlight).toBe(20);
  });

  it('with a budget a new model starts with one call in flight and widens as calls settle within their reservations', async () => {
    emulator.setDefault({ kind: 'ok', text: 'fine', usage: { input: 10, output: 1 }, delayMs: 20 });
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    expect(app.services.cost.admissionWindow('google_gemini', MODEL)).toBe(1);
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) => app.services.agents.spawn(spec({ prompt: promptFor(i), model: MODEL, max_output_tokens: 10 }), ctx())),
    );
    expect(results.every((r) => r.status === 'passed')).toBe(true);
    // The window doubles per settled call (1, 2, 4, 8, 16): by the time it holds 16, four calls
    // have settled, so at most 11 of the 15 are ever in flight together; never all at once.
    expect(emulator.maxInFlight).toBeLessThanOrEqual(11);
    expect(emulator.maxInFlight).toBeGreaterThan(1);
    expect(overruns).toHaveLength(0);
  });
});
