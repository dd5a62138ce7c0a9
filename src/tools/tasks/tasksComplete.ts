import { z } from 'zod';
import { defineTool } from '../types.js';
import { taskIdSchema, taskLine, taskSchema } from './schemas.js';

export const tasksComplete = defineTool({
  name: 'tasks_complete',
  title: 'Complete task',
  description: 'Mark a task done; a done task stays as it is.',
  set: 'core',
  inputSchema: z.object({ id: taskIdSchema }),
  outputSchema: z.object({ task: taskSchema, already_done: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { task, alreadyDone } = services.tasks.complete(args.id);
    return {
      structured: { task, already_done: alreadyDone },
      text: `${alreadyDone ? 'Already done' : 'Completed'}: ${taskLine(task)}`,
    };
  },
});
