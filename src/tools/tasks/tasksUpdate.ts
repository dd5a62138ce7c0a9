import { z } from 'zod';
import { defineTool } from '../types.js';
import { descriptionSchema, dueSchema, prioritySchema, sourceSchema, tagsSchema, taskIdSchema, taskLine, taskSchema, titleSchema } from './schemas.js';

export const tasksUpdate = defineTool({
  name: 'tasks_update',
  title: 'Update task',
  description: 'Change fields of a task; null clears description, due or source. status "open" reopens.',
  set: 'extra',
  inputSchema: z
    .object({
      id: taskIdSchema,
      title: titleSchema.optional(),
      description: descriptionSchema.nullable().optional(),
      priority: prioritySchema.optional(),
      due: dueSchema.nullable().optional(),
      tags: tagsSchema.optional(),
      source: sourceSchema.nullable().optional(),
      status: z.enum(['open', 'done']).optional(),
    })
    .refine((a) => Object.keys(a).some((k) => k !== 'id'), { message: 'name at least one field to change besides id' }),
  outputSchema: z.object({ task: taskSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { id, ...changes } = args;
    const task = services.tasks.update(id, changes);
    return { structured: { task }, text: `Updated ${taskLine(task)}` };
  },
});
