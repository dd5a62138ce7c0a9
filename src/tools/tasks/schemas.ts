import { z } from 'zod';
import { PRIORITIES, dueToMs } from '../../tasks/taskStore.js';

/** A date (YYYY-MM-DD) or an ISO date-time with offset; must be a real calendar date. */
const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });
export const dueSchema = z
  .string()
  .max(40)
  .describe('ISO date or date-time')
  .refine((v) => (isoDate.safeParse(v).success || isoDateTime.safeParse(v).success) && inFourDigitYears(safeDueMs(v)), {
    message: 'must be a real ISO date (2026-12-01) or date-time (2026-12-01T17:00:00Z)',
  });

/** Stored in UTC: an offset must not push it past 9999 (the answer would not parse back). */
function inFourDigitYears(ms: number): boolean {
  if (Number.isNaN(ms)) return false;
  const year = new Date(ms).getUTCFullYear();
  return year >= 0 && year <= 9999;
}

function safeDueMs(v: string): number {
  try {
    return dueToMs(v);
  } catch {
    return Number.NaN;
  }
}

export const taskIdSchema = z.number().int().positive();
export const titleSchema = z.string().trim().min(1, 'must not be empty').max(500);
export const descriptionSchema = z.string().max(10_000);
export const prioritySchema = z.enum(PRIORITIES);
export const tagsSchema = z.array(z.string().trim().min(1).max(50)).max(20);
export const sourceSchema = z.string().max(200);

export const taskSchema = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string().nullable(),
  priority: prioritySchema,
  status: z.enum(['open', 'done']),
  due: z.string().nullable(),
  tags: z.array(z.string()),
  source: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
});

/** One line per task for the human-readable text of a result. */
export function taskLine(t: z.infer<typeof taskSchema>): string {
  const due = t.due ? ` due ${t.due}` : '';
  const tags = t.tags.length > 0 ? ` [${t.tags.join(', ')}]` : '';
  // The description too (shortened): a host that shows its model only the text must not lose it.
  const about = t.description ? `\n  ${t.description.length > DESCRIPTION_CHARS ? `${t.description.slice(0, DESCRIPTION_CHARS)}…` : t.description}`.replace(/\n(?!  )/g, ' ') : '';
  return `#${t.id} [${t.priority}] ${t.status === 'done' ? '(done) ' : ''}${t.title}${due}${tags}${about}`;
}
const DESCRIPTION_CHARS = 200;
