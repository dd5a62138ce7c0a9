import type { AlertRow } from '../alertStore.js';
import type { AlertMessage } from './types.js';

/** An alert as receivers and tools see it. */
export function alertJson(a: AlertRow) {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    subject: a.subject,
    message: a.message,
    status: a.status,
    occurrences: a.occurrences,
    fired_at: new Date(a.fired_ms).toISOString(),
    details: JSON.parse(a.details) as Record<string, unknown>,
  };
}

const RANK = { info: 0, warning: 1, critical: 2 } as const;

/** The Standard Webhooks body: the first alert's fields, and every alert of the group. */
export function webhookBody(m: AlertMessage): string {
  const [head, ...rest] = m.alerts;
  if (!head) throw new Error(`notification ${m.notificationId} has no alerts`);
  const severity = m.alerts.reduce((s, a) => (RANK[a.severity] > RANK[s] ? a.severity : s), head.severity);
  return JSON.stringify({
    type: 'alert.fired',
    timestamp: new Date(m.createdMs).toISOString(),
    data: { ...alertJson(head), severity, group: head.group_key, count: m.alerts.length, alerts: [alertJson(head), ...rest.map(alertJson)] },
  });
}

const EMOJI = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

/** Slack Block Kit, with `text` as the notification and accessibility fallback. */
export function slackBody(m: AlertMessage): string {
  const [head] = m.alerts;
  if (!head) throw new Error(`notification ${m.notificationId} has no alerts`);
  const more = m.alerts.length > 1 ? ` (+${m.alerts.length - 1} more)` : '';
  const text = `[${head.severity}] ${head.rule}: ${head.message}${more}`;
  const shown = m.alerts.slice(0, 10);
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: `${head.severity.toUpperCase()}: ${head.rule}${more}`.slice(0, 150), emoji: true } },
    ...shown.map((a) => ({
      type: 'section',
      text: { type: 'mrkdwn', text: `${EMOJI[a.severity]} *${escape(a.subject)}*\n${escape(a.message)}`.slice(0, 3000) },
    })),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${m.alerts.length} alert(s) · ${new Date(m.createdMs).toISOString()} · ${m.notificationId}` }],
    },
  ];
  return JSON.stringify({ text, blocks });
}

function escape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
