import { z } from 'zod';
import { defineTool } from '../types.js';
import { dueSchema, prioritySchema, taskLine, taskSchema } from './schemas.js';

/**
 * The store answers an unchanged list with the same (read-only) array; its text lines are
 * rendered once per array. Keyed weakly: the entry goes when the store drops the answer.
 */
const renderedLines = new WeakMap<readonly object[], string>();

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
    limit: z.number().int().min(1).max(500).default(50),
    offset: z.number().int().min(0).default(0),
  }),
  outputSchema: z.object({ tasks: z.array(taskSchema), total: z.number().int() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { tasks, total } = services.tasks.list({
      status: args.status,
      priority: args.priority,
      tag: args.tag,
      dueBefore: args.due_before,
      limit: args.limit,
      offset: args.offset,
    });
    const header = `${tasks.length} of ${total} ${args.status === 'all' ? '' : `${args.status} `}tasks`;
    let lines = renderedLines.get(tasks);
    if (lines === undefined) renderedLines.set(tasks, (lines = tasks.map(taskLine).join('\n')));
    return { structured: { tasks, total }, text: lines ? `${header}\n${lines}` : header };
  },
});
