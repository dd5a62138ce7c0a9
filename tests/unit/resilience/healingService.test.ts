import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { AppError, CancelledError, InvalidInputError, ProviderError, TimeoutError } from '../../../src/errors.js';
import { EventBus, type BreakerEvent, type RetryEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/logger.js';
import { failureRateOverWindow } from '../../../src/resilience/breakerRules.js';
import { ProviderResilience, type ResilientCallOptions } from '../../../src/resilience/providerResilience.js';
import { TEST_API_KEY } from '../../helpers/keys.js';
import { rejectionOf } from '../../helpers/failures.js';

const PROVIDER = 'google_gemini';
const MODEL = 'gemini-2.5-flash';
const TARGET = { provider: PROVIDER, model: MODEL };
const SECRET = TEST_API_KEY;

type Step = 'ok' | Error | ((signal: AbortSignal) => Promise<string>);

function httpError(status: number, extra: { retryAfterMs?: number; quota?: { id: string; perDay: boolean } } = {}): ProviderError {
  return new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status, message: `HTTP ${status} from the API`, ...extra });
}

function kindError(kind: 'network' | 'malformed' | 'aborted' | 'schema'): ProviderError {
  return new ProviderError({ provider: PROVIDER, model: MODEL, kind, message: `${kind} failure` });
}

interface Harness {
  healing: ProviderResilience;
  clock: ManualClock;
  events: EventBus;
  /** Every requested backoff wait, in ms. */
  sleeps: number[];
  emitted: Array<{ name: string; payload: BreakerEvent | RetryEvent }>;
  /** Runs one call with a scripted attempt function; the last step repeats. */
  run(steps: Step[], opts?: ResilientCallOptions, target?: { provider: string; model: string }): Promise<{ value: string; attempts: number }>;
  /** Attempts the scripted function actually started. */
  calls: number;
}

const services: ProviderResilience[] = [];
afterEach(() => {
  for (const s of services.splice(0)) s.shutdown();
});

function harness(env: Record<string, string> = {}, opts: { realSleep?: boolean; random?: () => number } = {}): Harness {
  const config = loadConfig({ HOME: '/tmp/healing-test', GEMINI_API_KEY: SECRET, ...env });
  const clock = new ManualClock();
  const events = new EventBus();
  const sleeps: number[] = [];
  const emitted: Harness['emitted'] = [];
  for (const name of ['breaker.opened', 'breaker.half_open', 'breaker.closed', 'retry.attempt', 'retry.gave_up'] as const) {
    events.on(name, (payload: BreakerEvent | RetryEvent) => emitted.push({ name, payload }));
  }
  const fakeSleep = async (ms: number, signal?: AbortSignal) => {
    if (signal?.aborted) throw new CancelledError();
    sleeps.push(ms);
    clock.advance(ms);
  };
  const healing = new ProviderResilience({
    config,
    clock,
    logger: silentLogger,
    events,
    random: opts.random ?? (() => 0),
    ...(opts.realSleep ? {} : { sleep: fakeSleep }),
  });
  services.push(healing);
  const h: Harness = {
    healing,
    clock,
    events,
    sleeps,
    emitted,
    calls: 0,
    run(steps, callOpts, target = TARGET) {
      let i = 0;
      return healing.call(
        target,
        async (signal) => {
          h.calls++;
          const step = steps[Math.min(i++, steps.length - 1)]!;
          if (step === 'ok') return 'answer';
          if (step instanceof Error) throw step;
          return step(signal);
        },
        callOpts,
      );
    },
  };
  return h;
}

const rejection = async (p: Promise<unknown>): Promise<AppError> => (await rejectionOf(p, Error)) as AppError;

const names = (h: Harness) => h.emitted.map((e) => e.name);

describe('retries', () => {
  it('waits the provider’s Retry-After (1000 ms) on a 429, not the 2 s backoff, then succeeds', async () => {
    const h = harness();
    const start = h.clock.now();
    const result = await h.run([httpError(429, { retryAfterMs: 1_000 }), 'ok']);
    expect(result).toEqual({ value: 'answer', attempts: 2 });
    expect(h.sleeps).toEqual([1_000]);
    expect(h.clock.now() - start).toBeGreaterThanOrEqual(1_000);
    const retry = h.emitted.find((e) => e.name === 'retry.attempt')!.payload as RetryEvent;
    expect(retry).toMatchObject({ provider: PROVIDER, model: MODEL, attempt: 1, delayMs: 1_000 });
  });

  it('does not wait out a provider delay longer than the cap: the caller hears it at once', async () => {
    const h = harness();
    const err = await rejection(h.run([httpError(429, { retryAfterMs: 86_400_000 }), 'ok']));
    expect(err.code).toBe('provider_error');
    expect(err.message).toMatch(/asked to wait 24 h before a retry, longer than the 5 min this server waits; gave up after 1 attempt/);
    expect(h.sleeps).toEqual([]);
    expect(h.calls).toBe(1);
  });

  it.each([408, 429, 500, 502, 503, 504])('retries HTTP %i with exponential backoff', async (status) => {
    const h = harness();
    const result = await h.run([httpError(status), httpError(status), 'ok']);
    expect(result.attempts).toBe(3);
    expect(h.sleeps).toEqual([1_000, 2_000]); // random() = 0: half of 2 s, then half of 4 s
  });

  it.each([
    ['network', kindError('network')],
    ['timeout', new TimeoutError('slow')],
  ])('retries a %s failure', async (_label, err) => {
    const h = harness();
    expect((await h.run([err, 'ok'])).attempts).toBe(2);
  });

  it('backoff with real jitter grows exponentially and stays under the cap', async () => {
    const h = harness({ TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '100', TASK_ORCHESTRATOR_RETRY_MAX: '7' }, { random: Math.random });
    await rejection(h.run([httpError(503)]));
    expect(h.sleeps).toHaveLength(7);
    h.sleeps.forEach((ms, i) => {
      const ceiling = Math.min(60_000, 2_000 * 2 ** i);
      expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
      expect(ms).toBeLessThanOrEqual(ceiling);
    });
    expect(h.sleeps[6]).toBeLessThanOrEqual(60_000);
  });

  it('gives up after 5 retries (6 attempts) with retry.gave_up and a clear error', async () => {
    const h = harness({ TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '100' });
    const failed: number[] = [];
    const err = await rejection(h.run([httpError(503)], { onAttemptFailed: ({ attempt }) => failed.push(attempt) }));
    expect(h.calls).toBe(6);
    expect(failed).toEqual([1, 2, 3, 4, 5, 6]);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('provider_error');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`${PROVIDER}/${MODEL} failed 6 time(s) (1 attempt + 5 retries)`);
    expect(err.details).toMatchObject({ attempts: 6, status: 503 });
    expect(err.cause).toBeInstanceOf(ProviderError);
    expect(names(h).filter((n) => n === 'retry.attempt')).toHaveLength(5);
    expect(names(h).filter((n) => n === 'retry.gave_up')).toHaveLength(1);
    expect(h.healing.status().retries).toEqual({ retried: 5, gaveUp: 1 });
  });

  it.each([400, 401, 403, 404])('does not retry HTTP %i, returns it as is, and the breaker does not count it', async (status) => {
    const h = harness();
    for (let i = 0; i < 5; i++) {
      const original = httpError(status);
      const err = await rejection(h.run([original, 'ok']));
      expect(err).toBe(original);
    }
    expect(h.calls).toBe(5);
    expect(h.sleeps).toEqual([]);
    expect(h.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', consecutiveFailures: 0, totalFailures: 0 });
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(true);
  });

  it.each([
    ['malformed body', kindError('malformed'), 1],
    ['raw TypeError (a bug, not a provider error)', new TypeError('x is undefined'), 1],
    ['aborted by the provider client', kindError('aborted'), 0],
    ['schema rejection', kindError('schema'), 0],
    ['our own policy error', new InvalidInputError('bad prompt'), 0],
  ])('does not retry: %s', async (_label, original, counted) => {
    const h = harness();
    const err = await rejection(h.run([original, 'ok']));
    expect(err).toBe(original);
    expect(h.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).consecutiveFailures).toBe(counted);
  });

  // Real sleep and a 10 s base delay: only the abort can end the wait before this test's 5 s
  // timeout (the hang guard; no elapsed-time assertion to flake on a loaded machine).
  it('cancellation during a backoff wait rejects at once with CancelledError and makes no further attempt', { timeout: 5_000 }, async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_BASE_MS: '10000' }, { realSleep: true });
    const controller = new AbortController();
    const err = await rejection(
      h.run([httpError(503), 'ok'], {
        signal: controller.signal,
        onRetry: () => setTimeout(() => controller.abort(), 10),
      }),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(h.calls).toBe(1);
    // A cancellation is neither a give-up nor a breaker failure beyond the 503 itself.
    expect(names(h)).not.toContain('retry.gave_up');
    expect(h.healing.breakerInfo(PROVIDER, MODEL).consecutiveFailures).toBe(1);
  });

  it('cancellation during an attempt aborts the attempt’s signal and is not a breaker failure', async () => {
    const h = harness();
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const p = h.run(
      [
        (signal) =>
          new Promise<string>((_resolve, reject) => {
            seen = signal;
            signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          }),
      ],
      { signal: controller.signal },
    );
    await expect.poll(() => seen).toBeDefined(); // the attempt is in flight
    controller.abort();
    expect(await rejection(p)).toBeInstanceOf(CancelledError);
    expect(seen?.aborted).toBe(true);
    expect(h.calls).toBe(1);
    expect(h.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ consecutiveFailures: 0, totalFailures: 0 });
  });

  it('an already-aborted signal makes no attempt', async () => {
    const h = harness();
    const controller = new AbortController();
    controller.abort();
    expect(await rejection(h.run(['ok'], { signal: controller.signal }))).toBeInstanceOf(CancelledError);
    expect(h.calls).toBe(0);
  });
});

describe('retry: false (a request a person must approve)', () => {
  it('makes one attempt on a timeout, a 503 or a network error, and answers its own error', async () => {
    const h = harness();
    const timedOut = await rejection(h.run([() => new Promise<string>(() => {})], { timeoutMs: 20, retry: false }));
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.message).toBe(`Attempt 1 to ${PROVIDER}/${MODEL} timed out after 20 ms.`);
    expect(await rejection(h.run([httpError(503), 'ok'], { retry: false }))).toMatchObject({ status: 503 });
    expect(await rejection(h.run([kindError('network'), 'ok'], { retry: false }))).toMatchObject({ kind: 'network' });
    expect(h.calls).toBe(3);
    expect(h.sleeps).toEqual([]);
    expect(names(h)).not.toContain('retry.attempt');
    expect(names(h)).not.toContain('retry.gave_up');
  });
});

describe('per-attempt timeout', () => {
  it('aborts the attempt’s signal with a TimeoutError at timeoutMs and retries', async () => {
    const h = harness();
    const signals: AbortSignal[] = [];
    const hang = (signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => {
        signals.push(signal);
        signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
      });
    const result = await h.run([hang, 'ok'], { timeoutMs: 20 });
    expect(result.attempts).toBe(2);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    expect(h.sleeps).toEqual([1_000]);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).totalFailures).toBe(1);
  });

  it('times out an attempt that ignores its signal', async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    const err = await rejection(h.run([() => new Promise<string>(() => {})], { timeoutMs: 20 }));
    expect(err.code).toBe('timeout');
    expect(err.message).toContain('failed 1 time(s)');
    expect((err.cause as Error).message).toBe(`Attempt 1 to ${PROVIDER}/${MODEL} timed out after 20 ms.`);
  });

  it('defaults to config.agents.callTimeoutMs', async () => {
    const h = harness({ TASK_ORCHESTRATOR_CALL_TIMEOUT_MS: '150', TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    const err = await rejection(h.run([() => new Promise<string>(() => {})]));
    expect((err.cause as Error).message).toContain('timed out after 150 ms');
  });
});

describe('deadline', () => {
  it('does not start a Retry-After wait that would end after the deadline', async () => {
    const h = harness();
    const deadline = h.clock.now() + 5_000;
    const err = await rejection(h.run([httpError(429, { retryAfterMs: 10_000 }), 'ok'], { deadline }));
    expect(err.code).toBe('timeout');
    expect(err.message).toContain('waiting 10 s for the next retry would pass the call\'s deadline 2026-01-15T12:00:05.000Z');
    expect(h.sleeps).toEqual([]);
    expect(h.calls).toBe(1);
    expect(names(h)).toContain('retry.gave_up');
  });

  it('waits while the backoff fits and gives up when the next one would not', async () => {
    const h = harness();
    const deadline = h.clock.now() + 2_500;
    const err = await rejection(h.run([httpError(503), httpError(503), 'ok'], { deadline }));
    expect(h.sleeps).toEqual([1_000]); // the second wait (2 s) would end at +3 s > +2.5 s
    expect(h.calls).toBe(2);
    expect(err.code).toBe('timeout');
    expect(err.details).toMatchObject({ attempts: 2, nextDelayMs: 2_000 });
  });

  it('a past deadline makes no attempt', async () => {
    const h = harness();
    const err = await rejection(h.run(['ok'], { deadline: h.clock.now() - 1 }));
    expect(err.code).toBe('timeout');
    expect(err.message).toContain('has already passed');
    expect(h.calls).toBe(0);
  });

  it('stops a running attempt at the deadline even if timeoutMs is longer', async () => {
    const h = harness();
    let aborted: AbortSignal | undefined;
    const hang = (signal: AbortSignal) => {
      aborted = signal;
      return new Promise<string>(() => {});
    };
    const err = await rejection(h.run([hang], { deadline: h.clock.now() + 30, timeoutMs: 60_000 }));
    expect(aborted?.aborted).toBe(true);
    expect((aborted?.reason as Error).message).toContain("stopped at the call's deadline after 30 ms");
    expect(err.code).toBe('timeout');
    expect(h.calls).toBe(1);
  });
});

describe('circuit breaker', () => {
  it('three 503s open it mid-retry; the next call makes no attempt and gets circuit_open with the retry time', async () => {
    const h = harness();
    const failed: number[] = [];
    const first = await rejection(h.run([httpError(503)], { onAttemptFailed: ({ attempt }) => failed.push(attempt) }));
    expect(h.calls).toBe(3);
    expect(failed).toEqual([1, 2, 3]);
    expect(h.sleeps).toEqual([1_000, 2_000]); // no wait after the failure that opened it
    expect(first.code).toBe('circuit_open');
    expect(first.retryable).toBe(true);

    const openedAt = h.clock.now();
    const retryAtIso = new Date(openedAt + 30_000).toISOString();
    expect(names(h)).toEqual(['retry.attempt', 'retry.attempt', 'breaker.opened', 'retry.gave_up']);
    expect(h.emitted[2]!.payload).toMatchObject({ provider: PROVIDER, model: MODEL, at: openedAt, retryAt: openedAt + 30_000 });
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(false);

    h.clock.advance(10_000);
    const second = await rejection(h.run(['ok']));
    expect(h.calls).toBe(3); // the provider was not called
    expect(second.code).toBe('circuit_open');
    expect(second.message).toContain(`Circuit breaker for ${PROVIDER}/${MODEL} is open`);
    expect(second.message).toContain(`at ${retryAtIso} (in 20 s)`);
    expect(second.details).toMatchObject({ retryAt: retryAtIso, retryInSeconds: 20, attempts: 0 });
    // Another model is unaffected.
    expect(h.healing.isAvailable(PROVIDER, 'gemini-2.5-pro')).toBe(true);
    expect((await h.run(['ok'], undefined, { provider: PROVIDER, model: 'gemini-2.5-pro' })).value).toBe('answer');
  });

  async function openIt(h: Harness): Promise<void> {
    for (let i = 0; i < 3; i++) await rejection(h.run([httpError(500)], { timeoutMs: 1_000 }));
  }

  it('after the reset time a half-open probe success closes it', async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    await openIt(h);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe('open');
    h.clock.advance(29_999);
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    h.clock.advance(1);
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(true);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe('half_open');

    expect(await h.run(['ok'])).toEqual({ value: 'answer', attempts: 1 });
    expect(h.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', consecutiveFailures: 0, openedAt: null, halfOpenAt: null });
    // Retries are off here (RETRY_MAX=0), so there is no retry.gave_up to report.
    expect(names(h)).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.closed']);
  });

  it('after the reset time a half-open probe failure reopens it for another reset period', async () => {
    const h = harness();
    await openIt(h);
    h.clock.advance(30_000);
    const err = await rejection(h.run([httpError(503), 'ok']));
    expect(h.calls).toBe(4); // exactly one probe, no retry once it reopened
    expect(err.code).toBe('circuit_open');
    expect(err.message).toContain(`at ${new Date(h.clock.now() + 30_000).toISOString()} (in 30 s)`);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe('open');
    expect(names(h).filter((n) => n.startsWith('breaker.'))).toEqual(['breaker.opened', 'breaker.half_open', 'breaker.opened']);
  });

  it('half-open lets exactly one probe through; concurrent calls fail fast', async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    await openIt(h);
    h.clock.advance(30_000);
    let release!: (v: string) => void;
    const probe = h.run([() => new Promise<string>((r) => (release = r))]);
    await new Promise((r) => setTimeout(r, 0));
    const other = await rejection(h.run(['ok']));
    expect(other.code).toBe('circuit_open');
    expect(other.message).toContain('half-open and its one test call is in flight');
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    release('late answer');
    expect((await probe).value).toBe('late answer');
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe('closed');
  });

  it('a cancelled half-open probe proves nothing: the breaker stays half-open', async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    await openIt(h);
    h.clock.advance(30_000);
    const controller = new AbortController();
    const probe = h.run([(signal) => new Promise<string>((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)))], {
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 0));
    controller.abort();
    expect(await rejection(probe)).toBeInstanceOf(CancelledError);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe('half_open');
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(true);
    expect(names(h)).not.toContain('breaker.closed');
  });

  // Each call is one attempt (no retries) so the sequence is exactly what the breaker sees.
  it.each([
    ['success,fail,fail,success,fail,fail', ['ok', 503, 503, 'ok', 503, 503], 'closed', true],
    ['fail,fail,fail', [503, 503, 503], 'open', false],
    ['fail,fail,success,fail,fail', [503, 503, 'ok', 503, 503], 'closed', true],
    ['fail,fail,404,fail (a client error neither counts nor resets)', [503, 503, 404, 503], 'open', false],
  ] as const)('consecutive semantics at threshold 3: %s -> %s', async (_label, sequence, state, available) => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0' });
    for (const step of sequence) {
      if (step === 'ok') await h.run(['ok']);
      else await rejection(h.run([httpError(step)]));
    }
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe(state);
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(available);
  });

  // The failure-rate condition (default 80% of the last minute's attempts, at most 20): runs of
  // failures from a flaky provider do not open the breaker; an outage does.
  it.each([
    ['flaky: 7 successes then 3 failures (3 of 10 failed)', { ok: 7, fail: 3, quietMs: 0 }, {}, 'closed'],
    ['outage after a quiet minute: old successes no longer count', { ok: 7, fail: 3, quietMs: 61_000 }, {}, 'open'],
    ['a long outage opens even after recent successes (13 of 16 failed)', { ok: 3, fail: 13, quietMs: 0 }, {}, 'open'],
    ['rate 0 restores pure consecutive counting', { ok: 7, fail: 3, quietMs: 0 }, { TASK_ORCHESTRATOR_BREAKER_FAILURE_RATE: '0' }, 'open'],
  ] as const)('failure-rate condition: %s -> %s', async (_label, seq, env, state) => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0', ...env });
    for (let i = 0; i < seq.ok; i++) await h.run(['ok']);
    h.clock.advance(seq.quietMs);
    for (let i = 0; i < seq.fail; i++) await h.run([httpError(503)]).catch(() => undefined);
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe(state);
  });

  it('a percentage rule on its own (50%, as opossum defaults to) WOULD open on success,fail,fail,success,fail,fail', () => {
    // Why the consecutive count is needed: 4 of 6 = 67% > 50%.
    const rule = failureRateOverWindow({ minRate: 0.5, windowMs: 60_000, maxSamples: 20 });
    const opens = [true, false, false, true, false, false].map((ok) => (ok ? (rule.success(0), false) : rule.failure(0)));
    expect(opens.at(-1)).toBe(true);
  });

  it('honours a custom threshold', async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '0', TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '5', TASK_ORCHESTRATOR_BREAKER_RESET_MS: '1000' });
    for (let i = 0; i < 4; i++) await rejection(h.run([httpError(502)]));
    expect(h.healing.breakerInfo(PROVIDER, MODEL).state).toBe('closed');
    await rejection(h.run([httpError(502)]));
    const info = h.healing.breakerInfo(PROVIDER, MODEL);
    expect(info.state).toBe('open');
    expect(info.halfOpenAt).toBe(new Date(h.clock.now() + 1_000).toISOString());
  });
});

describe('per-day quota', () => {
  const QUOTA = 'GenerateRequestsPerDayPerProjectPerModel-FreeTier';

  it('is not retried; the breaker opens until next midnight Pacific and the error names the quota and reset time', async () => {
    const h = harness(); // clock: 2026-01-15T12:00:00Z = 04:00 PST
    const err = await rejection(h.run([httpError(429, { retryAfterMs: 20_000, quota: { id: QUOTA, perDay: true } }), 'ok']));
    expect(h.calls).toBe(1);
    expect(h.sleeps).toEqual([]);
    expect(err.code).toBe('quota_exhausted');
    expect(err.message).toContain(QUOTA);
    expect(err.message).toContain('resets at 2026-01-16T08:00:00.000Z');
    expect(err.message).toContain('in 20 h');
    expect(err.details).toMatchObject({ quotaId: QUOTA, resetsAt: '2026-01-16T08:00:00.000Z' });
    expect(err.cause).toBeInstanceOf(ProviderError);

    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    const opened = h.emitted.find((e) => e.name === 'breaker.opened')!.payload as BreakerEvent;
    expect(opened.retryAt).toBe(Date.parse('2026-01-16T08:00:00.000Z'));
    expect(h.healing.breakerInfo(PROVIDER, MODEL).quota).toEqual({ id: QUOTA, resetsAt: '2026-01-16T08:00:00.000Z' });

    // Well past the normal 30 s reset: still closed to calls, still a quota error, no attempt.
    h.clock.advance(60 * 60_000);
    const again = await rejection(h.run(['ok']));
    expect(again.code).toBe('quota_exhausted');
    expect(h.calls).toBe(1);

    h.clock.set(Date.parse('2026-01-16T07:59:59.999Z'));
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(false);
    h.clock.set(Date.parse('2026-01-16T08:00:00.000Z'));
    expect(h.healing.isAvailable(PROVIDER, MODEL)).toBe(true);
    expect((await h.run(['ok'])).value).toBe('answer');
    expect(h.healing.breakerInfo(PROVIDER, MODEL)).toMatchObject({ state: 'closed', quota: null });
  });

  it('a per-minute quota 429 is retried after its Retry-After', async () => {
    const h = harness();
    const result = await h.run([httpError(429, { retryAfterMs: 7_000, quota: { id: 'GenerateRequestsPerMinute', perDay: false } }), 'ok']);
    expect(result.attempts).toBe(2);
    expect(h.sleeps).toEqual([7_000]);
  });
});

describe('events and status', () => {
  it('a throwing event listener never breaks the call', async () => {
    const h = harness();
    h.events.on('retry.attempt', () => {
      throw new Error('listener bug');
    });
    expect((await h.run([httpError(503), 'ok'])).attempts).toBe(2);
  });

  it('status() reports every breaker with redacted last error, counts and recent events (last 50)', async () => {
    const h = harness({ TASK_ORCHESTRATOR_RETRY_MAX: '1' });
    const leaky = new ProviderError({ provider: PROVIDER, model: MODEL, kind: 'http', status: 503, message: `overloaded for key=${SECRET}` });
    await rejection(h.run([leaky])); // 2 attempts, gave up
    await rejection(h.run([leaky])); // 3rd failure opens it, circuit_open
    await h.run(['ok'], undefined, { provider: 'openai_compatible', model: 'gpt-x' });

    const status = h.healing.status();
    expect(JSON.stringify(status)).not.toContain(SECRET);
    expect(status.retries).toEqual({ retried: 1, gaveUp: 2 });
    const gemini = status.breakers.find((b) => b.model === MODEL)!;
    expect(gemini).toMatchObject({
      state: 'open',
      available: false,
      consecutiveFailures: 3,
      totalFailures: 3,
      totalSuccesses: 0,
      retried: 1,
      gaveUp: 2,
      openedAt: '2026-01-15T12:00:01.000Z',
      halfOpenAt: '2026-01-15T12:00:31.000Z',
    });
    expect(gemini.lastError?.message).toContain('[REDACTED]');
    expect(gemini.lastError?.code).toBe('provider_error');
    expect(status.breakers.find((b) => b.model === 'gpt-x')).toMatchObject({ state: 'closed', totalSuccesses: 1 });
    expect(status.recentEvents.map((e) => e.type)).toEqual(['retry_gave_up', 'opened', 'retry_gave_up']);
    expect(status.recentEvents[1]!.at).toBe('2026-01-15T12:00:01.000Z');

    for (let i = 0; i < 60; i++) await rejection(h.run([httpError(503)], undefined, { provider: PROVIDER, model: `m${i}` }));
    expect(h.healing.status().recentEvents).toHaveLength(50);
  });

  it('shutdown() stops the breakers; later calls make no attempt', async () => {
    const h = harness();
    await h.run(['ok']);
    h.healing.shutdown();
    expect(await rejection(h.run(['ok']))).toBeInstanceOf(CancelledError);
    expect(h.calls).toBe(1);
  });
});
