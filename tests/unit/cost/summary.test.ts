import { afterEach, describe, expect, it } from 'vitest';
import { ZonedCalendar } from '../../../src/zonedCalendar.js';
import { InvalidInputError } from '../../../src/errors.js';
import { makeHarness, tokensFor, type Harness } from './setup.js';

const at = (iso: string) => Date.parse(iso);

/** Books a test-model call costing `usd` at an instant. */
function book(h: Harness, iso: string, usd: number, extra: { provider?: 'google_gemini' | 'openai_compatible'; model?: string; taskId?: number; tags?: string[] } = {}) {
  h.clock.set(at(iso));
  return h.service.record({
    provider: extra.provider ?? 'google_gemini',
    model: extra.model ?? 'test-model',
    inputTokens: tokensFor(usd),
    outputTokens: 0,
    status: 'ok',
    taskId: extra.taskId ?? null,
    tags: extra.tags,
  });
}

describe('cost summary', () => {
  let h: Harness;
  afterEach(() => h.close());

  function seed() {
    h = makeHarness();
    book(h, '2026-10-31T12:00:00Z', 7.0); // last month
    book(h, '2026-11-02T09:00:00Z', 1.0, { taskId: 3, tags: ['a'] });
    book(h, '2026-11-26T22:59:00Z', 0.5, { tags: ['a', 'b'] }); // 23:59 Berlin on the 26th
    book(h, '2026-11-26T23:01:00Z', 0.25, { provider: 'openai_compatible', model: 'local', taskId: 3 }); // 00:01 on the 27th
    book(h, '2026-11-27T10:00:00Z', 2.0, { model: 'test-model-001', tags: ['b'] });
    book(h, '2026-11-27T14:59:59Z', 0.125, { taskId: 4 });
    h.clock.set(at('2026-11-27T15:00:00Z'));
  }

  it('totals today, this month and all time in the configured zone', () => {
    seed();
    const unknownLocal = (4 * tokensFor(0.25)) / 1e6; // "local" has no price: booked at the $4/1M fallback
    const today = h.service.summary({ period: 'today' });
    expect(today.period).toMatchObject({ name: 'today', from: '2026-11-26T23:00:00.000Z', to: '2026-11-27T23:00:00.000Z', time_zone: 'Europe/Berlin' });
    expect(today.totals.calls).toBe(3);
    expect(today.totals.usd).toBeCloseTo(2.125 + unknownLocal, 9);
    const month = h.service.summary({ period: 'month' });
    expect(month.totals.calls).toBe(5);
    expect(month.totals.usd).toBeCloseTo(1 + 0.5 + 2.125 + unknownLocal, 9);
    const all = h.service.summary({ period: 'all' });
    expect(all.totals.calls).toBe(6);
    expect(all.totals.usd).toBeCloseTo(7 + 1 + 0.5 + 2.125 + unknownLocal, 9);
  });

  it('groups by provider, model, day, task and tag', () => {
    seed();
    const unknownLocal = 1; // 250,000 tokens at $4/1M
    const keyed = (rows: Array<{ key: string; usd: number; calls: number }>) => Object.fromEntries(rows.map((r) => [r.key, [Number(r.usd.toFixed(9)), r.calls]]));
    expect(keyed(h.service.summary({ period: 'month', groupBy: 'provider' }).breakdown)).toEqual({
      google_gemini: [3.625, 4],
      openai_compatible: [unknownLocal, 1],
    });
    expect(keyed(h.service.summary({ period: 'month', groupBy: 'model' }).breakdown)).toEqual({
      'test-model': [3.625, 4], // "test-model-001" is the same price key
      local: [unknownLocal, 1],
    });
    expect(keyed(h.service.summary({ period: 'all', groupBy: 'day' }).breakdown)).toEqual({
      '2026-10-31': [7, 1],
      '2026-11-02': [1, 1],
      '2026-11-26': [0.5, 1],
      '2026-11-27': [2.125 + unknownLocal, 3],
    });
    expect(keyed(h.service.summary({ period: 'month', groupBy: 'task' }).breakdown)).toEqual({
      '3': [1 + unknownLocal, 2],
      '4': [0.125, 1],
      none: [2.5, 2],
    });
    expect(keyed(h.service.summary({ period: 'month', groupBy: 'tag' }).breakdown)).toEqual({ a: [1.5, 2], b: [2.5, 2] });
    const day = h.service.summary({ period: 'all', groupBy: 'day' }).breakdown.map((r) => r.key);
    expect(day).toEqual([...day].sort());
  });

  it('accepts an explicit range: dates are whole local days ("to" inclusive), date-times exact', () => {
    seed();
    const r1 = h.service.summary({ period: { from: '2026-11-26', to: '2026-11-26' } });
    expect(r1.period.name).toBe('range');
    expect(r1.totals.calls).toBe(1);
    expect(r1.totals.usd).toBe(0.5);
    const r2 = h.service.summary({ period: { from: '2026-11-26T22:00:00Z', to: '2026-11-27T10:00:00Z' } });
    expect(r2.totals.calls).toBe(2); // 22:59 and 23:01; 10:00 is excluded
    expect(() => h.service.summary({ period: { from: '2026-11-27', to: '2026-11-01' } })).toThrow(InvalidInputError);
    expect(() => h.service.summary({ period: { from: 'yesterday', to: '2026-11-01' } })).toThrow(/ISO date/);
  });

  it.each([
    ['UTC', '0000-01-01', '0000-01-01T00:00:00.000Z', '0000-01-02T00:00:00.000Z'],
    ['UTC', '0000-02-29', '0000-02-29T00:00:00.000Z', '0000-03-01T00:00:00.000Z'],
    ['UTC', '0000-12-31', '0000-12-31T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
    // Berlin kept local mean time, +0:53:28, until 1893.
    ['Europe/Berlin', '0000-01-01', '-000001-12-31T23:06:32.000Z', '0000-01-01T23:06:32.000Z'],
  ])('a range of one day in year 0000 covers that day only (%s, %s)', (zone, date, from, to) => {
    h = makeHarness({ timeZone: zone });
    const s = h.service.summary({ period: { from: date, to: date }, groupBy: 'day' });
    expect(s.period).toEqual({ name: 'range', from, to, time_zone: zone });
    expect(s.totals.calls).toBe(0);
  });

  it('lists the dearest recent calls first and shows budgets with spend', () => {
    seed();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 5, monthlyLimitUsd: 50 });
    const s = h.service.summary({ period: 'all' });
    expect(s.top_calls.map((c) => c.usd)).toEqual([7, 2, 1, 1, 0.5]);
    expect(s.budgets).toHaveLength(1);
    expect(s.budgets[0]).toMatchObject({
      provider: 'google_gemini',
      model: null,
      daily: { limit_usd: 5, spent_usd: 2.125, reserved_usd: 0, remaining_usd: 2.875, percent_used: 42.5, resets_at: '2026-11-27T23:00:00.000Z' },
      monthly: { limit_usd: 50, spent_usd: 3.625, percent_used: 7.25, resets_at: '2026-11-30T23:00:00.000Z' },
    });
  });

  it('an empty ledger summarises to zeros', () => {
    h = makeHarness();
    for (const groupBy of ['provider', 'model', 'day', 'task', 'tag'] as const) {
      const s = h.service.summary({ period: 'all', groupBy });
      expect(s.totals).toEqual({ usd: 0, calls: 0, input_tokens: 0, output_tokens: 0 });
      expect(s.breakdown).toEqual([]);
    }
  });
});

describe('summaries agree with a brute-force sum of the ledger', () => {
  let h: Harness;
  afterEach(() => h.close());

  /** Random calls over Oct 1 - Nov 27 2026 (crosses the Oct 25 DST change in Berlin). */
  function randomLedger(seedValue: number) {
    let seed = seedValue;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    const from = Date.UTC(2026, 9, 1);
    const to = Date.UTC(2026, 10, 27, 15);
    for (let i = 0; i < 400; i++) {
      h.clock.set(from + Math.floor(rand() * (to - from)));
      h.service.record({
        provider: rand() < 0.7 ? 'google_gemini' : 'openai_compatible',
        model: rand() < 0.5 ? 'test-model' : 'gemini-2.5-flash',
        inputTokens: Math.floor(rand() * 100_000),
        outputTokens: Math.floor(rand() * 10_000),
        status: 'ok',
        taskId: rand() < 0.5 ? 1 + Math.floor(rand() * 5) : null,
        tags: rand() < 0.5 ? [`t${Math.floor(rand() * 3)}`] : [],
      });
    }
    h.clock.set(to);
    return { rand, from, to };
  }

  function bruteForce(fromMs: number, toMs: number, cal: ZonedCalendar) {
    const rows = h.db.prepare('SELECT time_ms, cost_nusd, task_id, tags FROM ledger WHERE time_ms >= ? AND time_ms < ?').all(fromMs, toMs) as Array<{
      time_ms: number;
      cost_nusd: number;
      task_id: number | null;
      tags: string;
    }>;
    const byDay = new Map<string, number>();
    const byTask = new Map<string, number>();
    const byTag = new Map<string, number>();
    const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
    for (const r of rows) {
      const d = cal.localDate(r.time_ms);
      add(byDay, `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`, r.cost_nusd);
      add(byTask, r.task_id === null ? 'none' : String(r.task_id), r.cost_nusd);
      for (const t of JSON.parse(r.tags) as string[]) add(byTag, t, r.cost_nusd);
    }
    return { calls: rows.length, nano: rows.reduce((s, r) => s + r.cost_nusd, 0), byDay, byTask, byTag };
  }

  const nanoMap = (rows: Array<{ key: string; usd: number }>) => new Map(rows.map((r) => [r.key, Math.round(r.usd * 1e9)]));

  it.each(['Europe/Berlin', 'Asia/Kolkata', 'America/St_Johns', 'UTC'])('for arbitrary ranges in %s', (zone) => {
    h = makeHarness({ timeZone: zone });
    const { rand, from, to } = randomLedger(7);
    const cal = new ZonedCalendar(zone);
    for (let i = 0; i < 12; i++) {
      const a = from + Math.floor(rand() * (to - from));
      const b = a + Math.floor(rand() * 20 * 86_400_000);
      const period = { from: new Date(a).toISOString(), to: new Date(b).toISOString() };
      const expected = bruteForce(a, b, cal);
      const total = h.service.summary({ period, groupBy: 'day' });
      expect(total.totals.calls).toBe(expected.calls);
      expect(Math.round(total.totals.usd * 1e9)).toBe(expected.nano);
      expect(nanoMap(total.breakdown)).toEqual(expected.byDay);
      expect(nanoMap(h.service.summary({ period, groupBy: 'task' }).breakdown)).toEqual(expected.byTask);
      expect(nanoMap(h.service.summary({ period, groupBy: 'tag' }).breakdown)).toEqual(expected.byTag);
    }
  });

  it('a second process with another time zone builds its own day rollups, and both stay correct as calls are added', () => {
    h = makeHarness({ timeZone: 'Europe/Berlin' });
    const { from, to } = randomLedger(11);
    const kolkata = h.another({ timeZone: 'Asia/Kolkata' }); // UTC+5:30, registered after 400 calls exist
    h.clock.set(to - 3_600_000);
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: 123_456, outputTokens: 0, status: 'ok', tags: ['t9'] });
    h.clock.set(to);
    for (const [svc, zone] of [[h.service, 'Europe/Berlin'], [kolkata, 'Asia/Kolkata']] as const) {
      const expected = bruteForce(from - 86_400_000, to + 86_400_000, new ZonedCalendar(zone));
      const s = svc.summary({ period: 'all', groupBy: 'day' });
      expect(nanoMap(s.breakdown)).toEqual(expected.byDay);
      expect(nanoMap(svc.summary({ period: 'all', groupBy: 'tag' }).breakdown)).toEqual(expected.byTag);
    }
  });
});
