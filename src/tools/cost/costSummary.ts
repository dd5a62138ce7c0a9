import { z } from 'zod';
import { listAs } from '../../schemaListing.js';
import { isoBoundSchema } from '../../time/isoBounds.js';
import { defineTool } from '../types.js';
import { amountsSchema, budgetLine, budgetStatusSchema, usdText } from './schemas.js';

const bound = isoBoundSchema('must be an ISO date (2026-11-01) or date-time with offset (2026-11-01T08:00:00Z)');

export const costSummary = defineTool({
  name: 'cost_summary',
  title: 'Cost summary',
  description: 'Model spend: totals, breakdown, budgets (spent/reserved/remaining), priciest recent calls.',
  set: 'core',
  inputSchema: z.object({
    period: z
      .union([z.enum(['today', 'month', 'all']), listAs(z.strictObject({ from: bound, to: bound }), { type: 'object', description: '{from, to}: ISO dates, to inclusive' })])
      .default('today'),
    group_by: z.enum(['provider', 'model', 'day', 'task', 'tag']).default('provider'),
  }),
  outputSchema: z.object({
    period: z.object({
      name: z.enum(['today', 'month', 'all', 'range']),
      from: z.string().nullable(),
      to: z.string().nullable(),
      time_zone: z.string(),
    }),
    totals: amountsSchema,
    group_by: z.enum(['provider', 'model', 'day', 'task', 'tag']),
    breakdown: z.array(amountsSchema.extend({ key: z.string() })),
    breakdown_omitted: z.number().int(),
    budgets: z.array(budgetStatusSchema),
    top_calls: z.array(
      z.object({
        id: z.number().int(),
        time: z.string(),
        provider: z.string(),
        model: z.string(),
        usd: z.number(),
        input_tokens: z.number().int(),
        output_tokens: z.number().int(),
        status: z.enum(['ok', 'error', 'cancelled']),
        trial_id: z.string().nullable(),
        task_id: z.number().int().nullable(),
      }),
    ),
    overruns: z.array(
      z.object({
        provider: z.string(),
        model: z.string(),
        calls: z.number().int(),
        reserved_usd: z.number(),
        cost_usd: z.number(),
        max_ratio: z.number(),
        reserve_ratio: z.number(),
      }),
    ),
    warnings: z.array(z.string()),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const s = services.cost.summary({ period: args.period, groupBy: args.group_by });
    const p = s.period;
    const when = p.name === 'range' ? `${p.from} to ${p.to}` : p.name;
    const lines = [
      `${when} (${p.time_zone}): ${usdText(s.totals.usd)} over ${s.totals.calls} calls (${s.totals.input_tokens} in / ${s.totals.output_tokens} out tokens)`,
      ...s.breakdown.slice(0, 20).map((g) => `  ${s.group_by} ${g.key}: ${usdText(g.usd)} (${g.calls} calls)`),
      ...s.budgets.map((b) => `budget ${budgetLine(b)}`),
      ...s.warnings.map((w) => `warning: ${w}`),
    ];
    return { structured: s, text: lines.join('\n') };
  },
});
