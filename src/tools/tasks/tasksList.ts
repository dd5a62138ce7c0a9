import { z } from 'zod';
import { defineTool } from '../types.js';
import { dueSchema, dueViewOf, prioritySchema, taskLine, viewTask, viewedTaskSchema, type ViewedTask } from './schemas.js';

/**
 * The store answers an unchanged list with the same (read-only) array. While none of its tasks
 * has a due date or linked runs, its view does not depend on the clock, so it is built once per
 * array. Keyed weakly: the entry goes when the store drops the answer.
 */
const timelessViews = new WeakMap<readonly object[], { viewed: ViewedTask[]; lines: string }>();

export const tasksList = defineTool({
  name: 'tasks_list',
  title: 'List tasks',
  description: 'List tasks, most urgent first (priority, then due date, then age).',
  set: 'core',
  inputSchema: z.object({
    status: z.enum(['open', 'done', 'all']).default('open'),
    priority: prioritySchema.optional(),
    tag: z.string().trim().min(1).max(50).optional(),
    due_before: dueSchema.optional(),
    // Words that must all appear in the title or description (listed bare: core tools/list is tight).
    query: z.string().trim().min(1).max(1_000).optional(),
    limit: z.number().int().min(1).max(500).default(50),
    offset: z.number().int().min(0).default(0),
  }),
  outputSchema: z.object({ tasks: z.array(viewedTaskSchema), total: z.number().int() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { tasks, total } = services.tasks.list({
      status: args.status,
      priority: args.priority,
      tag: args.tag,
      dueBefore: args.due_before,
      text: args.query,
      limit: args.limit,
      offset: args.offset,
    });
    const runs = services.tasks.runsOf(tasks.map((t) => t.id));
    const timeless = runs.size === 0 && tasks.every((t) => t.due === null);
    let shown = timeless ? timelessViews.get(tasks) : undefined;
    if (!shown) {
      // Overdue / due today depend on the clock: such a view is built on every call.
      const view = dueViewOf(services);
      const viewed = tasks.map((t) => viewTask(t, view, runs.get(t.id)));
      shown = { viewed, lines: viewed.map(taskLine).join('\n') };
      if (timeless) timelessViews.set(tasks, shown);
    }
    const { viewed, lines } = shown;
    const header = `${tasks.length} of ${total} ${args.status === 'all' ? '' : `${args.status} `}tasks`;
    return { structured: { tasks: viewed, total }, text: lines ? `${header}\n${lines}` : header };
  },
});
