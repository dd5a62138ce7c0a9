import { z } from 'zod';
import { defineTool } from '../types.js';
import { alertLine, alertSchema, toAlert } from './schemas.js';

export const alertsAck = defineTool({
  name: 'alerts_ack',
  title: 'Acknowledge alert',
  description: 'Mark an alert seen. Acknowledging twice changes nothing.',
  set: 'extra',
  inputSchema: z.object({ id: z.string().regex(/^alt_[0-9a-f]{32}$/, 'must be an alert id from alerts_list (alt_…)') }),
  outputSchema: z.object({ alert: alertSchema, already_acked: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { alert, alreadyAcked } = services.alerting.ack(args.id);
    const shown = toAlert(alert);
    return { structured: { alert: shown, already_acked: alreadyAcked }, text: `${alreadyAcked ? 'Already acknowledged' : 'Acknowledged'}: ${alertLine(shown)}` };
  },
});
