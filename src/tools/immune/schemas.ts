import { z } from 'zod';

export const guardrailSchema = z.object({
  id: z.string(),
  kind: z.string(),
  reason: z.string(),
});

export const guardrailViewSchema = z.object({
  id: z.string(),
  pattern_id: z.string().nullable(),
  kind: z.string(),
  source: z.string(),
  status: z.string(),
  status_reason: z.string().nullable(),
  instruction: z.string().nullable(),
  applied: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  votes: z.number().int(),
  pass_rate_after: z.number().nullable(),
});

export const patternViewSchema = z.object({
  id: z.string(),
  failure_class: z.string(),
  severity: z.string(),
  status: z.string(),
  count: z.number().int(),
  first_seen: z.string(),
  last_seen: z.string(),
  example: z.string(),
  models: z.array(z.object({ model: z.string(), failures: z.number().int(), passes: z.number().int() })),
  guardrails: z.array(guardrailViewSchema),
});

export const statusSchema = z.object({
  mode: z.enum(['on', 'observe', 'off']),
  patterns_known: z.number().int(),
  patterns_active: z.number().int(),
  failures_recorded: z.number().int(),
  period_days: z.number().int(),
  failure_rate: z.object({ current: z.number().nullable(), previous: z.number().nullable(), current_trials: z.number().int(), previous_trials: z.number().int() }),
  recurrences_prevented: z.number().int(),
  checks: z.object({ rewritten: z.number().int(), blocked: z.number().int(), observed: z.number().int() }),
  top_patterns: z.array(patternViewSchema),
  guardrails: z.array(guardrailViewSchema),
});

export const pct = (rate: number | null) => (rate === null ? 'n/a' : `${(rate * 100).toFixed(1)}%`);
