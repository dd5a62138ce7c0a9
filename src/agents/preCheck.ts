import type { AppliedGuardrail } from '../events.js';

/**
 * The pre-call seam: every agent and judge call asks each registered pre-check before any money is
 * reserved. The immune system (guardrails, learned routing) and the failure predictor (risk per
 * model) plug in here; the pipeline knows only this file.
 */
export interface PreCheckInput {
  operation: 'agent' | 'judge';
  /** The prompt as the previous pre-check left it (the caller's, for the first). */
  prompt: string;
  system: string | undefined;
  provider: string;
  /** "auto" or the model the caller named. */
  model: string;
  /** The models the call may use, cheapest first. */
  tiers: readonly string[];
  responseSchema: Record<string, unknown> | undefined;
  /** The grader specs the call will be judged by (the defaults when the caller gave none). */
  graders: ReadonlyArray<{ type: string } & Record<string, unknown>>;
  maxOutputTokens: number;
  taskId: number | null;
  tags: readonly string[];
  /** Text the call will judge (judges only): checked for injected instructions. */
  judgedText?: string | undefined;
}

/** One change a rewrite made, and why. */
export interface PromptChange extends AppliedGuardrail {
  kind: 'rewrite' | 'reask';
  /** What changed: the prompt, the system text, or both. */
  target: 'prompt' | 'system';
}

/** A remembered failure pattern the input resembled. */
export interface MatchedPattern {
  id: string;
  similarity: number;
}

interface VerdictCommon {
  /** 0..1: how likely this call is to fail as asked; absent when nothing could say. */
  riskScore?: number | undefined;
  /** Failure risk of each candidate model, used by model selection; undefined = unknown. */
  failureRisk?: ((model: string) => number | undefined) | undefined;
  matchedPatterns?: MatchedPattern[] | undefined;
  /** Guardrails that only logged or routed (a rewrite's changes are listed on it). */
  guardrails?: AppliedGuardrail[] | undefined;
}

export type PreCheckVerdict =
  | (VerdictCommon & { action: 'proceed' })
  | (VerdictCommon & { action: 'rewrite'; prompt?: string | undefined; system?: string | undefined; changes: PromptChange[] })
  | (VerdictCommon & { action: 'refuse'; reason: string; guardrail: AppliedGuardrail });

export interface PreCheck {
  /** Stable id, shown in results and logs (e.g. "immune", "failure_predictor"). */
  readonly id: string;
  check(input: PreCheckInput, ctx: { signal: AbortSignal }): PreCheckVerdict | Promise<PreCheckVerdict>;
}
