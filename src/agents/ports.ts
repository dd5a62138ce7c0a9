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

export interface TrialPort {
  create(t: {
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
  }): { id: string };
  markRunning(id: string): unknown;
  complete(
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
  ): unknown;
  grade(id: string, results: readonly GraderResult[], passed: boolean, update?: { score?: number | null; incomplete?: boolean }): unknown;
  error(id: string, e: { code: string; message: string; costUsd: number; attempts: number; latencyMs: number; model: string | null }): unknown;
}
