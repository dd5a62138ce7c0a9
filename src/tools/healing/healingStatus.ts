import { z } from 'zod';
import type { HealingStatus } from '../../resilience/status.js';
import { defineTool } from '../types.js';

const isoOrNull = z.string().nullable();

const breakerSchema = z.object({
  provider: z.string(),
  model: z.string(),
  state: z.enum(['closed', 'open', 'half_open']),
  available: z.boolean(),
  consecutive_failures: z.number().int(),
  total_failures: z.number().int(),
  total_successes: z.number().int(),
  retried: z.number().int(),
  gave_up: z.number().int(),
  last_error: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
  opened_at: isoOrNull,
  half_open_at: isoOrNull.describe('When it lets a test call through'),
  reason: z.string().nullable(),
  quota: z.object({ id: z.string(), resets_at: z.string() }).nullable(),
  concurrency_limit: z.number().int().nullable().describe('Calls allowed in flight, adapted to rate limits; null = none'),
  in_flight: z.number().int(),
  rate_limit: z.object({
    requests_per_second: z.number().nullable(),
    hits: z.number().int(),
    waits: z.number().int(),
    total_wait_ms: z.number(),
    gate_until: isoOrNull.describe('Calls wait until then'),
  }),
});

const eventSchema = z.object({
  type: z.enum(['opened', 'half_open', 'closed', 'retry_gave_up']),
  provider: z.string(),
  model: z.string(),
  at: z.string(),
  detail: z.string(),
});

export const healingStatus = defineTool({
  name: 'healing_status',
  title: 'Self-healing status',
  description: 'Circuit breaker state per provider/model, rate-limit waits and concurrency, retry counts, recent recovery events.',
  set: 'extra',
  inputSchema: z.object({}),
  outputSchema: z.object({
    breakers: z.array(breakerSchema),
    retries: z.object({ retried: z.number().int(), gave_up: z.number().int() }),
    recent_events: z.array(eventSchema),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(_args, services) {
    const status: HealingStatus = services.healing.status();
    const breakers = status.breakers.map((b) => ({
      provider: b.provider,
      model: b.model,
      state: b.state,
      available: b.available,
      consecutive_failures: b.consecutiveFailures,
      total_failures: b.totalFailures,
      total_successes: b.totalSuccesses,
      retried: b.retried,
      gave_up: b.gaveUp,
      last_error: b.lastError,
      opened_at: b.openedAt,
      half_open_at: b.halfOpenAt,
      reason: b.reason,
      quota: b.quota ? { id: b.quota.id, resets_at: b.quota.resetsAt } : null,
      concurrency_limit: b.concurrencyLimit,
      in_flight: b.inFlight,
      rate_limit: {
        requests_per_second: b.rateLimit.requestsPerSecond,
        hits: b.rateLimit.hits,
        waits: b.rateLimit.waits,
        total_wait_ms: b.rateLimit.totalWaitMs,
        gate_until: b.rateLimit.gateUntil,
      },
    }));
    const lines = breakers.map((b) => {
      const when = b.state === 'closed' ? '' : ` until ${b.half_open_at ?? '?'}`;
      const why = b.reason ? ` (${b.reason})` : '';
      const limited =
        b.rate_limit.hits === 0
          ? ''
          : `; rate-limited ${b.rate_limit.hits}x, ${b.rate_limit.waits} waits (${Math.round(b.rate_limit.total_wait_ms)} ms), ` +
            `concurrency ${b.concurrency_limit ?? 'unlimited'}, ${b.rate_limit.requests_per_second ?? 'unlimited'} req/s${b.rate_limit.gate_until ? `, waiting until ${b.rate_limit.gate_until}` : ''}`;
      return `${b.provider}/${b.model}: ${b.state}${when}${why}; ${b.total_successes} ok, ${b.total_failures} failed${limited}`;
    });
    const header =
      breakers.length === 0
        ? 'No provider calls yet; all breakers closed.'
        : `${breakers.filter((b) => b.state !== 'closed').length} of ${breakers.length} breakers not closed; ` +
          `${status.retries.retried} retries, ${status.retries.gaveUp} given up.`;
    return {
      structured: {
        breakers,
        retries: { retried: status.retries.retried, gave_up: status.retries.gaveUp },
        recent_events: status.recentEvents,
      },
      text: [header, ...lines].join('\n'),
    };
  },
});
