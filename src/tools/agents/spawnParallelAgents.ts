import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { runParallel, type ParallelOutcome } from '../../agents/parallel.js';
import type { SpawnPlan } from '../../agents/spawnPlan.js';
import { ProgressHeartbeat } from '../progress.js';
import { agentResultSchema, agentSpecSchema } from '../../agents/spawnSchema.js';
import { listAs } from '../../schemaListing.js';
import { defineTool, type ToolContext, type ToolServices } from '../types.js';
import { AppError } from '../../errors.js';
import { runDetachable } from '../../runs/detach.js';
import { agentLines, batchSummary, pollHint, usd } from './format.js';

const MAX_BATCH_CHARS = 4_000_000;

const inputSchema = z.object({
  agents: z
    .array(listAs(agentSpecSchema, { type: 'object', description: 'spawn_agent arguments (no background)', required: ['prompt'] }))
    .min(1)
    .max(100)
    // Keeps every valid batch inside one stdin message (MAX_MESSAGE_BYTES, even fully escaped).
    .refine((agents) => agents.reduce((n, a) => n + a.prompt.length + (a.system?.length ?? 0), 0) <= MAX_BATCH_CHARS, {
      // Not toLocaleString: Intl's first use costs ~10 ms, at start-up here.
      message: 'prompts and system texts together must be at most 4,000,000 characters; split the batch',
    }),
  max_concurrency: z.number().int().min(1).max(100).optional(),
  mode: z.enum(['all', 'first_success', 'best_score']).default('all'),
  timeout_ms: z.number().int().min(1_000).max(3_600_000).optional().describe('For the whole batch'),
  background: z.boolean().default(false),
});

export const parallelOutcomeSchema = z.object({
  /** Every agent's trial carries it as parent_run_id (trials_list parent_run_id=...). */
  batch_id: z.string(),
  mode: z.enum(['all', 'first_success', 'best_score']),
  results: z.array(agentResultSchema.extend({ index: z.number().int(), trial_id: z.string().nullable() })),
  winner_index: z.number().int().nullable(),
  totals: z.object({
    agents: z.number().int(),
    passed: z.number().int(),
    failed: z.number().int(),
    errored: z.number().int(),
    cancelled: z.number().int(),
    cost_usd: z.number(),
    wall_ms: z.number(),
  }),
});

async function run(
  args: z.output<typeof inputSchema>,
  plans: readonly SpawnPlan[],
  services: ToolServices,
  ctx: Pick<ToolContext, 'createMessage' | 'reportProgress' | 'wantsProgress'>,
  signal: AbortSignal,
  batchId: string,
  onPartial?: (p: unknown) => void,
): Promise<ParallelOutcome & { batch_id: string }> {
  const { clock, config } = services;
  const total = args.agents.length;
  let spent = 0;
  let finished = 0;
  const heartbeat = ctx.wantsProgress
    ? new ProgressHeartbeat(ctx.reportProgress, total, config.agents.progressIntervalMs, () => `${finished}/${total} agents done, ${usd(spent)} spent`).start()
    : undefined;
  const partial: unknown[] = [];
  try {
    const outcome = await runParallel(
      services.agents,
      plans,
      {
        maxConcurrency: args.max_concurrency ?? config.agents.defaultMaxConcurrency,
        mode: args.mode,
        deadline: args.timeout_ms !== undefined ? clock.now() + args.timeout_ms : undefined,
        parentRunId: batchId,
        onAgentDone: (index, result, done) => {
          finished = done;
          spent += result.cost_usd;
          heartbeat?.agentFinished();
          if (onPartial) {
            partial.push({ index, ...result });
            onPartial(partial);
          }
        },
      },
      { signal, createMessage: ctx.createMessage },
      () => clock.now(),
    );
    return { batch_id: batchId, ...outcome };
  } finally {
    heartbeat?.stop();
  }
}

export const spawnParallelAgents = defineTool({
  name: 'spawn_parallel_agents',
  title: 'Spawn parallel agents',
  description:
    'Run 1-100 spawn_agent calls, max_concurrency at a time; results in input order with their status. first_success stops at the first pass; best_score picks the best-scoring pass.',
  set: 'core',
  inputSchema,
  outputSchema: z.object({
    outcome: parallelOutcomeSchema.optional(),
    run_id: z.string().optional(),
    /** Set when the batch outlived TASK_ORCHESTRATOR_DETACH_AFTER_MS and went on in the background. */
    status: z.literal('running').optional(),
    partial: z.unknown().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(args, services, ctx) {
    // Every agent is checked before any runs: a bad spec in agent 7 must not leave 0-6 paid for.
    const plans: SpawnPlan[] = [];
    for (const [i, spec] of args.agents.entries()) {
      try {
        plans.push(await services.agents.plan(spec, ctx));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        throw new AppError(err.code, `agents.${i}: ${err.message}`, { retryable: err.retryable, details: { ...err.details, agent_index: i } });
      }
    }
    if (args.background) {
      const runId = services.runs.start('spawn_parallel_agents', (signal, reportPartial, id) =>
        run(args, plans, services, { ...ctx, wantsProgress: false }, signal, id, reportPartial),
      );
      return { structured: { run_id: runId }, text: `Started ${args.agents.length} agents in the background: ${runId}. Poll agent_result.` };
    }
    const { detachAfterMs } = services.config.agents;
    // Progress goes to the client only while it waits: a detached batch reports to its run row.
    let waiting = true;
    const progress = { ...ctx, reportProgress: (...a: Parameters<ToolContext['reportProgress']>) => (waiting ? ctx.reportProgress(...a) : Promise.resolve()) };
    const result = await runDetachable(services.runs, { kind: 'spawn_parallel_agents', afterMs: detachAfterMs, signal: ctx.signal }, (signal, reportPartial) =>
      run(args, plans, services, progress, signal, `batch_${randomUUID()}`, reportPartial),
    );
    waiting = false;
    if (!result.detached) return { structured: { outcome: result.value }, text: batchSummary(result.value) };
    const finished = Array.isArray(result.partial) ? (result.partial as Parameters<typeof agentLines>[0]) : [];
    const text = [
      `Still running after ${detachAfterMs / 1000} s: ${finished.length} of ${args.agents.length} agents finished; the batch goes on as background run ${result.runId}. ${pollHint(result.runId)}`,
      ...agentLines(finished),
    ].join('\n');
    return { structured: { run_id: result.runId, status: 'running' as const, partial: result.partial }, text };
  },
});
