import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../../src/errors.js';
import { AdaptiveConcurrency, type Slot } from '../../../src/resilience/adaptiveConcurrency.js';
import { ManualClock } from '../../../src/clock.js';
import { RateLimitGate } from '../../../src/resilience/rateLimitGate.js';

async function take(c: AdaptiveConcurrency, n: number): Promise<Slot[]> {
  const slots: Slot[] = [];
  for (let i = 0; i < n; i++) slots.push(await c.acquire());
  return slots;
}

const clock = new ManualClock(0);

describe('AdaptiveConcurrency (AIMD)', () => {
  it('is unlimited until a rate-limit answer, which halves what was in flight', async () => {
    const c = new AdaptiveConcurrency(clock);
    const slots = await take(c, 20);
    expect(c.limit).toBeNull();
    for (const s of slots) c.sent(s);
    c.release(slots[0]!, 'rate_limited');
    expect(c.limit).toBe(10);
  });

  it('answers to requests sent before the cut do not cut again; later ones do', async () => {
    const c = new AdaptiveConcurrency(clock);
    const slots = await take(c, 8);
    for (const s of slots) c.sent(s);
    for (const s of slots.slice(0, 5)) c.release(s, 'rate_limited');
    expect(c.limit).toBe(4);
    const [late] = await take(c, 1); // 4 in flight: 3 old + this one
    c.sent(late!);
    c.release(late!, 'rate_limited');
    expect(c.limit).toBe(2);
  });

  it('never drops below 1, and grows back one slot per round: `limit` successes and the named window', async () => {
    const c = new AdaptiveConcurrency(clock);
    const [s] = await take(c, 1);
    c.sent(s!);
    c.release(s!, 'rate_limited', 1_000);
    expect(c.limit).toBe(1);
    const succeed = async (n: number, stepMs: number) => {
      const limits: number[] = [];
      for (let i = 0; i < n; i++) {
        clock.advance(stepMs);
        const [x] = await take(c, 1);
        c.release(x!, 'success');
        limits.push(c.limit!);
      }
      return limits;
    };
    // Fast successes within the window do not grow it.
    expect(await succeed(5, 100)).toEqual([1, 1, 1, 1, 1]);
    // Once the window has passed: 1 success -> 2; then 2 successes and another window -> 3.
    expect(await succeed(1, 500)).toEqual([2]);
    expect(await succeed(4, 400)).toEqual([2, 2, 3, 3]);
  });

  it('queues waiters FIFO past the limit; an aborted waiter leaves the queue', async () => {
    const c = new AdaptiveConcurrency(clock);
    const first = await take(c, 2);
    for (const s of first) c.sent(s);
    c.release(first[0]!, 'rate_limited'); // limit 1, 1 in flight
    const order: string[] = [];
    const controller = new AbortController();
    const a = c.acquire().then((s) => (order.push('a'), s));
    const b = c.acquire(controller.signal).catch((e: unknown) => (order.push('b cancelled'), e));
    const d = c.acquire().then((s) => (order.push('d'), s));
    expect(c.waiting).toBe(3);
    controller.abort();
    expect(await b).toBeInstanceOf(CancelledError);
    c.release(first[1]!, 'other');
    c.release(await a, 'other');
    await d;
    expect(order).toEqual(['b cancelled', 'a', 'd']);
  });

  it('a waiter past its deadline gets the caller’s timeout error', async () => {
    const c = new AdaptiveConcurrency(clock);
    const [s] = await take(c, 1);
    c.sent(s!);
    c.release(s!, 'rate_limited');
    await take(c, 1);
    const err = await c.acquire(undefined, 10, () => new Error('deadline passed')).catch((e: Error) => e);
    expect((err as Error).message).toBe('deadline passed');
    expect(c.waiting).toBe(0);
  });
});

describe('RateLimitGate', () => {
  it('one sleeper for every waiter; holding it longer extends the wait by the difference', async () => {
    const clock = new ManualClock(0);
    const sleeps: number[] = [];
    const gate = new RateLimitGate(clock, async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    });
    gate.hold(1_000);
    expect(gate.closedUntil()).toBe(1_000);
    const waiters = Array.from({ length: 10 }, () => gate.pass());
    gate.hold(1_500);
    await Promise.all(waiters);
    expect(sleeps).toEqual([1_000, 500]);
    expect(gate.closedUntil()).toBeNull();
  });

  it('opens after its sleep even when the clock does not move (tests with a manual clock and real timers)', async () => {
    const clock = new ManualClock(0);
    const gate = new RateLimitGate(clock, (ms) => new Promise((r) => setTimeout(r, ms)));
    gate.hold(20);
    await gate.pass();
    expect(gate.closedUntil()).toBeNull();
  });

  it('a cancelled waiter leaves at once; the others still wait for the gate', async () => {
    const clock = new ManualClock(0);
    let wake!: () => void;
    const gate = new RateLimitGate(clock, () => new Promise<void>((r) => (wake = r)));
    gate.hold(1_000);
    const controller = new AbortController();
    const cancelled = gate.pass(controller.signal).catch((e: unknown) => e);
    let passed = false;
    const other = gate.pass().then(() => (passed = true));
    controller.abort();
    expect(await cancelled).toBeInstanceOf(CancelledError);
    expect(passed).toBe(false);
    wake();
    await other;
    expect(passed).toBe(true);
  });
});
