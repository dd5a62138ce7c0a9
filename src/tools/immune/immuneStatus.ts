import { z } from 'zod';
import { defineTool } from '../types.js';
import { pct, statusSchema } from './schemas.js';

export const immuneStatus = defineTool({
  name: 'immune_status',
  title: 'Immune system status',
  description: 'Known failure patterns, failure rate now vs the previous period, recurrences prevented, guardrails and their effectiveness.',
  set: 'extra',
  inputSchema: z.object({ period_days: z.number().int().min(1).max(90).default(7) }),
  outputSchema: statusSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const report = services.immuneReports.status(services.clock.now(), args.period_days);
    const r = report.failure_rate;
    const lines = [
      `Immune system ${services.immune.mode}: ${report.patterns_known} pattern(s) from ${report.failures_recorded} failure(s); ` +
        `failure rate ${pct(r.current)} over the last ${report.period_days} d (${r.current_trials} trials) vs ${pct(r.previous)} before; ` +
        `${report.recurrences_prevented} recurrence(s) prevented.`,
      ...report.top_patterns.map((p) => `- ${p.id} ${p.failure_class} ×${p.count} (${p.severity}): ${p.example.slice(0, 80)}`),
      ...report.guardrails
        .filter((g) => g.applied > 0 || g.status !== 'active')
        .slice(0, 10)
        .map((g) => `- ${g.id} ${g.status}: applied ${g.applied}, then ${g.passed} passed, ${g.failed} failed${g.status_reason ? ` (${g.status_reason})` : ''}`),
    ];
    return { structured: { mode: services.immune.mode, ...report }, text: lines.join('\n') };
  },
});
