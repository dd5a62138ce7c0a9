/**
 * Small pieces both HTTP providers (Gemini, OpenAI-compatible) share: Retry-After parsing,
 * abort plumbing, short error text. No state.
 */
import { redactSecrets, type ProviderErrorKind } from '../errors.js';

/** Parses a Retry-After header (delta-seconds, possibly fractional, or an HTTP date) into ms. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Parses a protobuf Duration as JSON renders it ("1s", "0.5s", "1.5s", "30s") into ms. */
export function parseProtoDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value);
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

/** Whether a signal's abort was a deadline (→ 'timeout', retryable) rather than a cancel (→ 'aborted'). */
export function abortKind(signal: AbortSignal): Extract<ProviderErrorKind, 'aborted' | 'timeout'> {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && (reason.name === 'TimeoutError' || (reason as { code?: unknown }).code === 'timeout')) {
    return 'timeout';
  }
  return 'aborted';
}

/**
 * A per-call signal that follows the caller's. Libraries may leave their own listener on the
 * signal they are given after the call; giving them this one keeps the caller's signal (which
 * may span many calls) free of leaked listeners.
 */
export function followSignal(parent: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  if (!parent) return { signal: controller.signal, dispose: () => {} };
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/** Rejects as soon as the signal aborts, so a caller never waits on a library that is slow to notice. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** One line, secrets removed, at most `max` characters: provider text goes into our messages. */
export function shortText(text: string, secrets: readonly string[], max = 300): string {
  const oneLine = redactSecrets(text, secrets).replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The first cause in an error chain that has a `code` (e.g. ECONNREFUSED), for network messages. */
export function networkCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const UNDICI_GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

interface UndiciDispatcherLike {
  dispatch(opts: Record<string, unknown>, handler: unknown): boolean;
}

/**
 * A `dispatcher` for Node's fetch that delegates to the global one with undici's own 300 s
 * header/body timeouts turned off: long generations are bounded by the caller's AbortSignal
 * (TASK_ORCHESTRATOR_CALL_TIMEOUT_MS), not by a hidden library default. @google/genai does the
 * same when it owns fetch; we need it because we pass our own fetch to see response headers.
 */
export function noTimeoutDispatcher(): UndiciDispatcherLike {
  return {
    dispatch(opts, handler) {
      const globals = globalThis as unknown as Record<symbol, UndiciDispatcherLike | undefined>;
      let global = globals[UNDICI_GLOBAL_DISPATCHER];
      if (!global) {
        new Headers(); // makes Node initialise its bundled undici and register the global dispatcher
        global = globals[UNDICI_GLOBAL_DISPATCHER];
      }
      if (!global || typeof global.dispatch !== 'function') throw new Error('undici global dispatcher is not available');
      return global.dispatch({ ...opts, headersTimeout: 0, bodyTimeout: 0 }, handler);
    },
  };
}

/**
 * Token counts as a provider reported them, made safe to book: numeric strings are read and
 * fractions rounded; a missing count is 0; anything else (negative, not a number, past 2^53) is
 * 0 too and named in `unreadable`. Usage is untrusted input, and a billed answer must never fail
 * because of how its usage was spelled (the ledger only takes whole counts >= 0).
 */
export function readTokenCounts<K extends string>(fields: Record<K, unknown>): { counts: Record<K, number>; unreadable: K[] } {
  const counts = {} as Record<K, number>;
  const unreadable: K[] = [];
  for (const key of Object.keys(fields) as K[]) {
    const value = fields[key];
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isFinite(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER) counts[key] = Math.round(n);
    else {
      counts[key] = 0;
      if (value !== undefined && value !== null) unreadable.push(key);
    }
  }
  return { counts, unreadable };
}
