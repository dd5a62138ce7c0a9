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
  description: 'Circuit breaker state per provider/model, retry counts and recent recovery events.',
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
    }));
    const lines = breakers.map((b) => {
      const when = b.state === 'closed' ? '' : ` until ${b.half_open_at ?? '?'}`;
      const why = b.reason ? ` (${b.reason})` : '';
      return `${b.provider}/${b.model}: ${b.state}${when}${why}; ${b.total_successes} ok, ${b.total_failures} failed`;
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
