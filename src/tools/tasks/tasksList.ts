import { z } from 'zod';
import { defineTool } from '../types.js';
import { dueSchema, dueViewOf, prioritySchema, taskLine, viewTask, viewedTaskSchema } from './schemas.js';

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
    // Overdue / due today depend on the clock, so lines are rendered on every call.
    const view = dueViewOf(services);
    const runs = services.tasks.runsOf(tasks.map((t) => t.id));
    const viewed = tasks.map((t) => viewTask(t, view, runs.get(t.id)));
    const header = `${tasks.length} of ${total} ${args.status === 'all' ? '' : `${args.status} `}tasks`;
    const lines = viewed.map(taskLine).join('\n');
    return { structured: { tasks: viewed, total }, text: lines ? `${header}\n${lines}` : header };
  },
});
