import { z } from 'zod';
import { defineTool } from '../types.js';

export const alertsTest = defineTool({
  name: 'alerts_test',
  title: 'Send test alert',
  description: 'Send a test alert to a channel now and report whether it arrived.',
  set: 'extra',
  inputSchema: z.object({ channel: z.enum(['console', 'webhook', 'slack', 'all']) }),
  outputSchema: z.object({
    alert_id: z.string(),
    results: z.array(
      z.object({
        channel: z.enum(['console', 'webhook', 'slack']),
        outcome: z.enum(['logged', 'delivered', 'failed', 'queued', 'disabled']),
        http_status: z.number().int().nullable(),
        error: z.string().nullable(),
      }),
    ),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, services) {
    const { alert, results } = await services.alerting.sendTest(args.channel);
    const lines = results.map((r) => `${r.channel}: ${r.outcome}${r.http_status ? ` (HTTP ${r.http_status})` : ''}${r.error ? ` — ${r.error}` : ''}`);
    return { structured: { alert_id: alert.id, results }, text: [`Test alert ${alert.id}:`, ...lines].join('\n') };
  },
});
