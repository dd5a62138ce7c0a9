import { z } from 'zod';
import { defineTool } from '../types.js';
import { taskIdSchema, taskLine, taskSchema } from './schemas.js';

export const tasksDelete = defineTool({
  name: 'tasks_delete',
  title: 'Delete task',
  description: 'Delete a task permanently.',
  set: 'extra',
  inputSchema: z.object({ id: taskIdSchema }),
  outputSchema: z.object({ deleted: taskSchema }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const deleted = services.tasks.delete(args.id);
    return { structured: { deleted }, text: `Deleted ${taskLine(deleted)}` };
  },
});
