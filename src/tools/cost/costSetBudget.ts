import { z } from 'zod';
import { PROVIDER_IDS } from '../../providers/types.js';
import { defineTool } from '../types.js';
import { budgetLine, budgetStatusSchema } from './schemas.js';

const limit = z.number().nonnegative().finite().max(1_000_000).nullable().optional();

export const costSetBudget = defineTool({
  name: 'cost_set_budget',
  title: 'Set budget',
  description:
    'Set daily and/or monthly USD limits for a provider (or one model of it). null removes a limit; omitted limits stay. Calls that could pass a limit are refused.',
  set: 'extra',
  inputSchema: z.object({
    provider: z.enum(PROVIDER_IDS as [string, ...string[]]),
    model: z.string().trim().min(1).max(200).optional().describe('Limit only this model'),
    daily_limit: limit.describe('USD per day, null removes'),
    monthly_limit: limit.describe('USD per month, null removes'),
  }),
  outputSchema: z.object({ budget: budgetStatusSchema, removed: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const budget = services.cost.setBudget({
      provider: args.provider,
      model: args.model,
      dailyLimitUsd: args.daily_limit,
      monthlyLimitUsd: args.monthly_limit,
    });
    const removed = budget.daily_limit_usd === null && budget.monthly_limit_usd === null;
    return {
      structured: { budget, removed },
      text: removed ? `Removed the budget for ${args.provider}${budget.model ? `/${budget.model}` : ''}.` : `Budget set. ${budgetLine(budget)}`,
    };
  },
});
