import type { Clock } from '../clock.js';
import { CancelledError } from '../errors.js';

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * One model's "not before" time: a rate-limit answer holds the gate closed until the instant the
 * provider named, and every call to that model waits behind it. One sleeper per gate, however
 * many calls wait (they wake together, and a fake sleep in tests advances time once). The
 * sleeper waits out deltas rather than polling the clock, so a clock that does not move with
 * real time (tests) cannot make it spin.
 */
export class RateLimitGate {
  private until = 0;
  /** Everything up to here has been waited out by the sleeper. */
  private sleptThrough = 0;
  private sleeper: Promise<void> | null = null;
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

  /** Resolves when the gate opens; rejects with CancelledError when `signal` aborts or on shutdown. */
  async pass(signal?: AbortSignal): Promise<void> {
    while (this.closedUntil() !== null) {
      this.sleeper ??= this.sleepOut();
      await abortable(this.sleeper, signal);
    }
  }

  shutdown(): void {
    this.stop.abort();
  }

  private async sleepOut(): Promise<void> {
    try {
      for (;;) {
        const from = Math.max(this.sleptThrough, this.clock.now());
        const to = this.until;
        if (to <= from) return;
        await this.sleep(to - from, this.stop.signal);
        this.sleptThrough = to;
      }
    } finally {
      this.sleeper = null;
    }
  }
}

const CANCELLED_WAIT = 'The call was cancelled during a retry wait.';

/** `work`, or a CancelledError as soon as `signal` aborts (work goes on for others). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work.catch(() => Promise.reject(new CancelledError(CANCELLED_WAIT)));
  if (signal.aborted) return Promise.reject(new CancelledError(CANCELLED_WAIT));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(CANCELLED_WAIT));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      () => {
        signal.removeEventListener('abort', onAbort);
        reject(new CancelledError(CANCELLED_WAIT));
      },
    );
  });
}
