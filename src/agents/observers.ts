import { errorMessage } from '../errors.js';
import type { EventBus, TrialFinishedEvent } from '../events.js';
import type { Logger } from '../logger.js';
import type { SpawnTrace, SpawnTracer } from '../tracing/types.js';
import type { SpawnFinished, SpawnObserver } from './spawnObserver.js';

/** The built-in observers: tracing (Langfuse), durability (fsync) and the trial.finished event. */

/** One trace per call, one generation per provider request, grader scores on it. */
export function tracingObserver(tracer: SpawnTracer): SpawnObserver {
  const traces = new Map<string, SpawnTrace>();
  return {
    onStart({ trialId, plan, batchId }) {
      const { spec } = plan;
      traces.set(
        trialId,
        tracer.startSpawn({
          trialId,
          name: 'spawn_agent',
          prompt: spec.prompt,
          ...(spec.system !== undefined && { system: spec.system }),
          tags: spec.tags ?? [],
          taskId: spec.task_id ?? null,
          parentRunId: batchId,
        }),
      );
    },
    onGeneration({ trialId, ...g }) {
      traces.get(trialId)?.generation({ ...g, error: g.error ?? null });
    },
    onScore({ trialId, grader, score, reason }) {
      traces.get(trialId)?.score(grader, score, reason);
    },
    onFinish({ trialId, result }) {
      traces.get(trialId)?.end({ status: result.status, output: result.text, costUsd: result.cost_usd, latencyMs: result.latency_ms });
      traces.delete(trialId);
    },
  };
}

/**
 * Starts an fsync of what the call wrote without waiting for it (group commit): a long
 * background run keeps its ledger on disk as it goes; the server waits before any tool answers.
 */
export function durabilityObserver(walSync: { sync(): Promise<void> }, logger: Logger): SpawnObserver {
  return {
    onFinish() {
      walSync.sync().catch((err: unknown) => logger.error('could not fsync the database', { error: errorMessage(err) }));
    },
  };
}

/** Announces every finished call on the bus (the bus keeps a failing listener away from the call). */
export function trialEventsObserver(events: EventBus): SpawnObserver {
  return { onFinish: (e) => void events.emit('trial.finished', trialFinishedEvent(e)) };
}

export function trialFinishedEvent({ trialId, plan, result, preCheck, batchId, at }: SpawnFinished): TrialFinishedEvent {
  const { spec } = plan;
  return {
    trialId,
    status: result.status,
    operation: 'agent',
    provider: result.provider,
    model: result.model ?? '',
    modelReason: result.model_reason,
    escalated: result.escalated,
    prompt: spec.prompt,
    processedPrompt: preCheck.prompt,
    system: spec.system ?? null,
    hasSystem: spec.system !== undefined,
    hasResponseSchema: spec.response_schema !== undefined,
    output: result.text,
    finishReason: result.finish_reason ?? null,
    error: result.error ?? null,
    attempts: result.attempts,
    inputTokens: result.input_tokens,
    outputTokens: result.output_tokens,
    costUsd: result.cost_usd,
    latencyMs: result.latency_ms,
    taskId: spec.task_id ?? null,
    tags: spec.tags ?? [],
    batchId,
    graderSpecs: plan.graderSpecs as unknown as TrialFinishedEvent['graderSpecs'],
    graderResults: result.graders.map((g) => ({ type: g.type, pass: g.pass, score: g.score, reason: g.reason, required: g.required, status: g.status })),
    guardrails: preCheck.guardrails,
    at,
  };
}
