import { z } from 'zod';
import { defineTool } from '../types.js';
import { descriptionSchema, dueSchema, prioritySchema, sourceSchema, tagsSchema, taskLine, taskSchema, titleSchema } from './schemas.js';

export const tasksAdd = defineTool({
  name: 'tasks_add',
  title: 'Add task',
  description: "Add a task to the user's persistent task list.",
  set: 'core',
  inputSchema: z.object({
    title: titleSchema,
    description: descriptionSchema.optional(),
    priority: prioritySchema.default('medium'),
    due: dueSchema.optional(),
    tags: tagsSchema.optional(),
    source: sourceSchema.optional(),
  }),
  outputSchema: z.object({ task: taskSchema }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, services) {
    const task = services.tasks.add(args);
    return { structured: { task }, text: `Added ${taskLine(task)}` };
  },
});
