import { setMaxListeners } from 'node:events';
import { TimeoutError } from '../errors.js';
import type { AgentService, RunContext } from './agentService.js';
import { roundUsd } from './agentService.js';
import type { AgentResult, AgentSpec } from './spawnSchema.js';
import { isSpawnPlan, type SpawnPlan } from './spawnPlan.js';

export type ParallelMode = 'all' | 'first_success' | 'best_score';

export interface ParallelOptions {
  maxConcurrency: number;
  mode: ParallelMode;
  /** Epoch ms by which the whole batch must end; agents still running then are cancelled. */
  deadline?: number | undefined;
  parentRunId?: string | undefined;
  /** Called after each agent finishes, with all results so far (for progress and partial results). */
  onAgentDone?: (index: number, result: BatchResult, done: number) => void;
}

/** An agent's result in a batch; trial_id is null for one that never started (batch cancelled, winner found, refused). */
export type BatchResult = Omit<AgentResult, 'trial_id'> & { trial_id: string | null };
export type ParallelEntry = BatchResult & { index: number };

export interface ParallelOutcome {
  mode: ParallelMode;
  results: ParallelEntry[];
  /** first_success: the first agent that passed; best_score: the passing agent with the best score. */
  winner_index: number | null;
  totals: { agents: number; passed: number; failed: number; errored: number; cancelled: number; cost_usd: number; wall_ms: number };
}

/** Rank in best_score mode: the weighted grader score (see gradeOutput); a pass without scores counts as 1. */
function scoreOf(r: BatchResult): number {
  return r.score ?? (r.passed ? 1 : 0);
}

/**
 * Runs agents with at most `maxConcurrency` in flight. One agent's failure never fails the
 * others; results come back in input order. first_success cancels the rest once one passes.
 */
export async function runParallel(
  service: AgentService,
  /** Specs, or plans already resolved (see AgentService.plan). */
  specs: ReadonlyArray<AgentSpec | SpawnPlan>,
  opts: ParallelOptions,
  ctx: Omit<RunContext, 'parentRunId'>,
  now: () => number,
): Promise<ParallelOutcome> {
  const started = now();
  const batch = new AbortController();
  // Every in-flight agent listens on the batch signal (several layers each): not a leak.
  setMaxListeners(Math.max(10, opts.maxConcurrency * 4 + 10), batch.signal);
  const onParentAbort = () => batch.abort(ctx.signal.reason);
  if (ctx.signal.aborted) onParentAbort();
  else ctx.signal.addEventListener('abort', onParentAbort, { once: true });
  let deadlineTimer: NodeJS.Timeout | undefined;
  if (opts.deadline !== undefined) {
    // The one mechanism for a batch timeout (agents get no deadline of their own, so the outcome
    // never depends on which of two timers fires first): still-running agents end as cancelled.
    const ms = Math.max(0, opts.deadline - now());
    deadlineTimer = setTimeout(() => batch.abort(new TimeoutError(`The batch timeout (${ms} ms) passed before this agent finished.`)), ms);
  }

  const results: Array<ParallelEntry | undefined> = new Array(specs.length);
  let next = 0;
  let done = 0;
  let winner: number | null = null;

  const runOne = async (index: number): Promise<void> => {
    const call = specs[index]!;
    const spec = isSpawnPlan(call) ? call.spec : call;
    const result = batch.signal.aborted
      ? cancelledResult(spec)
      : await service.spawn(call, { ...ctx, signal: batch.signal, parentRunId: opts.parentRunId }).catch(
          (err: unknown): BatchResult => errorResult(spec, err),
        );
    results[index] = { index, ...result };
    done += 1;
    if (opts.mode === 'first_success' && result.passed && winner === null) {
      winner = index;
      batch.abort(new Error('first_success: another agent already passed'));
    }
    opts.onAgentDone?.(index, result, done);
  };

  const worker = async () => {
    while (next < specs.length) {
      const index = next++;
      await runOne(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.maxConcurrency, specs.length) }, worker));
  clearTimeout(deadlineTimer);
  ctx.signal.removeEventListener('abort', onParentAbort);

  const final = results as ParallelEntry[];
  if (opts.mode === 'best_score') {
    let best = -1;
    for (const r of final) if (r.passed && scoreOf(r) > best) (best = scoreOf(r)), (winner = r.index);
  }
  const count = (status: AgentResult['status']) => final.filter((r) => r.status === status).length;
  return {
    mode: opts.mode,
    results: final,
    winner_index: winner,
    totals: {
      agents: final.length,
      passed: count('passed'),
      failed: count('failed'),
      errored: count('errored'),
      cancelled: count('cancelled'),
      cost_usd: roundUsd(final.reduce((sum, r) => sum + r.cost_usd, 0)),
      wall_ms: now() - started,
    },
  };
}

function emptyResult(spec: AgentSpec, status: AgentResult['status'], error: { code: string; message: string }): BatchResult {
  return {
    trial_id: null,
    status,
    passed: false,
    text: null,
    provider: spec.provider,
    model: null,
    model_reason: 'not run',
    escalated: false,
    attempts: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    latency_ms: 0,
    graders: [],
    error,
    immune: { action: 'proceed', risk_score: null, matched_patterns: [], guardrails: [] },
  };
}

function cancelledResult(spec: AgentSpec): BatchResult {
  return emptyResult(spec, 'cancelled', { code: 'cancelled', message: 'Not started: the batch was cancelled or already had its winner.' });
}

/** An agent whose input or configuration was refused before it ran (e.g. a bad grader spec). */
function errorResult(spec: AgentSpec, err: unknown): BatchResult {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'internal';
  return emptyResult(spec, 'errored', { code, message: err instanceof Error ? err.message : String(err) });
}
