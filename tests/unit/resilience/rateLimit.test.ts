import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { CancelledError, ProviderError } from '../../../src/errors.js';
import { EventBus, type RateLimitEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/logger.js';
import { ProviderResilience } from '../../../src/resilience/providerResilience.js';

/**
 * Issue 12: a 429/503 that names a delay is back-pressure. 10 concurrent callers against a
 * provider with a token bucket of 10 requests/s that answers 429 (or 503) + a 1 s RetryInfo past
 * it. Time is a ManualClock moved only by the fake sleep, so the figures are exact counts.
 */

const PROVIDER = 'google_gemini';
const MODEL = 'gemini-2.5-flash';
const TARGET = { provider: PROVIDER, model: MODEL };

const services: ProviderResilience[] = [];
afterEach(() => {
  for (const s of services.splice(0)) s.shutdown();
});

function setup(env: Record<string, string> = {}) {
  const config = loadConfig({ HOME: '/tmp/rate-limit-test', ...env });
  const clock = new ManualClock(0);
  const events = new EventBus();
  const sleeps: number[] = [];
  const hits: RateLimitEvent[] = [];
  const opened: unknown[] = [];
  const timers: Array<{ at: number; resolve: () => void }> = [];
  const pending = { max: 0 };
  events.on('rate_limit.hit', (e) => hits.push(e));
  events.on('breaker.opened', (e) => opened.push(e));
  const resilience = new ProviderResilience({
    config,
    clock,
    logger: silentLogger,
    events,
    random: () => 0,
    // Virtual time: a sleep ends, and the clock moves to its end, only once everything else
    // has run (setImmediate comes after all pending promise callbacks), earliest sleep first.
    sleep: (ms, signal) => {
      if (signal?.aborted) return Promise.reject(new CancelledError());
      sleeps.push(ms);
      return new Promise<void>((resolve) => {
        timers.push({ at: clock.now() + ms, resolve });
        pending.max = Math.max(pending.max, timers.length);
        setImmediate(() => {
          timers.sort((a, b) => a.at - b.at);
          const due = timers.shift();
          if (!due) return;
          if (due.at > clock.now()) clock.set(due.at);
          due.resolve();
        });
      });
    },
  });
  services.push(resilience);
  return { resilience, clock, sleeps, hits, opened, pending };
}

/** A provider allowing `perSecond` requests per second (bucket of that size), refusing the rest. */
function tokenBucketProvider(clock: ManualClock, perSecond: number, status: 429 | 503) {
  let tokens = perSecond;
  let refilledAt = clock.now();
  const counts = { requests: 0, refused: 0, inFlight: 0, maxInFlight: 0 };
  const generate = async () => {
    counts.requests++;
    counts.inFlight++;
    counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
    try {
      await Promise.resolve(); // answered in a later microtask: calls overlap
      const now = clock.now();
      tokens = Math.min(perSecond, tokens + ((now - refilledAt) / 1000) * perSecond);
      refilledAt = now;
      if (tokens >= 1) {
        tokens -= 1;
        return 'answer';
      }
      counts.refused++;
      throw new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status, message: `HTTP ${status}: slow down`, retryAfterMs: 1_000 });
    } finally {
      counts.inFlight--;
    }
  };
  return { generate, counts };
}

async function pool(n: number, concurrency: number, job: () => Promise<unknown>): Promise<PromiseSettledResult<unknown>[]> {
  const results: PromiseSettledResult<unknown>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        results.push(await job().then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })));
      }
    }),
  );
  return results;
}

describe('rate limits are back-pressure, not failure', () => {
  it.each([429, 503] as const)('10 concurrent callers, bucket of 10/s answering %i + 1 s RetryInfo: 100/100 succeed', async (status) => {
    const { resilience, clock, sleeps, hits, opened, pending } = setup();
    const provider = tokenBucketProvider(clock, 10, status);

    const results = await pool(100, 10, () => resilience.call(TARGET, () => provider.generate()));

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(100);
    // The breaker never heard of it.
    expect(opened).toEqual([]);
    expect(resilience.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', consecutiveFailures: 0, totalFailures: 0, totalSuccesses: 100 });
    // The batch settles at the provider's rate: 100 requests at 10/s from a full bucket of 10
    // take 9 s at best; within 10% of 10 s here.
    expect(clock.now()).toBeLessThanOrEqual(11_000);
    // One shared gate: however many calls wait, one timer at a time (the named 1 s, then the
    // learned spacing between starts), never one timer per waiting call.
    expect(pending.max).toBe(1);
    expect(sleeps.every((ms) => ms <= 1_000)).toBe(true);
    expect(provider.counts.refused).toBeGreaterThan(1);
    expect(provider.counts.refused).toBeLessThanOrEqual(20);
    // Every refusal was announced, with the model's concurrency after it.
    expect(hits).toHaveLength(provider.counts.refused);
    expect(hits[0]).toMatchObject({ provider: PROVIDER, model: MODEL, delayMs: 1_000, until: 1_000 });
    expect(hits.every((h) => h.concurrency >= 1)).toBe(true);
    const info = resilience.breakerInfo(PROVIDER, MODEL);
    expect(info.concurrencyLimit).toBeGreaterThanOrEqual(1); // a number, not merely not null (undefined passed that)
    expect(info.rateLimit).toMatchObject({ hits: provider.counts.refused, gateUntil: null });
    expect(info.rateLimit.waits).toBeGreaterThan(0);
    expect(info.rateLimit.totalWaitMs).toBeGreaterThan(0);
  });

  it('for contrast, a 503 that names no delay is a failure: the same load opens the breaker', async () => {
    const { resilience, opened } = setup();
    let tokens = 10;
    const generate = async () => {
      if (tokens-- > 0) return 'answer';
      throw new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status: 503, message: 'overloaded' });
    };
    const results = await pool(100, 10, () => resilience.call(TARGET, generate));
    expect(opened.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeLessThan(100);
  });

  it('a call arriving while the gate is closed waits behind it without asking the provider', async () => {
    const { resilience, sleeps } = setup();
    let calls = 0;
    const limited = new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status: 429, message: 'slow down', retryAfterMs: 2_000 });
    let gateSeen: string | null = null;
    let second: Promise<{ value: string; attempts: number }> | undefined;
    const first = resilience.call(
      TARGET,
      async () => {
        calls++;
        if (calls === 1) throw limited;
        return 'first';
      },
      {
        // The second call starts while the gate is held: its only request goes after the gate.
        onRetry: () => {
          gateSeen = resilience.breakerInfo(PROVIDER, MODEL).rateLimit.gateUntil;
          second = resilience.call(TARGET, async () => {
            calls++;
            return 'second';
          });
        },
      },
    );
    expect(await first).toEqual({ value: 'first', attempts: 2 });
    expect(await second).toEqual({ value: 'second', attempts: 1 });
    expect(gateSeen).toBe(new Date(2_000).toISOString());
    // The gate, then the learned spacing: one request per window (the first call's retry, then this one).
    expect(sleeps).toEqual([2_000, 2_000]);
    expect(calls).toBe(3);
  });

  it('a gate past the caller’s deadline answers timeout at once, without a request', async () => {
    const { resilience, sleeps } = setup();
    const limited = new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status: 429, message: 'slow down', retryAfterMs: 30_000 });
    const controller = new AbortController();
    const holder = resilience.call(TARGET, async () => {
      throw limited;
    }, { signal: controller.signal, onRetry: () => controller.abort() });
    await expect(holder).rejects.toBeInstanceOf(CancelledError);
    let asked = 0;
    const err = await resilience
      .call(TARGET, async () => (asked++, 'x'), { deadline: 10_000 })
      .catch((e: { code: string; message: string }) => e);
    expect(err).toMatchObject({ code: 'timeout' });
    expect((err as { message: string }).message).toContain('rate-limited for 30 s, past the call\'s deadline');
    expect(asked).toBe(0);
    expect(sleeps).toEqual([]);
  });

  it('cancelling one waiter leaves the others waiting for the gate', async () => {
    const { resilience } = setup();
    const limited = () => new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status: 429, message: 'slow down', retryAfterMs: 1_000 });
    let n = 0;
    const controller = new AbortController();
    const a = resilience.call(TARGET, async () => {
      if (n++ === 0) throw limited();
      return 'a';
    });
    const b = resilience.call(TARGET, async () => 'b', { signal: controller.signal });
    controller.abort();
    await expect(b).rejects.toBeInstanceOf(CancelledError);
    expect((await a).value).toBe('a');
  });

  it('daily quota stays a breaker until the reset, not a wait', async () => {
    const { resilience, sleeps, hits } = setup();
    const daily = new ProviderError({
      provider: PROVIDER,
      model: MODEL,
      kind: 'http',
      status: 429,
      message: 'quota',
      retryAfterMs: 1_000,
      quota: { id: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier', perDay: true },
    });
    const err = await resilience.call(TARGET, async () => Promise.reject(daily)).catch((e: { code: string }) => e);
    expect(err).toMatchObject({ code: 'quota_exhausted' });
    expect(resilience.isAvailable(PROVIDER, MODEL)).toBe(false);
    expect(sleeps).toEqual([]);
    expect(hits).toEqual([]);
  });
});
