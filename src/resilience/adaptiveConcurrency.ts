import type { Clock } from '../clock.js';
import { CancelledError, TimeoutError } from '../errors.js';

/** A slot held for one attempt; `epoch` says which limit it was granted under. */
export interface Slot {
  epoch: number;
}

/** Above this the limit is lifted again (no model is called that widely at once). */
export const UNLIMITED_ABOVE = 256;

interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (err: unknown) => void;
}

/**
 * How many attempts one model may have in flight, adapted AIMD-style to the provider's real rate:
 * unlimited until the first rate-limit answer; each rate-limit answer halves what was in flight
 * (once per round: answers to requests sent before the last decrease do not cut again). It grows
 * back by one slot per round, a round being `limit` successes AND the provider's window (the
 * delay its last rate-limit answer named) on the clock: growing once per round trip instead would
 * overshoot a requests-per-second limit many times a window when answers are fast.
 * Waiters queue FIFO.
 */
export class AdaptiveConcurrency {
  private limitValue: number | null = null;
  private inFlightCount = 0;
  private epoch = 0;
  /** Successes since the limit last changed, and when it did. */
  private successes = 0;
  private changedAt = 0;
  private windowMs = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly clock: Clock) {}

  /** The current limit, null while unlimited. */
  get limit(): number | null {
    return this.limitValue;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /**
   * A slot, at once when one is free, else when one frees up. Rejects with CancelledError when
   * `signal` aborts and with `onTimeout()` after `timeoutMs` (the caller's deadline).
   */
  acquire(signal?: AbortSignal, timeoutMs?: number, onTimeout?: () => unknown): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    if (this.queue.length === 0 && this.hasRoom()) return Promise.resolve(this.take());
    return new Promise<Slot>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (err: unknown) => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        cleanup();
        reject(err);
      };
      const onAbort = () => leave(new CancelledError('The call was cancelled while waiting for a free slot.'));
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: (slot) => {
          cleanup();
          resolve(slot);
        },
        reject: leave,
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => leave(onTimeout?.() ?? new TimeoutError('No free slot before the deadline.')), Math.max(0, timeoutMs));
      }
    });
  }

  /** Whether an acquire now would wait. */
  mustWait(): boolean {
    return this.queue.length > 0 || !this.hasRoom();
  }

  /** The attempt in `slot` is being sent now: a rate-limit answer to it may cut the limit. */
  sent(slot: Slot): void {
    slot.epoch = this.epoch;
  }

  /**
   * The attempt in `slot` is over; `outcome` adapts the limit. `windowMs`: for a rate-limit
   * answer, the delay it named.
   */
  release(slot: Slot, outcome: 'success' | 'rate_limited' | 'other', windowMs = 0): { cut: boolean } {
    let cut = false;
    if (outcome === 'rate_limited') cut = this.decrease(slot, windowMs);
    else if (outcome === 'success' && this.limitValue !== null) this.grow();
    this.inFlightCount--;
    this.drain();
    return { cut };
  }

  /** Rejects every waiter (shutdown). */
  shutdown(): void {
    for (const w of this.queue.splice(0)) w.reject(new CancelledError('The self-healing layer is shut down; the call was not made.'));
  }

  private decrease(slot: Slot, windowMs: number): boolean {
    if (slot.epoch !== this.epoch) return false; // sent before the last cut: already accounted for
    const base = Math.min(this.limitValue ?? Number.POSITIVE_INFINITY, this.inFlightCount);
    this.limitValue = Math.max(1, Math.floor(base / 2));
    this.successes = 0;
    this.changedAt = this.clock.now();
    this.windowMs = windowMs;
    this.epoch++;
    return true;
  }

  private grow(): void {
    const limit = this.limitValue!;
    if (++this.successes < limit || this.clock.now() - this.changedAt < this.windowMs) return;
    this.successes = 0;
    this.changedAt = this.clock.now();
    this.limitValue = limit >= UNLIMITED_ABOVE ? null : limit + 1;
  }

  private hasRoom(): boolean {
    return this.limitValue === null || this.inFlightCount < this.limitValue;
  }

  private take(): Slot {
    this.inFlightCount++;
    return { epoch: this.epoch };
  }

  private drain(): void {
    while (this.queue.length > 0 && this.hasRoom()) this.queue.shift()!.resolve(this.take());
  }
}
