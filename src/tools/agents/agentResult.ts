import { z } from 'zod';
import { RUN_STATUSES } from '../../runs/backgroundRuns.js';
import { defineTool } from '../types.js';
import { runText } from './format.js';

export const runSnapshotSchema = z.object({
  run_id: z.string(),
  kind: z.string(),
  status: z.enum(RUN_STATUSES),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  partial: z.unknown(),
  result: z.unknown(),
  error: z.string().nullable(),
});

export const agentResult = defineTool({
  name: 'agent_result',
  title: 'Background run result',
  description: 'Status and result of a background run (run_id); wait_ms waits for its end.',
  set: 'core',
  inputSchema: z.object({
    run_id: z.string().min(1).max(100),
    wait_ms: z.number().int().min(0).max(50_000).default(0),
  }),
  outputSchema: runSnapshotSchema,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const run = await services.runs.get(args.run_id, args.wait_ms);
    return { structured: run, text: runText(run) };
  },
});
