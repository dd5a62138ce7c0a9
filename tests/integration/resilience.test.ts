import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { AppError, CancelledError, ProviderError, TimeoutError } from '../../src/errors.js';
import { EventBus, type BreakerEvent } from '../../src/events.js';
import { silentLogger } from '../../src/logger.js';
import { GeminiProvider } from '../../src/providers/gemini.js';
import type { GenerateResult } from '../../src/providers/types.js';
import { defaultSleep, ProviderResilience, type ResilientCallOptions } from '../../src/resilience/providerResilience.js';
import type { Sleep } from '../../src/resilience/rateLimitGate.js';
import { TEST_API_KEY } from '../helpers/keys.js';
import { rejectionOf } from '../helpers/failures.js';
import { gate, waitFor } from '../helpers/wait.js';
import {
  badRequest,
  hang,
  malformed,
  quotaExhaustedPerDay,
  rateLimited,
  serverError,
  startGeminiEmulator,
  type Behaviour,
  type GeminiEmulator,
} from '../helpers/geminiEmulator.js';
import { tokenBucket } from '../helpers/tokenBucket.js';

/**
 * The self-healing layer against the Gemini emulator with injected faults: the real ProviderResilience
 * around the real GeminiProvider (real @google/genai client, real HTTP on 127.0.0.1). Every case
 * asserts what the emulator saw (how many requests, when, which connections were cut).
 */

const PROVIDER = 'google_gemini';
const MODEL = 'gemini-2.5-flash';
const TARGET = { provider: PROVIDER, model: MODEL };
const RESET_MS = 30_000;

let emulator: GeminiEmulator;
const services: ProviderResilience[] = [];

beforeAll(async () => {
  emulator = await startGeminiEmulator();
});
afterEach(() => {
  for (const s of services.splice(0)) s.shutdown();
  emulator.reset();
});
afterAll(() => emulator.close());

interface Stack {
  config: Config;
  healing: ProviderResilience;
  provider: GeminiProvider;
  opened: BreakerEvent[];
  /** One generate call through the self-healing layer, exactly as the agent pipeline makes it. */
  call(opts?: ResilientCallOptions): Promise<{ value: GenerateResult; attempts: number }>;
}

function stack(clock: Clock, env: Record<string, string> = {}, sleep?: Sleep): Stack {
  const config = loadConfig({
    TASK_ORCHESTRATOR_HOME: '/tmp/resilience-integration',
    TASK_ORCHESTRATOR_TIMEZONE: 'UTC',
    GEMINI_API_KEY: TEST_API_KEY,
    GEMINI_BASE_URL: emulator.url,
    TASK_ORCHESTRATOR_RETRY_MAX: '5',
    TASK_ORCHESTRATOR_RETRY_BASE_MS: '20',
    TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '40',
    TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '3',
    TASK_ORCHESTRATOR_BREAKER_RESET_MS: String(RESET_MS),
    TASK_ORCHESTRATOR_CALL_TIMEOUT_MS: '5000',
    ...env,
  });
  const events = new EventBus();
  const opened: BreakerEvent[] = [];
  events.on('breaker.opened', (e) => opened.push(e));
  // Real timers for the backoff waits (the default sleep) unless a test wraps it to record them.
  const healing = new ProviderResilience({ config, clock, logger: silentLogger, events, ...(sleep ? { sleep } : {}) });
  services.push(healing);
  const provider = new GeminiProvider({ apiKey: config.gemini.apiKey!, baseUrl: config.gemini.baseUrl, logger: silentLogger });
  return {
    config,
    healing,
    provider,
    opened,
    call: (opts = {}) =>
      healing.call(TARGET, (signal) => provider.generate({ model: MODEL, prompt: 'heal me', signal }), opts),
  };
}

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, AppError);

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A default behaviour that records when each request arrived and answers from a script (then ok). */
function scripted(script: Behaviour[]): { arrivals: number[]; fn: () => Behaviour } {
  const arrivals: number[] = [];
  return {
    arrivals,
    fn: () => {
      arrivals.push(performance.now());
      return script[arrivals.length - 1] ?? { kind: 'ok', text: 'healed' };
    },
  };
}

describe('rate limits (429 with RetryInfo)', () => {
  it('waits the retryDelay the API asked for (1 s, not the 20 ms backoff) and then succeeds', async () => {
    const s = stack(systemClock);
    const script = scripted([rateLimited(1)]);
    emulator.setDefault(script.fn);
    const retries: number[] = [];

    const result = await s.call({ onRetry: ({ delayMs }) => retries.push(delayMs) });

    expect(result.value.text).toBe('healed');
    expect(result.attempts).toBe(2);
    expect(retries).toEqual([1000]);
    expect(emulator.requests).toHaveLength(2);
    expect(script.arrivals).toHaveLength(2);
    expect(script.arrivals[1]! - script.arrivals[0]!).toBeGreaterThanOrEqual(1000);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', consecutiveFailures: 0, retried: 1 });
  });

  it('gives up at once (one request, no 10 s wait) when the retryDelay would pass the call deadline', async () => {
    // Counted, not timed: every backoff wait goes through the injected sleep, and there is none.
    const sleeps: number[] = [];
    const s = stack(systemClock, {}, (ms, signal) => {
      sleeps.push(ms);
      return defaultSleep(ms, signal);
    });
    emulator.enqueue(rateLimited(10));

    const err = await rejection(s.call({ deadline: Date.now() + 2_000 }));

    expect(sleeps).toEqual([]);
    expect(err.code).toBe('timeout');
    expect(err.message).toContain('waiting 10 s for the next retry would pass the call\'s deadline');
    expect(err.message).toContain('HTTP 429');
    expect(emulator.requests).toHaveLength(1);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ retried: 0, gaveUp: 1 });
  });
});

describe('rate limits are back-pressure (issue 12)', () => {
  it('10 concurrent callers against a 50/s token bucket answering 429 + 1 s RetryInfo: 100/100 succeed, the breaker stays closed', async () => {
    const s = stack(systemClock);
    const bucket = tokenBucket({ perSecond: 50, retryDelaySeconds: 1, latencyMs: 20 });
    emulator.setDefault(bucket.behaviour);
    let next = 0;
    let succeeded = 0;
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < 100) {
          next++;
          await s.call().then(
            () => succeeded++,
            (e: AppError) => failures.push(`${e.code}: ${e.message}`),
          );
        }
      }),
    );

    expect(failures).toEqual([]);
    expect(succeeded).toBe(100);
    const { requests, refused } = bucket.totals();
    expect(refused).toBeGreaterThan(0); // the bucket really pushed back
    expect(requests).toBe(100 + refused);
    expect(s.opened).toEqual([]);
    const info = s.healing.breakerInfo(PROVIDER, MODEL);
    expect(info).toMatchObject({ state: 'closed', totalFailures: 0, totalSuccesses: 100 });
    expect(info.rateLimit.hits).toBe(refused);
    // A number each (not.toBeNull() also passed for a missing, undefined field).
    expect(info.concurrencyLimit).toBeGreaterThanOrEqual(1);
    expect(info.rateLimit.requestsPerSecond).toBeGreaterThan(0);
  });
});

describe('circuit breaker on consecutive 503s', () => {
  it('opens after three 503s; the next call makes no request and names the model and the retry time', async () => {
    const clock = new ManualClock();
    const s = stack(clock);
    emulator.setDefault(serverError(503));

    const first = await rejection(s.call());
    // Retries allow 6 attempts, but the breaker opened on the third failure and stopped the loop.
    expect(emulator.requests).toHaveLength(3);
    expect(first.code).toBe('circuit_open');
    expect(s.opened).toHaveLength(1);

    const retryAt = new Date(clock.now() + RESET_MS).toISOString();
    const second = await rejection(s.call());
    expect(emulator.requests).toHaveLength(3);
    expect(second.code).toBe('circuit_open');
    expect(second.retryable).toBe(true);
    expect(second.message).toContain(`${PROVIDER}/${MODEL}`);
    expect(second.message).toContain(retryAt);
    expect(second.message).toContain('in 30 s');
    expect(second.message).toContain('503');
    expect(second.message).not.toContain(TEST_API_KEY);
    expect(second.details).toMatchObject({ provider: PROVIDER, model: MODEL, state: 'open', retryAt, attempts: 0 });
    expect(s.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'open', consecutiveFailures: 3, halfOpenAt: retryAt });
  });

  it('after the reset time a failing probe reopens it and a succeeding probe closes it', async () => {
    const clock = new ManualClock();
    const s = stack(clock);
    emulator.enqueue(serverError(503), serverError(503), serverError(503));
    await rejection(s.call());
    expect(emulator.requests).toHaveLength(3);

    // Just before the reset time: still open, still no request.
    clock.advance(RESET_MS - 1);
    expect((await rejection(s.call())).code).toBe('circuit_open');
    expect(emulator.requests).toHaveLength(3);

    // Reset time reached: one probe goes through; it fails, the breaker reopens for another period.
    clock.advance(1);
    expect(s.healing.breakerInfo(PROVIDER, MODEL).state).toBe('half_open');
    emulator.enqueue(serverError(503));
    const failedProbe = await rejection(s.call());
    expect(emulator.requests).toHaveLength(4);
    expect(failedProbe.code).toBe('circuit_open');
    const reopened = s.healing.breakerInfo(PROVIDER, MODEL);
    expect(reopened.state).toBe('open');
    expect(reopened.halfOpenAt).toBe(new Date(clock.now() + RESET_MS).toISOString());
    expect(s.opened).toHaveLength(2);
    expect((await rejection(s.call())).code).toBe('circuit_open');
    expect(emulator.requests).toHaveLength(4);

    // Next reset time: the probe succeeds (emulator default is ok) and the breaker closes.
    clock.advance(RESET_MS);
    const probe = await s.call();
    expect(probe.attempts).toBe(1);
    expect(emulator.requests).toHaveLength(5);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', available: true, consecutiveFailures: 0 });

    // Closed really means closed: ordinary calls reach the emulator again.
    await s.call();
    expect(emulator.requests).toHaveLength(6);
  });

  it('lets exactly one probe through: a second call while the probe is in flight sends nothing', async () => {
    const clock = new ManualClock();
    const s = stack(clock);
    // The probe's answer is held until the second call has been refused.
    const probeAnswer = gate();
    emulator.enqueue(serverError(503), serverError(503), serverError(503), { kind: 'ok', text: 'probe', release: probeAnswer.promise });
    await rejection(s.call());
    clock.advance(RESET_MS);

    const probe = s.call();
    await waitFor(() => emulator.inFlight === 1);
    expect(s.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    const blocked = await rejection(s.call());
    probeAnswer.open();
    expect(blocked.code).toBe('circuit_open');
    expect(blocked.message).toContain('half-open');
    expect(emulator.requests).toHaveLength(4);

    expect((await probe).value.text).toBe('probe');
    expect(s.healing.breakerInfo(PROVIDER, MODEL).state).toBe('closed');
    expect(emulator.requests).toHaveLength(4);
  });
});

describe('per-attempt timeout on a hung connection', () => {
  it('cuts the hung request at timeoutMs, closes its connection and retries successfully', async () => {
    const s = stack(systemClock);
    emulator.enqueue(hang());
    const failures: Error[] = [];
    const started = performance.now();

    const result = await s.call({ timeoutMs: 300, onAttemptFailed: ({ error }) => failures.push(error) });

    const elapsed = performance.now() - started;
    expect(result.attempts).toBe(2);
    expect(result.value.text).toMatch(/^echo: heal me/);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    // No upper wall-clock bound (it flakes under load): the emulator's hang never ends, so only the
    // 300 ms attempt timer can have ended attempt 1, which the message below names.
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(TimeoutError);
    expect(failures[0]!.message).toContain('timed out after 300 ms');
    expect(emulator.requests).toHaveLength(2);
    await waitFor(() => emulator.closedEarly >= 1 && emulator.inFlight === 0);
    expect(emulator.closedEarly).toBe(1);
  });
});

describe('failures that are not retried', () => {
  it('a malformed (non-JSON) 200 fails clearly after one request', async () => {
    const s = stack(systemClock);
    emulator.enqueue(malformed());

    const err = await rejection(s.call());

    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('malformed');
    expect(err.message).toBe(`Gemini ${MODEL}: the answer was not valid JSON (HTTP 200).`);
    expect(err.message).toContain(MODEL);
    expect(emulator.requests).toHaveLength(1);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ retried: 0, totalFailures: 1 });
  });

  it('a 400 is returned after one request and never counts towards the breaker', async () => {
    const s = stack(new ManualClock());
    emulator.setDefault(badRequest('Invalid JSON payload received. Unknown name "foo".'));

    for (let i = 1; i <= 4; i++) {
      const err = await rejection(s.call());
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).status).toBe(400);
      expect(err.message).toContain('Unknown name');
      expect(emulator.requests).toHaveLength(i);
    }
    // Four 400s against a threshold of 3: still closed, nothing counted.
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      totalFailures: 0,
      retried: 0,
    });
    expect(s.opened).toHaveLength(0);

    // And a 400 between 503s does not extend a streak either: 503, 503, 400, 503 opens on the third 503 only.
    emulator.setDefault(undefined);
    emulator.enqueue(serverError(503), serverError(503), badRequest(), serverError(503));
    const noRetries = stack(new ManualClock(), { TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    await rejection(noRetries.call());
    await rejection(noRetries.call());
    expect((await rejection(noRetries.call())).code).toBe('provider_error');
    expect(noRetries.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    await rejection(noRetries.call());
    expect(noRetries.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'open', consecutiveFailures: 3 });
    expect(emulator.requests).toHaveLength(8);
  });
});

describe('cancellation during a backoff wait', () => {
  // Event order instead of elapsed times: the call rejects after the abort and before the real
  // ~10 s backoff wait could have run in full.
  it('rejects on the abort (not at the end of the backoff) with CancelledError and sends nothing more', async () => {
    const order: string[] = [];
    const s = stack(systemClock, {}, (ms, signal) => {
      order.push(ms > 9_000 ? 'sleep ~10 s' : `sleep ${ms}`);
      return defaultSleep(ms, signal).then(
        () => void order.push('sleep ran in full'),
        (e: unknown) => {
          order.push('sleep aborted');
          throw e;
        },
      );
    });
    emulator.enqueue(rateLimited(10));
    const controller = new AbortController();
    const retries: number[] = [];

    const pending = s.call({
      signal: controller.signal,
      onRetry: ({ delayMs }) => {
        retries.push(delayMs);
        setTimeout(() => {
          order.push('abort');
          controller.abort();
        }, 100);
      },
    });
    const err = await rejection(pending);
    order.push('rejected');

    expect(err).toBeInstanceOf(CancelledError);
    expect(err.code).toBe('cancelled');
    expect(retries).toEqual([10_000]);
    // Had the abort been ignored, 'sleep ran in full' would come before 'rejected' (~10 s later).
    expect(order).toEqual(['sleep ~10 s', 'abort', 'rejected']);
    // Give a stray retry every chance to show up: none does.
    await delay(250);
    expect(emulator.requests).toHaveLength(1);
    expect(emulator.inFlight).toBe(0);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', retried: 1, gaveUp: 0 });
  });
});

describe('per-day quota', () => {
  it('is not retried, makes the model unavailable and names the quota and its reset time', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
    const s = stack(clock);
    const quotaId = 'GenerateRequestsPerDayPerProjectPerModel-FreeTier';
    emulator.enqueue(quotaExhaustedPerDay({ quotaId, model: MODEL, retryDelaySeconds: 1 }));

    const err = await rejection(s.call());

    // 12:00 UTC on 15 Jan is 04:00 in Los Angeles (PST); the quota resets at the next LA midnight.
    const resetsAt = '2026-01-16T08:00:00.000Z';
    expect(emulator.requests).toHaveLength(1);
    expect(err.code).toBe('quota_exhausted');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(quotaId);
    expect(err.message).toContain(resetsAt);
    expect(err.message).toContain(`${PROVIDER}/${MODEL}`);
    expect(err.message).not.toContain(TEST_API_KEY);
    expect(err.details).toMatchObject({ quotaId, resetsAt, attempts: 1 });
    expect(s.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'open', quota: { id: quotaId, resetsAt } });

    // Well after the 1 s RetryInfo and the breaker reset time, but before the day rolls over: still no request.
    clock.advance(RESET_MS * 10);
    const again = await rejection(s.call());
    expect(again.code).toBe('quota_exhausted');
    expect(again.message).toContain(resetsAt);
    expect(emulator.requests).toHaveLength(1);

    // Midnight in Los Angeles: one test call goes through and, answered, closes the breaker.
    clock.set(Date.parse(resetsAt));
    expect(s.healing.isAvailable(PROVIDER, MODEL)).toBe(true);
    expect((await s.call()).attempts).toBe(1);
    expect(emulator.requests).toHaveLength(2);
    expect(s.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', quota: null });
  });
});
