import { z } from 'zod';
import { defineTool } from '../types.js';

export const agentResult = defineTool({
  name: 'agent_result',
  title: 'Background run result',
  description: 'Status and result of a background spawn (run_id). wait_ms waits for it to finish.',
  set: 'core',
  inputSchema: z.object({
    run_id: z.string().min(1).max(100),
    wait_ms: z.number().int().min(0).max(50_000).default(0),
  }),
  outputSchema: z.object({
    run_id: z.string(),
    kind: z.string(),
    status: z.enum(['running', 'done', 'failed', 'interrupted']),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    partial: z.unknown(),
    result: z.unknown(),
    error: z.string().nullable(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const run = await services.runs.get(args.run_id, args.wait_ms);
    const partialCount = Array.isArray(run.partial) ? ` (${run.partial.length} agents finished so far)` : '';
    const text =
      run.status === 'running'
        ? `${run.run_id} is still running${partialCount}.`
        : run.status === 'done'
          ? `${run.run_id} is done. Result in structuredContent.result.`
          : `${run.run_id} ${run.status}: ${run.error ?? ''}${partialCount}`;
    return { structured: run, text };
  },
});
