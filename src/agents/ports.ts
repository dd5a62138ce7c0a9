import type { GraderResult } from '../eval/graders/types.js';

/**
 * What the agent pipeline needs from the cost ledger and the trial store, as narrow interfaces:
 * the pipeline is tested against the real stores, but depends on no more than this.
 */
export interface CostPort {
  estimateMaxCostUsd(provider: string, model: string, promptTokens: number, maxOutputTokens: number): number;
  costOf(provider: string, model: string, usage: { inputTokens: number; outputTokens: number }): { usd: number };
  /** USD a call to this model may still reserve under every budget that applies to it; undefined when none does. */
  remainingUsd(provider: string, model: string): number | undefined;
  reserve(req: ReserveRequest): { id: string };
  settle(reservationId: string, call: BookedCall): { cost_usd: number };
  release(reservationId: string): void;
  record(call: BookedCall & { provider: string; model: string }): { cost_usd: number };
}

export interface ReserveRequest {
  provider: string;
  model: string;
  maxCostUsd: number;
  trialId?: string;
  taskId?: number | null;
}

export interface BookedCall {
  inputTokens: number;
  outputTokens: number;
  status: 'ok' | 'error' | 'cancelled';
  trialId?: string | null;
  taskId?: number | null;
  tags?: string[];
}

/** A new trial's fields as the pipeline knows them at its first write. */
export interface NewTrialFields {
  id: string;
  prompt: string;
  /** The prompt as sent, when a pre-check rewrote it. */
  processedPrompt?: string | null;
  guardrails?: ReadonlyArray<{ id: string; kind: string; reason: string }>;
  system: string | null;
  responseSchema: Record<string, unknown> | null;
  provider: string;
  taskId: number | null;
  tags: string[];
  parentRunId: string | null;
}

/** The pipeline's writes to the trial store: few and lean, since they run for every agent call. */
export interface TrialPort {
  /** A trial that never reached a provider (refused before its first request). */
  create(t: NewTrialFields): unknown;
  /** A trial whose first request is about to go out: it starts as running. */
  open(t: NewTrialFields): void;
  /** The graded answer: completed and graded at once. */
  finish(
    id: string,
    r: {
      output: string;
      parsedJson?: unknown;
      finishReason: string;
      model: string;
      modelReason: string;
      inputTokens: number;
      outputTokens: number;
      costUsd: number;
      latencyMs: number;
      attempts: number;
      /** Every guardrail applied by then (judge pre-checks add theirs after the trial was created). */
      guardrails?: ReadonlyArray<{ id: string; kind: string; reason: string }>;
    },
    grading: { results: readonly GraderResult[]; passed: boolean; score?: number | null; incomplete?: boolean },
  ): void;
  error(id: string, e: { code: string; message: string; costUsd: number; attempts: number; latencyMs: number; model: string | null }): unknown;
}

/** What the pipeline needs of the user's task list: whether a task_id names a task. */
export interface TaskLookup {
  exists(id: number): boolean;
}
