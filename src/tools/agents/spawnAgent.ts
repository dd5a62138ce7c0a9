import { z } from 'zod';
import { ProgressHeartbeat } from '../progress.js';
import { agentResultSchema, agentSpecSchema } from '../../agents/spawnSchema.js';
import { AppError } from '../../errors.js';
import { runDetachable } from '../../runs/detach.js';
import { defineTool } from '../types.js';
import { agentText, pollHint, usd } from './format.js';

export const spawnAgent = defineTool({
  name: 'spawn_agent',
  title: 'Spawn agent',
  description:
    'Delegate a sub-task to another model; returns the graded answer, model, cost. background: a run_id for agent_result.',
  set: 'core',
  inputSchema: agentSpecSchema.extend({ background: z.boolean().default(false) }),
  outputSchema: z.object({ result: agentResultSchema.optional(), run_id: z.string().optional(), status: z.literal('running').optional() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, services, ctx) {
    const { background, ...spec } = args;
    const plan = await services.agents.plan(spec, ctx);
    if (background) {
      const runId = services.runs.start('spawn_agent', (signal) => services.agents.spawn(plan, { signal, createMessage: ctx.createMessage }));
      return { structured: { run_id: runId }, text: `Started in the background: ${runId}. Poll agent_result with this run_id.` };
    }
    const { detachAfterMs, progressIntervalMs } = services.config.agents;
    const heartbeat = ctx.wantsProgress ? new ProgressHeartbeat(ctx.reportProgress, 1, progressIntervalMs, () => 'agent running').start() : undefined;
    try {
      const outcome = await runDetachable(services.runs, { kind: 'spawn_agent', afterMs: detachAfterMs, signal: ctx.signal }, (signal) =>
        services.agents.spawn(plan, { signal, createMessage: ctx.createMessage }),
      );
      if (outcome.detached) {
        const text = `Still running after ${detachAfterMs / 1000} s: it goes on as background run ${outcome.runId}. ${pollHint(outcome.runId)}`;
        return { structured: { run_id: outcome.runId, status: 'running' as const }, text };
      }
      const result = outcome.value;
      heartbeat?.agentFinished();
      if (result.status === 'errored' || result.status === 'cancelled') {
        throw new AppError((result.error?.code ?? 'internal') as never, `${result.error?.message ?? 'the agent failed'} (trial ${result.trial_id}, spent ${usd(result.cost_usd)})`);
      }
      return { structured: { result }, text: agentText(result) };
    } finally {
      heartbeat?.stop();
    }
  },
});
