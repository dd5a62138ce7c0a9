import { afterEach, describe, expect, it } from 'vitest';
import type { CostOverrunEvent, SpendBookedEvent } from '../../../src/events.js';
import { makeHarness, tokensFor, type Harness } from './setup.js';

describe('facts on the event bus and the learned cost ratio', () => {
  let h: Harness;
  afterEach(() => h.close());

  const collect = () => {
    const booked: SpendBookedEvent[] = [];
    const overruns: CostOverrunEvent[] = [];
    h.events.on('spend.booked', (e) => booked.push(e));
    h.events.on('cost.overrun', (e) => overruns.push(e));
    return { booked, overruns };
  };

  it('every ledger row is a spend.booked fact, with what its reservation held (null without one)', () => {
    h = makeHarness();
    const { booked } = collect();
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5, trialId: 't1' });
    h.service.settle(r.id, { inputTokens: tokensFor(0.25), outputTokens: 0, status: 'ok' });
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(0.01), outputTokens: 0, status: 'error' });
    expect(booked).toEqual([
      { provider: 'google_gemini', model: 'test-model', costUsd: 0.25, reservedUsd: 0.5, status: 'ok', trialId: 't1', taskId: null, at: h.clock.now() },
      { provider: 'google_gemini', model: 'test-model', costUsd: 0.01, reservedUsd: null, status: 'error', trialId: null, taskId: null, at: h.clock.now() },
    ]);
  });

  it('an overrun is a cost.overrun fact; the ratio is learned, shared by another process on the file, and applied to estimates', () => {
    h = makeHarness();
    const { overruns } = collect();
    expect(h.service.estimateMaxCostUsd('google_gemini', 'test-model', 100_000, 0)).toBe(0.1);
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 });
    h.service.settle(r.id, { inputTokens: tokensFor(0.45), outputTokens: 0, status: 'ok' });
    expect(overruns).toEqual([
      { provider: 'google_gemini', model: 'test-model', reservedUsd: 0.1, costUsd: 0.45, ratio: 4.5, trialId: null, at: h.clock.now() },
    ]);
    expect(h.service.learnedRatio('google_gemini', 'test-model')).toBe(4.5);
    const other = h.another();
    expect(other.estimateMaxCostUsd('google_gemini', 'test-model', 100_000, 0)).toBe(0.45);
    // A call reserved at the learned ratio that needs a little more raises it to what it needed.
    const r2 = other.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.45 });
    other.settle(r2.id, { inputTokens: tokensFor(0.5), outputTokens: 0, status: 'ok' });
    expect(h.service.learnedRatio('google_gemini', 'test-model')).toBeCloseTo(5, 9);
    // Calls within the spread already seen do not lower it.
    const r3 = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 });
    h.service.settle(r3.id, { inputTokens: tokensFor(0.4), outputTokens: 0, status: 'ok' });
    expect(h.service.learnedRatio('google_gemini', 'test-model')).toBeCloseTo(5, 9);
    const s = h.service.summary({ period: 'today' });
    expect(s.overruns).toEqual([
      { provider: 'google_gemini', model: 'test-model', calls: 2, reserved_usd: 0.55, cost_usd: 0.95, max_ratio: 4.5, reserve_ratio: 5 },
    ]);
    expect(s.warnings).toContain(
      '2 call(s) to google_gemini model "test-model" cost more than was reserved for them (up to 4.5x; $0.95 against $0.55 reserved); its calls are now reserved at 5x the estimate.',
    );
  });

  it('a call within its reservation is no overrun and teaches nothing', () => {
    h = makeHarness();
    const { overruns } = collect();
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 });
    h.service.settle(r.id, { inputTokens: tokensFor(0.1), outputTokens: 0, status: 'ok' });
    expect(overruns).toEqual([]);
    expect(h.service.learnedRatio('google_gemini', 'test-model')).toBe(1);
    expect(h.service.summary({ period: 'today' }).overruns).toEqual([]);
  });

  it('a model whose calls now need far less lets its ratio decay slowly, never below 1', () => {
    h = makeHarness();
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.01 });
    h.service.settle(r.id, { inputTokens: tokensFor(0.04), outputTokens: 0, status: 'ok' });
    expect(h.service.learnedRatio('google_gemini', 'test-model')).toBe(4);
    for (let i = 0; i < 200; i++) {
      const x = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.04 });
      h.service.settle(x.id, { inputTokens: tokensFor(0.01), outputTokens: 0, status: 'ok' });
    }
    expect(h.service.learnedRatio('google_gemini', 'test-model')).toBeCloseTo(1, 9);
  });
});
