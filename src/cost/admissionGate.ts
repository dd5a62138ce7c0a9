import { CancelledError } from '../errors.js';

/** Past this many calls in flight a model's window opens fully. */
const OPEN_WINDOW = 64;

interface ModelWindow {
  inFlight: number;
  /** Calls of this model that may be in flight at once while a budget applies to it. */
  window: number;
  waiters: Array<() => void>;
}

/**
 * Why learning alone cannot hold a budget: calls admitted together are all reserved before any
 * settles, so a batch of 100 concurrent calls that each cost 5x their reservation overspends
 * 5x, whatever is learned afterwards. So a model whose real cost is not yet known (no call of it
 * has settled on this database) or that just cost more than reserved is admitted with a window
 * (TCP slow start): one call at a time, doubling with each call that settles within its
 * reservation, back to one after an overrun, fully open from OPEN_WINDOW on. What can overspend
 * is then bounded by the window, not by the batch. Only calls a budget applies to wait; the
 * window is per process (another process on the file has its own, and shares the learned ratio).
 */
export class AdmissionGate {
  private readonly models = new Map<string, ModelWindow>();

  constructor(private readonly deps: { observed: (key: string) => boolean }) {}

  /**
   * A place in the model's window (at once when `gated` is false): the function that gives it
   * back (call it once the call is settled or released), or a promise of it while the window is full.
   */
  admit(key: string, gated: boolean, signal: AbortSignal): (() => void) | Promise<() => void> {
    const state = this.stateOf(key);
    if (!gated || state.inFlight < state.window) {
      state.inFlight++;
      return this.leaver(state);
    }
    return new Promise<() => void>((resolve, reject) => {
      const onAbort = () => {
        const i = state.waiters.indexOf(go);
        if (i >= 0) state.waiters.splice(i, 1);
        reject(new CancelledError('The call was cancelled while it waited for a place in its budget window.'));
      };
      // Counted in here, synchronously, so no newcomer slips in before this waiter resumes.
      const go = () => {
        signal.removeEventListener('abort', onAbort);
        state.inFlight++;
        resolve(this.leaver(state));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      state.waiters.push(go);
    });
  }

  private leaver(state: ModelWindow): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      state.inFlight--;
      this.pump(state);
    };
  }

  /** A call of this model settled: an overrun narrows its window to one, a call within its reservation widens it. */
  observe(key: string, overrun: boolean): void {
    const state = this.models.get(key);
    if (!state) return;
    if (overrun) state.window = 1;
    else if (state.window !== Infinity) state.window = state.window * 2 >= OPEN_WINDOW ? Infinity : state.window * 2;
    this.pump(state);
  }

  /** The window of a model now (Infinity when open); for status and tests. */
  windowOf(key: string): number {
    return this.models.get(key)?.window ?? (this.deps.observed(key) ? Infinity : 1);
  }

  private stateOf(key: string): ModelWindow {
    let state = this.models.get(key);
    if (!state) {
      state = { inFlight: 0, window: this.deps.observed(key) ? Infinity : 1, waiters: [] };
      this.models.set(key, state);
    }
    return state;
  }

  private pump(state: ModelWindow): void {
    while (state.inFlight < state.window && state.waiters.length > 0) state.waiters.shift()!();
  }
}
