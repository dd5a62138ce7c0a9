import type { Clock } from '../clock.js';
import { CancelledError } from '../errors.js';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

const CANCELLED_WAIT = 'The call was cancelled during a retry wait.';

/**
 * One model's way in. A rate-limit answer holds the gate closed until the instant the provider
 * named, and every call to that model waits behind it; once a rate was learned (AdaptiveRate),
 * the gate also lets calls through one by one, `spacingMs` apart. One pump releases the waiters
 * in order with one timer at a time, however many wait (a fake sleep in tests advances time once
 * per wait). It sleeps out deltas rather than polling the clock, so a clock that does not move
 * with real time (tests) cannot make it spin.
 */
export class RateLimitGate {
  private until = 0;
  /** Everything up to here has been waited out by the pump. */
  private sleptThrough = 0;
  private spacing = 0;
  /** With spacing: the next call may start at this instant. */
  private nextStart = 0;
  private readonly queue: Waiter[] = [];
  private pumping = false;
  private readonly stop = new AbortController();

  constructor(
    private readonly clock: Clock,
    private readonly sleep: Sleep,
  ) {}

  /** Epoch ms until which calls wait, or null while the gate is open. */
  closedUntil(): number | null {
    return this.until > this.clock.now() && this.until > this.sleptThrough ? this.until : null;
  }

  /** Holds the gate closed until `until` (never shortens it). */
  hold(until: number): void {
    if (until > this.until) this.until = until;
  }

  /** Milliseconds between starts; 0 lets everyone through while the gate is open. */
  setSpacing(ms: number): void {
    this.spacing = Math.max(0, ms);
  }

  get spacingMs(): number {
    return this.spacing;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Whether pass() would wait now. */
  mustWait(): boolean {
    return this.queue.length > 0 || this.closedUntil() !== null || (this.spacing > 0 && this.clock.now() < this.nextStart);
  }

  /** Resolves when it is this call's turn; rejects with CancelledError when `signal` aborts or on shutdown. */
  pass(signal?: AbortSignal): Promise<void> {
    if (this.stop.signal.aborted || signal?.aborted) return Promise.reject(new CancelledError(CANCELLED_WAIT));
    if (!this.mustWait()) {
      this.nextStart = this.clock.now() + this.spacing;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new CancelledError(CANCELLED_WAIT));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /** Cancels every waiter and stops the pump's timer. */
  shutdown(): void {
    this.stop.abort();
    for (const w of this.queue.splice(0)) w.reject(new CancelledError(CANCELLED_WAIT));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const from = Math.max(this.sleptThrough, this.clock.now());
        if (this.until > from) {
          const to = this.until;
          await this.sleep(to - from, this.stop.signal);
          this.sleptThrough = to;
          // A start is due right after the named time, not a spacing later.
          this.nextStart = Math.min(this.nextStart, this.clock.now());
          continue; // the gate may have been held longer meanwhile
        }
        const gap = this.spacing > 0 ? this.nextStart - this.clock.now() : 0;
        if (gap > 0) await this.sleep(gap, this.stop.signal);
        if (this.closedUntil() !== null) continue;
        const waiter = this.queue.shift();
        if (!waiter) break;
        this.nextStart = this.clock.now() + this.spacing;
        waiter.resolve();
      }
    } catch (err) {
      // Shutdown aborts the pump's sleep (and has rejected the waiters); any other failure of the
      // sleep must not leave calls waiting forever.
      for (const w of this.queue.splice(0)) w.reject(err instanceof CancelledError ? err : new CancelledError(CANCELLED_WAIT));
    } finally {
      this.pumping = false;
    }
  }
}
