import { z } from 'zod';
import { isIsoDateOrDateTime } from '../../time/isoBounds.js';
import { TRIAL_STATUSES, type Trial, type TrialFilters } from '../../eval/trialStore.js';

export const timeBoundSchema = z
  .string()
  .max(40)
  .refine(isIsoDateOrDateTime, {
    message: 'must be an ISO date (2026-01-15, UTC) or date-time (2026-01-15T09:00:00Z)',
  });

/** Filters shared by trials_list and trials_export. */
export const trialFilterShape = {
  status: z.enum(TRIAL_STATUSES).optional(),
  model: z.string().min(1).max(100).optional(),
  tag: z.string().trim().min(1).max(50).optional(),
  from: timeBoundSchema.optional().describe('Created at/after (ISO date or date-time)'),
  to: timeBoundSchema.optional().describe('Created before; a date includes that day'),
  task_id: z.number().int().positive().optional(),
  parent_run_id: z.string().min(1).max(100).optional(),
};

export function toFilters(args: {
  status?: Trial['status'] | undefined;
  model?: string | undefined;
  tag?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  task_id?: number | undefined;
  parent_run_id?: string | undefined;
}): TrialFilters {
  return {
    status: args.status,
    model: args.model,
    tag: args.tag,
    from: args.from,
    to: args.to,
    taskId: args.task_id,
    parentRunId: args.parent_run_id,
  };
}

export const trialSummarySchema = z.object({
  id: z.string(),
  status: z.enum(TRIAL_STATUSES),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  score: z.number().nullable(),
  grading_incomplete: z.boolean(),
  cost_usd: z.number(),
  latency_ms: z.number().nullable(),
  error_code: z.string().nullable(),
  tags: z.array(z.string()),
  task_id: z.number().nullable(),
  parent_run_id: z.string().nullable(),
  created_at: z.string(),
  prompt_preview: z.string(),
});
export type TrialSummary = z.infer<typeof trialSummarySchema>;

const PREVIEW_CHARS = 120;

export function preview(text: string, max = PREVIEW_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function toSummary(t: Trial): TrialSummary {
  return {
    id: t.id,
    status: t.status,
    provider: t.provider,
    model: t.model,
    score: t.score,
    grading_incomplete: t.grading_incomplete,
    cost_usd: t.cost_usd,
    latency_ms: t.latency_ms,
    error_code: t.error_code,
    tags: t.tags,
    task_id: t.task_id,
    parent_run_id: t.parent_run_id,
    created_at: t.created_at,
    prompt_preview: preview(t.prompt),
  };
}

export function summaryLine(t: TrialSummary): string {
  const score = t.score === null ? '' : ` score ${t.score}`;
  const model = t.model ? ` ${t.model}` : '';
  const err = t.error_code ? ` (${t.error_code})` : '';
  return `${t.id} [${t.status}${err}]${model}${score} $${t.cost_usd.toFixed(4)} ${t.created_at} — ${t.prompt_preview}`;
}
