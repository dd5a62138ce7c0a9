import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetExceededError, InvalidInputError, NotFoundError } from '../../../src/errors.js';
import { InstanceIdentity } from '../../../src/instance.js';
import { makeHarness, tokensFor, type Harness } from './setup.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const bookedNano = (h: Harness) => (h.db.prepare('SELECT COALESCE(SUM(cost_nusd), 0) AS n FROM ledger').get() as { n: number }).n;
const openReservations = (h: Harness) => (h.db.prepare(`SELECT COUNT(*) AS n FROM budget_reservations WHERE state = 'open'`).get() as { n: number }).n;

describe('budgets and reservations', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('refuses a call that could pass the daily limit, with the numbers and when it resets', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 5, monthlyLimitUsd: 50 });
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(4.98), outputTokens: 0, status: 'ok' });
    h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.01 });
    let err: unknown;
    try {
      h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.04 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BudgetExceededError);
    const e = err as BudgetExceededError;
    expect(e.code).toBe('budget_exceeded');
    expect(e.message).toBe(
      'daily budget for google_gemini is $5.00, $4.98 spent ($0.01 reserved by running calls); this call may cost up to $0.04. ' +
        'Raise it with cost_set_budget or wait until 2026-11-28 00:00 Europe/Berlin.',
    );
    expect(e.details).toMatchObject({ provider: 'google_gemini', model: null, period: 'daily', limit_usd: 5, spent_usd: 4.98, reserved_usd: 0.01, requested_usd: 0.04, resets_at: '2026-11-27T23:00:00.000Z' });
    // A call that fits the remainder exactly is allowed.
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.01 })).not.toThrow();
  });

  it('refuses on the monthly limit and names the next month as the reset', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', monthlyLimitUsd: 1 });
    h.clock.set(Date.parse('2026-11-03T10:00:00Z'));
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(0.9), outputTokens: 0, status: 'ok' });
    h.clock.set(Date.parse('2026-11-27T15:00:00Z'));
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.2 })).toThrow(
      /^monthly budget for google_gemini is \$1\.00, \$0\.90 spent; this call may cost up to \$0\.20\. .*wait until 2026-12-01 00:00 Europe\/Berlin\.$/,
    );
  });

  it('says when one call alone is bigger than the limit', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.5 });
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.75 })).toThrow(/more than the whole limit/);
  });

  it('applies a model budget only to that model (and its versioned names), the provider budget to all', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', model: 'models/gemini-2.5-pro', dailyLimitUsd: 0.1 });
    expect(h.service.listBudgets()[0]!.model).toBe('gemini-2.5-pro');
    h.service.record({ provider: 'google_gemini', model: 'gemini-2.5-pro-001', inputTokens: 80_000, outputTokens: 0, status: 'ok' }); // $0.10
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'gemini-2.5-pro', maxCostUsd: 0.001 })).toThrow(/daily budget for google_gemini model gemini-2\.5-pro is \$0\.10/);
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'gemini-2.5-flash', maxCostUsd: 5 })).not.toThrow();
    expect(() => h.service.reserve({ provider: 'openai_compatible', model: 'gemini-2.5-pro', maxCostUsd: 5 })).not.toThrow();
  });

  it('never books more than the limit under 100 concurrent reservers, and every refusal is a clear BudgetExceededError', async () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const maxCost = 0.03; // 30,000 input tokens of test-model
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        await tick(i % 7);
        let r;
        try {
          r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: maxCost });
        } catch (e) {
          return e;
        }
        await tick(Math.floor(Math.random() * 5));
        h.service.settle(r.id, { inputTokens: 30_000, outputTokens: 0, status: 'ok' });
        return 'ok';
      }),
    );
    const ok = outcomes.filter((o) => o === 'ok').length;
    const refusals = outcomes.filter((o) => o !== 'ok');
    expect(ok).toBe(33); // floor(1.00 / 0.03)
    expect(bookedNano(h)).toBe(33 * 30_000_000);
    expect(bookedNano(h)).toBeLessThanOrEqual(1e9);
    for (const e of refusals) {
      expect(e).toBeInstanceOf(BudgetExceededError);
      expect((e as Error).message).toMatch(/^daily budget for google_gemini is \$1\.00, \$\d\.\d\d spent.*this call may cost up to \$0\.03\. Raise it with cost_set_budget/);
    }
    expect(openReservations(h)).toBe(0);
  });

  it('frees the unused part of a reservation when the real cost is lower', async () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    // Five callers, 100 calls: earlier calls settle while later ones reserve, and at most five
    // reservations are open at once whatever the timers do (staggered timers all fire together
    // after a stall on a loaded machine, which would let only 20 reserve before any settled).
    const results: boolean[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        while (next < 100) {
          next++;
          try {
            const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.05 });
            await tick(Math.floor(Math.random() * 3));
            h.service.settle(r.id, { inputTokens: 20_000, outputTokens: 0, status: 'ok' }); // $0.02
            results.push(true);
          } catch (e) {
            expect(e).toBeInstanceOf(BudgetExceededError);
            results.push(false);
          }
        }
      }),
    );
    expect(results).toHaveLength(100);
    // Refused only once $0.02 x passed + $0.05 x 5 open passes $1.00: at least 38 fit, not 20.
    expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(38);
    expect(bookedNano(h)).toBeLessThanOrEqual(1e9);
  });

  it('settles exactly once: a second settle books nothing and returns the first entry', () => {
    h = makeHarness();
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 });
    const e1 = h.service.settle(r.id, { inputTokens: 1000, outputTokens: 500, status: 'ok', tags: ['x'] });
    const e2 = h.service.settle(r.id, { inputTokens: 9999, outputTokens: 9999, status: 'ok' });
    expect(e2).toEqual(e1);
    expect(e1.cost_usd).toBeCloseTo(0.001 + 0.001, 12);
    expect(e1.reservation_id).toBe(r.id);
    expect(e1.tags).toEqual(['x']);
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM ledger').get()).toEqual({ n: 1 });
    expect(() => h.service.settle('no-such-id', { inputTokens: 1, outputTokens: 1, status: 'ok' })).toThrow(NotFoundError);
  });

  it('releases on failure and on cancellation; a second release is a no-op', async () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.1 });
    const fakeCall = (signal: AbortSignal, fail: boolean) =>
      new Promise<never>((_, reject) => {
        if (fail) setTimeout(() => reject(new Error('HTTP 500')), 1);
        signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
    const run = async (fail: boolean, ac: AbortController) => {
      const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 });
      try {
        await fakeCall(ac.signal, fail);
      } catch {
        h.service.release(r.id);
        h.service.release(r.id);
        return r;
      }
      throw new Error('unreachable');
    };
    await run(true, new AbortController());
    const ac = new AbortController();
    const pending = run(false, ac);
    await tick(2);
    expect(openReservations(h)).toBe(1);
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 })).toThrow(BudgetExceededError);
    ac.abort();
    const r = await pending;
    expect(openReservations(h)).toBe(0);
    expect(bookedNano(h)).toBe(0);
    expect(h.db.prepare('SELECT state FROM budget_reservations WHERE id = ?').get(r.id)).toEqual({ state: 'released' });
    // The full budget is available again.
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 })).not.toThrow();
  });

  it('books a cancelled call that did spend tokens with status "cancelled"', () => {
    h = makeHarness();
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.1 });
    const e = h.service.settle(r.id, { inputTokens: 10_000, outputTokens: 0, status: 'cancelled' });
    expect(e).toMatchObject({ status: 'cancelled', cost_usd: 0.01 });
  });

  it('a new day frees the daily limit but not the monthly one (day rollover in the budget zone)', () => {
    h = makeHarness({ now: Date.parse('2026-11-27T22:50:00Z') }); // 23:50 Berlin
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1, monthlyLimitUsd: 1.5 });
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(1), outputTokens: 0, status: 'ok' });
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.4 })).toThrow(/^daily budget/);
    h.clock.advance(20 * 60_000); // 00:10 on the 28th
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.4 });
    h.service.settle(r.id, { inputTokens: tokensFor(0.4), outputTokens: 0, status: 'ok' });
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.2 })).toThrow(/^monthly budget for google_gemini is \$1\.50, \$1\.40 spent/);
    const status = h.service.listBudgets()[0]!;
    expect(status.daily).toMatchObject({ spent_usd: 0.4, percent_used: 40 });
    expect(status.monthly).toMatchObject({ spent_usd: 1.4 });
  });

  it('fires 50/80/100% alerts once per period, also across a restart, and again in the next period', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1, monthlyLimitUsd: 100 });
    const spend = (svc: typeof h.service, usd: number) => svc.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(usd), outputTokens: 0, status: 'ok' });
    const fired = () => h.thresholds.map((t) => `${t.period}:${t.thresholdPercent}`);
    spend(h.service, 0.4);
    expect(fired()).toEqual([]);
    spend(h.service, 0.1);
    expect(fired()).toEqual(['daily:50']);
    spend(h.service, 0.1);
    expect(fired()).toEqual(['daily:50']);
    spend(h.service, 0.25);
    expect(fired()).toEqual(['daily:50', 'daily:80']);
    expect(h.thresholds[1]).toMatchObject({ provider: 'google_gemini', model: null, spentUsd: 0.85, limitUsd: 1 });
    const restarted = h.another(); // same file, as after a restart
    spend(restarted, 0.1);
    expect(fired()).toEqual(['daily:50', 'daily:80']);
    spend(restarted, 0.2);
    expect(fired()).toEqual(['daily:50', 'daily:80', 'daily:100']);
    spend(restarted, 0.2);
    expect(fired()).toHaveLength(3);
    expect(h.logLines.filter((l) => l.includes('WARN') && l.includes('daily budget for google_gemini reached'))).toHaveLength(3);
    h.clock.advance(86_400_000);
    spend(h.service, 0.6);
    expect(fired()).toEqual(['daily:50', 'daily:80', 'daily:100', 'daily:50']);
  });

  it('fires crossed thresholds when a limit is lowered below what was spent', () => {
    h = makeHarness();
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(0.9), outputTokens: 0, status: 'ok' });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    expect(h.thresholds.map((t) => t.thresholdPercent)).toEqual([50, 80]);
  });

  it('validates budgets: limits are finite USD >= 0, null removes one, no limit left removes the budget', () => {
    h = makeHarness();
    expect(() => h.service.setBudget({ provider: 'google_gemini' })).toThrow(InvalidInputError);
    expect(() => h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: -1 })).toThrow(/daily_limit must be a finite number/);
    expect(() => h.service.setBudget({ provider: 'google_gemini', monthlyLimitUsd: Number.POSITIVE_INFINITY })).toThrow(InvalidInputError);
    expect(() => h.service.setBudget({ provider: 'anthropic', dailyLimitUsd: 1 })).toThrow(/Unknown provider "anthropic"; use one of: google_gemini, openai_compatible, mcp_sampling/);
    const b = h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 5, monthlyLimitUsd: 50 });
    expect(b).toMatchObject({ daily_limit_usd: 5, monthly_limit_usd: 50, daily: { spent_usd: 0, remaining_usd: 5 } });
    expect(h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: null })).toMatchObject({ daily_limit_usd: null, monthly_limit_usd: 50, daily: null });
    expect(h.service.setBudget({ provider: 'google_gemini', monthlyLimitUsd: null })).toMatchObject({ daily_limit_usd: null, monthly_limit_usd: null });
    expect(h.service.listBudgets()).toEqual([]);
  });

  it('a zero limit blocks paid calls but not free mcp_sampling ones', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0 });
    h.service.setBudget({ provider: 'mcp_sampling', dailyLimitUsd: 0 });
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.000001 })).toThrow(BudgetExceededError);
    const est = h.service.estimateMaxCostUsd('mcp_sampling', 'host-model', 100_000, 8_000);
    expect(est).toBe(0);
    expect(() => h.service.reserve({ provider: 'mcp_sampling', model: 'host-model', maxCostUsd: est })).not.toThrow();
  });
});

describe('stale reservations', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('releases a reservation left by an earlier process with the same pid (other instance id) at start', () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const ghost = h.another({ instance: new InstanceIdentity({ clock: h.clock, id: 'earlier-process-same-pid' }) });
    ghost.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 1 });
    const live = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0 });
    expect(h.service.releaseStale()).toBe(1);
    expect(openReservations(h)).toBe(1); // our own live reservation stays
    expect(h.db.prepare('SELECT state FROM budget_reservations WHERE id = ?').get(live.id)).toEqual({ state: 'open' });
    expect(h.service.releaseStale()).toBe(0);
  });

  it("frees this instance's own reservation once its lease ran out and nobody here renews it (a lost call), and a refused reserve sweeps it first", () => {
    h = makeHarness({ ttlMs: 60_000 });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    // Another service object of this same instance took it and stopped renewing it (a lost call).
    // (Another live process's expired lease is held instead: see multiprocess.test.ts, SIGSTOP.)
    const wedged = h.another();
    const old = wedged.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 1 });
    wedged.shutdown();
    h.clock.advance(59_999);
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).toThrow(BudgetExceededError);
    h.clock.advance(1);
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).not.toThrow();
    // The call behind the expired reservation finishes after all: its cost is still booked, with a warning.
    const e = wedged.settle(old.id, { inputTokens: tokensFor(0.3), outputTokens: 0, status: 'ok' });
    expect(e.cost_usd).toBe(0.3);
    expect(h.logLines.some((l) => l.includes('reservation was expired before the call settled'))).toBe(true);
  });

  it('a call that outlives the TTL keeps its reservation: no overspend behind a long call', () => {
    h = makeHarness({ ttlMs: 60_000 });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const long = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.6 });
    h.clock.advance(31 * 60_000);
    // Its own process never expires it...
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.6 })).toThrow(BudgetExceededError);
    // ...and the lease it renews keeps other processes on the file from expiring it.
    expect(h.service.renewLeases()).toBe(1);
    const other = h.another();
    h.clock.advance(59_000);
    expect(() => other.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.6 })).toThrow(BudgetExceededError);
    h.service.settle(long.id, { inputTokens: tokensFor(0.5), outputTokens: 0, status: 'ok' });
    expect(h.service.renewLeases()).toBe(0);
    expect(() => other.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).not.toThrow();
    expect(h.service.summary({ period: 'today' }).totals.usd).toBe(0.5);
    other.shutdown();
  });

  it('a reservation whose release failed is not renewed forever: its lease runs out', () => {
    h = makeHarness({ ttlMs: 60_000 });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.8 });
    // Another process holds the write lock past the busy timeout: the release fails.
    h.db.pragma('busy_timeout = 0');
    const lock = new Database(h.dbFile);
    lock.prepare('BEGIN IMMEDIATE').run();
    expect(() => h.service.release(r.id)).toThrow(/locked|busy/i);
    lock.prepare('ROLLBACK').run();
    lock.close();
    const other = h.another();
    expect(h.service.renewLeases()).toBe(0);
    h.clock.advance(60_000);
    expect(() => other.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.8 })).not.toThrow();
    other.shutdown();
  });

  it('logs when the real cost exceeds the reservation', () => {
    h = makeHarness();
    const r = h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.001 });
    h.service.settle(r.id, { inputTokens: 5_000, outputTokens: 0, status: 'ok' });
    expect(h.logLines.some((l) => l.includes('WARN') && l.includes('cost more than its reservation'))).toBe(true);
  });
});
