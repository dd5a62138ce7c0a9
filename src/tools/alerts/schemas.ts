import { z } from 'zod';
import type { AlertRow } from '../../alerting/alertStore.js';
import { alertJson } from '../../alerting/notifiers/payload.js';

export const alertSchema = z.object({
  id: z.string(),
  rule: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  subject: z.string(),
  message: z.string(),
  status: z.enum(['firing', 'acked']),
  occurrences: z.number().int(),
  fired_at: z.string(),
  last_seen_at: z.string(),
  acked_at: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

export function toAlert(a: AlertRow): z.infer<typeof alertSchema> {
  return {
    ...alertJson(a),
    last_seen_at: new Date(a.last_seen_ms).toISOString(),
    acked_at: a.acked_ms === null ? null : new Date(a.acked_ms).toISOString(),
  };
}

export function alertLine(a: z.infer<typeof alertSchema>): string {
  const times = a.occurrences > 1 ? ` (x${a.occurrences})` : '';
  return `${a.id} ${a.fired_at} [${a.severity}] ${a.rule} ${a.subject}${times}${a.status === 'acked' ? ' (acked)' : ''}: ${a.message}`;
}
