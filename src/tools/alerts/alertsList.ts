import { z } from 'zod';
import { isoDateTimeMs, isoDateTimeSchema } from '../../time/isoBounds.js';
import { defineTool } from '../types.js';
import { alertLine, alertSchema, toAlert } from './schemas.js';



const receiverSchema = z.object({
  channel: z.enum(['console', 'webhook', 'slack']),
  enabled: z.boolean(),
  delivered: z.number().int(),
  pending: z.number().int(),
  failed_attempts: z.number().int(),
  dead: z.number().int(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  disabled_reason: z.string().nullable(),
});

export const alertsList = defineTool({
  name: 'alerts_list',
  title: 'List alerts',
  description: 'Recent alerts, newest first, and each channel\'s delivery status (failures, pending, disabled).',
  set: 'extra',
  inputSchema: z.object({
    status: z.enum(['firing', 'acked', 'all']).default('all'),
    rule: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a snake_case rule id').max(50).optional(),
    since: isoDateTimeSchema.describe('ISO date-time').optional(),
    limit: z.number().int().min(1).max(200).default(20),
  }),
  outputSchema: z.object({
    alerts: z.array(alertSchema),
    counts: z.object({ firing: z.number().int(), acked: z.number().int() }),
    receivers: z.array(receiverSchema),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { alerting } = services;
    const alerts = alerting
      .list({ status: args.status === 'all' ? undefined : args.status, rule: args.rule, sinceMs: args.since === undefined ? undefined : isoDateTimeMs(args.since), limit: args.limit })
      .map(toAlert);
    const status = alerting.status();
    const receivers = [
      { channel: 'console' as const, enabled: true, delivered: status.process.fired, pending: 0, failed_attempts: 0, dead: 0, last_error: null, last_error_at: null, disabled_reason: null },
      ...status.receivers.map((r) => ({
        channel: r.channel,
        enabled: r.disabled_ms === null,
        delivered: r.delivered,
        pending: r.pending,
        failed_attempts: r.failed_attempts,
        dead: r.dead,
        last_error: r.last_error,
        last_error_at: r.last_error_ms === null ? null : new Date(r.last_error_ms).toISOString(),
        disabled_reason: r.disabled_reason,
      })),
    ];
    const header = `${status.counts.firing} firing, ${status.counts.acked} acked; showing ${alerts.length}.`;
    const channels = receivers
      .filter((r) => r.channel !== 'console')
      .map((r) => `${r.channel}: ${r.enabled ? 'enabled' : `DISABLED (${r.disabled_reason})`}, ${r.delivered} delivered, ${r.pending} pending, ${r.failed_attempts} failed attempts, ${r.dead} given up${r.last_error ? `; last error: ${r.last_error}` : ''}`);
    return {
      structured: { alerts, counts: status.counts, receivers },
      text: [header, ...alerts.map(alertLine), ...channels].join('\n'),
    };
  },
});
