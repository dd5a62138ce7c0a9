import { z } from 'zod';
import { defineTool } from '../types.js';
import { runSnapshotSchema } from './agentResult.js';
import { runText } from './format.js';

export const agentCancel = defineTool({
  name: 'agent_cancel',
  title: 'Cancel background run',
  description: 'Cancel a background or detached spawn (run_id); only what it spent until then is booked.',
  set: 'extra',
  inputSchema: z.object({ run_id: z.string().min(1).max(100) }),
  outputSchema: runSnapshotSchema,
  // Stops work; removes or overwrites no data (what finished stays in the run and its trials).
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const run = await services.runs.cancel(args.run_id);
    return { structured: run, text: runText(run) };
  },
});
