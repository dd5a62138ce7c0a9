import { z } from 'zod';
import { dueSpan, dueState, parseDuration } from '../../time/due.js';
import { defineTool } from '../types.js';
import { dueViewOf, taskLine, viewTask, viewedTaskSchema } from './schemas.js';

const DAY_MS = 86_400_000;

export const tasksDue = defineTool({
  name: 'tasks_due',
  title: 'Tasks due',
  description: 'Open tasks that are overdue or due within a period, soonest first, in the user\'s time zone.',
  set: 'extra',
  inputSchema: z.object({
    within: z
      .string()
      .max(40)
      .default('7d')
      .refine((v) => parseDuration(v) !== undefined, { message: 'must be like "24h", "7d", "2w" or an ISO duration such as "P3D" or "PT36H"' }),
    include_overdue: z.boolean().default(true),
    limit: z.number().int().min(1).max(500).default(100),
  }),
  outputSchema: z.object({
    time_zone: z.string(),
    until: z.string(),
    overdue: z.array(viewedTaskSchema),
    upcoming: z.array(viewedTaskSchema),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const view = dueViewOf(services);
    const untilMs = view.nowMs + parseDuration(args.within)!;
    // A date is stored from its UTC midnight; a day's margin covers every zone's offset.
    const candidates = services.tasks.openDueBefore(untilMs + DAY_MS, 5_000);
    const overdue = [];
    const upcoming = [];
    for (const task of candidates) {
      if (dueState(task.due!, view.nowMs, view.calendar) === 'overdue') {
        if (args.include_overdue) overdue.push(task);
      } else if (dueSpan(task.due!, view.calendar).startMs < untilMs) upcoming.push(task);
    }
    const shown = [...overdue, ...upcoming].slice(0, args.limit);
    const runs = services.tasks.runsOf(shown.map((t) => t.id));
    const viewed = shown.map((t) => viewTask(t, view, runs.get(t.id)));
    const overdueViewed = viewed.slice(0, Math.min(overdue.length, args.limit));
    const upcomingViewed = viewed.slice(overdueViewed.length);
    const until = `${view.calendar.formatLocal(untilMs)} ${view.calendar.timeZone}`;
    const lines = [
      ...(args.include_overdue ? [`Overdue (${overdue.length}):`, ...overdueViewed.map(taskLine)] : []),
      `Due by ${until} (${upcoming.length}):`,
      ...upcomingViewed.map(taskLine),
    ];
    return {
      structured: { time_zone: view.calendar.timeZone, until: new Date(untilMs).toISOString(), overdue: overdueViewed, upcoming: upcomingViewed },
      text: lines.join('\n'),
    };
  },
});
