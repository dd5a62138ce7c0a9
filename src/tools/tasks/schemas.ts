import { z } from 'zod';
import type { TaskRuns } from '../../tasks/taskRuns.js';
import { PRIORITIES, dueToMs, type Task } from '../../tasks/taskStore.js';
import { dueState, formatDue, type DueState } from '../../time/due.js';
import { isIsoDateOrDateTime } from '../../time/isoBounds.js';
import { ZonedCalendar } from '../../zonedCalendar.js';

/** A date (YYYY-MM-DD) or an ISO date-time with offset; must be a real calendar date. */
export const dueSchema = z
  .string()
  .max(40)
  .describe('ISO date or date-time')
  .refine((v) => isIsoDateOrDateTime(v) && inFourDigitYears(safeDueMs(v)), {
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
  external_id: z.string().nullable().optional(),
  /** from, date (mail), location, recurrence (event), file. */
  origin: z.looseObject({ kind: z.enum(['email', 'event', 'todo']) }).nullable().optional(),
});

/** A task as the list and due views show it: its due date in the user's zone, and its agent runs. */
export const viewedTaskSchema = taskSchema.extend({
  due_local: z.string().optional(),
  due_state: z.enum(['overdue', 'due today']).optional(),
  runs: z.object({ count: z.number().int(), cost_usd: z.number(), recent_trial_ids: z.array(z.string()) }).optional(),
});
export type ViewedTask = z.infer<typeof viewedTaskSchema>;

/** What the views need to judge "overdue" and "due today": now, and the user's zone. */
export interface DueView {
  nowMs: number;
  /** Built on first use: an Intl formatter costs more than rendering a list without due dates. */
  readonly calendar: ZonedCalendar;
}

export function dueViewOf(services: { clock: { now(): number }; config: { budget: { timeZone: string } } }): DueView {
  let calendar: ZonedCalendar | undefined;
  return {
    nowMs: services.clock.now(),
    get calendar() {
      return (calendar ??= new ZonedCalendar(services.config.budget.timeZone));
    },
  };
}

/** external_id and origin are left out when null: most tasks were not imported, and lists are long. */
export function viewTask(task: Task, view: DueView, runs: TaskRuns | undefined): ViewedTask {
  const { external_id, origin, ...rest } = task;
  const out: ViewedTask = { ...rest };
  if (external_id !== null) out.external_id = external_id;
  if (origin !== null) out.origin = origin;
  if (task.due !== null) {
    out.due_local = formatDue(task.due, view.calendar);
    const state: DueState | undefined = task.status === 'open' ? dueState(task.due, view.nowMs, view.calendar) : undefined;
    if (state) out.due_state = state;
  }
  if (runs) out.runs = runs;
  return out;
}

/** One line per task for the human-readable text of a result. */
export function taskLine(t: z.infer<typeof taskSchema> & Partial<Pick<ViewedTask, 'due_local' | 'due_state' | 'runs'>>): string {
  const due = t.due ? ` due ${t.due_local ?? t.due}` : '';
  const state = t.due_state ? ` (${t.due_state})` : '';
  const tags = t.tags.length > 0 ? ` [${t.tags.join(', ')}]` : '';
  const runs = t.runs ? ` · ${t.runs.count} run${t.runs.count === 1 ? '' : 's'} $${t.runs.cost_usd.toFixed(4)}` : '';
  // The description too (shortened): a host that shows its model only the text must not lose it.
  const about = t.description ? `\n  ${t.description.length > DESCRIPTION_CHARS ? `${t.description.slice(0, DESCRIPTION_CHARS)}…` : t.description}`.replace(/\n(?!  )/g, ' ') : '';
  return `#${t.id} [${t.priority}] ${t.status === 'done' ? '(done) ' : ''}${t.title}${due}${state}${tags}${runs}${about}`;
}
const DESCRIPTION_CHARS = 200;
