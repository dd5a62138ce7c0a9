import { rateLimited } from './geminiEmulator.js';
import type { Behaviour, BehaviourFn, RecordedRequest } from './httpEmulator.js';

/**
 * A per-model rate limit for the emulators: a token bucket of `perSecond` requests per second
 * (holding at most `burst`, default one second's worth). A request that finds a token is answered
 * ok after `latencyMs`; one that finds none gets 429 RESOURCE_EXHAUSTED + RetryInfo of
 * `retryDelaySeconds`, at once (as the real API does). Use as `emulator.setDefault(bucket.behaviour)`.
 * No vitest imports: benchmarks use it too.
 */
export interface TokenBucketOptions {
  perSecond: number;
  burst?: number;
  retryDelaySeconds?: number;
  latencyMs?: number;
  /** Milliseconds, monotonic; default performance.now. */
  now?: () => number;
}

export interface TokenBucket {
  behaviour: BehaviourFn;
  /** generateContent requests seen and refused, per model. */
  readonly counts: Map<string, { requests: number; refused: number }>;
  totals(): { requests: number; refused: number };
  reset(): void;
}

export function tokenBucket(opts: TokenBucketOptions): TokenBucket {
  const now = opts.now ?? (() => performance.now());
  const burst = opts.burst ?? opts.perSecond;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const counts = new Map<string, { requests: number; refused: number }>();
  const behaviour = (req: RecordedRequest): Behaviour => {
    const model = req.model ?? 'unknown';
    const t = now();
    const bucket = buckets.get(model) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * opts.perSecond);
    bucket.at = t;
    buckets.set(model, bucket);
    const count = counts.get(model) ?? { requests: 0, refused: 0 };
    counts.set(model, count);
    if (req.endpoint === 'generateContent') count.requests++;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { kind: 'ok', ...(opts.latencyMs ? { delayMs: opts.latencyMs } : {}) };
    }
    if (req.endpoint === 'generateContent') count.refused++;
    return rateLimited(opts.retryDelaySeconds ?? 1);
  };
  return {
    behaviour,
    counts,
    totals: () => [...counts.values()].reduce((a, c) => ({ requests: a.requests + c.requests, refused: a.refused + c.refused }), { requests: 0, refused: 0 }),
    reset: () => {
      buckets.clear();
      counts.clear();
    },
  };
}
