import { z } from 'zod';
import { servedDashboardUrl } from '../../dashboard/announce.js';
import { defineTool } from '../types.js';
import { pct, statusSchema } from './schemas.js';

const PERIOD_DAYS = { '7d': 7, '14d': 14, '30d': 30, '90d': 90 } as const;
const keyed = z.array(z.object({ key: z.string(), failures: z.number().int() }));

export const immuneDashboard = defineTool({
  name: 'immune_dashboard',
  title: 'Failure dashboard data',
  description: 'Failure trends per day, operation, grader and model, as data and text; the web dashboard URL when served.',
  set: 'extra',
  inputSchema: z.object({ period: z.enum(['7d', '14d', '30d', '90d']).default('14d') }),
  outputSchema: z.object({
    url: z.string().nullable().describe('Served by `task-orchestrator dashboard`'),
    period_days: z.number().int(),
    days: z.array(z.object({ day: z.string(), trials: z.number().int(), failed: z.number().int(), failures: z.number().int(), rewritten: z.number().int(), blocked: z.number().int(), cost_usd: z.number(), incidents: z.number().int() })),
    by_class: keyed,
    by_operation: keyed,
    by_grader: keyed,
    by_model: z.array(z.object({ key: z.string(), failures: z.number().int(), trials: z.number().int() })),
    incidents_by_kind: z.array(z.object({ key: z.string(), count: z.number().int() })),
    status: statusSchema.omit({ mode: true }),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const r = services.immuneReports.dashboard(services.clock.now(), PERIOD_DAYS[args.period]);
    const url = servedDashboardUrl(services.config.dataDir);
    const total = r.days.reduce((a, d) => a + d.trials, 0);
    const failed = r.days.reduce((a, d) => a + d.failed, 0);
    const lines = [
      `${args.period}: ${failed} of ${total} calls failed (${pct(total === 0 ? null : failed / total)}); ${r.status.recurrences_prevented} recurrence(s) prevented.`,
      `Per day (failed/calls): ${r.days.filter((d) => d.trials > 0).map((d) => `${d.day.slice(5)} ${d.failed}/${d.trials}`).join(', ') || 'no calls'}`,
      `By class: ${r.by_class.map((c) => `${c.key} ${c.failures}`).join(', ') || 'none'}`,
      `By grader: ${r.by_grader.map((c) => `${c.key} ${c.failures}`).join(', ') || 'none'}`,
      `By model: ${r.by_model.map((c) => `${c.key} ${c.failures}/${c.trials}`).join(', ') || 'none'}`,
      url ? `Dashboard: ${url}` : 'Dashboard not served; run `task-orchestrator dashboard` to see it.',
    ];
    const { alerts: _alerts, incidents: _incidents, generated_at: _generated, ...data } = r;
    return { structured: { url, ...data }, text: lines.join('\n') };
  },
});
