import { z } from 'zod';
import { formatUsd as usdText } from '../../cost/money.js';

export { usdText };

const usd = z.number();
const periodStatusSchema = z
  .object({
    limit_usd: usd,
    spent_usd: usd,
    reserved_usd: usd.describe('Held by calls still running'),
    remaining_usd: usd,
    percent_used: z.number(),
    resets_at: z.string(),
  })
  .nullable();

export const budgetStatusSchema = z.object({
  provider: z.string(),
  model: z.string().nullable().describe('null: all models of the provider'),
  daily_limit_usd: usd.nullable(),
  monthly_limit_usd: usd.nullable(),
  updated_at: z.string(),
  daily: periodStatusSchema,
  monthly: periodStatusSchema,
});

export const amountsSchema = z.object({ usd, calls: z.number().int(), input_tokens: z.number().int(), output_tokens: z.number().int() });

export type BudgetStatusOut = z.infer<typeof budgetStatusSchema>;

/** One line per budget: "google_gemini: today $1.20 of $5.00 (24%), month $9.10 of $50.00 (18%)". */
export function budgetLine(b: BudgetStatusOut): string {
  const part = (label: string, p: BudgetStatusOut['daily']) =>
    p
      ? `${label} ${usdText(p.spent_usd)} of ${usdText(p.limit_usd)} (${Math.floor(p.percent_used)}%${p.reserved_usd > 0 ? `, ${usdText(p.reserved_usd)} reserved` : ''})`
      : `${label} no limit`;
  return `${b.provider}${b.model ? `/${b.model}` : ''}: ${part('today', b.daily)}, ${part('month', b.monthly)}`;
}
