import { z } from 'zod';
import { ProgressHeartbeat } from '../progress.js';
import { agentResultSchema, agentSpecSchema } from '../../agents/spawnSchema.js';
import { AppError } from '../../errors.js';
import { defineTool } from '../types.js';
import { agentHeadline, usd } from './format.js';

export const spawnAgent = defineTool({
  name: 'spawn_agent',
  title: 'Spawn agent',
  description:
    'Delegate a sub-task to another model; returns the graded answer, model, cost. background: returns run_id for agent_result.',
  set: 'core',
  inputSchema: agentSpecSchema.extend({ background: z.boolean().default(false) }),
  outputSchema: z.object({ result: agentResultSchema.optional(), run_id: z.string().optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, services, ctx) {
    const { background, ...spec } = args;
    const plan = await services.agents.plan(spec, ctx);
    if (background) {
      const runId = services.runs.start('spawn_agent', (signal) => services.agents.spawn(plan, { signal, createMessage: ctx.createMessage }));
      return { structured: { run_id: runId }, text: `Started in the background: ${runId}. Poll agent_result with this run_id.` };
    }
    const heartbeat = ctx.wantsProgress
      ? new ProgressHeartbeat(ctx.reportProgress, 1, services.config.agents.progressIntervalMs, () => 'agent running').start()
      : undefined;
    try {
      const result = await services.agents.spawn(plan, { signal: ctx.signal, createMessage: ctx.createMessage });
      heartbeat?.agentFinished();
      if (result.status === 'errored' || result.status === 'cancelled') {
        throw new AppError((result.error?.code ?? 'internal') as never, `${result.error?.message ?? 'the agent failed'} (trial ${result.trial_id}, spent ${usd(result.cost_usd)})`);
      }
      // A failed answer may carry why (a blocked prompt, a spent output budget): say it first.
      const why = result.error ? `\n${result.error.message}` : '';
      return { structured: { result }, text: `${agentHeadline(result)}${why}\n\n${result.text ?? ''}` };
    } finally {
      heartbeat?.stop();
    }
  },
});
