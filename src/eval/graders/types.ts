import type { Provider } from '../../providers/types.js';
import type { JsonSchemaCache } from './jsonSchemaCache.js';

export type GraderStatus = 'graded' | 'could_not_grade';

/**
 * What one grader says about one output. `status: 'could_not_grade'` (judge unreachable, judge
 * answered broken JSON) is not a failed output: `pass` and `score` are null then.
 */
export interface GraderResult {
  /** The grader type id, e.g. "json_schema" or "relevance". */
  type: string;
  pass: boolean | null;
  /** 0..1. */
  score: number | null;
  reason: string;
  status: GraderStatus;
  /** Whether this grader decides the trial's pass/fail. */
  required: boolean;
  /** Weight in the trial's weighted score. */
  weight: number;
  /** What the judge call cost (model graders, when the cost callback reported it). */
  costUsd?: number;
}

/** Facts about the call whose output is graded. */
export interface GraderContext {
  /** The task the output answers; model graders judge against it. */
  prompt: string;
  system?: string | undefined;
  /** The JSON Schema the call asked for, if any (becomes a default json_schema grader). */
  responseSchema?: Record<string, unknown> | undefined;
  /** Compiled-schema cache shared across calls; a fresh one is used when absent. */
  schemas?: JsonSchemaCache | undefined;
  /**
   * Work shared by the graders of one output (parsed JSON, normalised text), so a 100 KB answer
   * is parsed once, not once per JSON grader. gradeOutput sets it; graders ignore a memo made
   * for a different output.
   */
  memo?: OutputMemo | undefined;
}

export interface OutputMemo {
  output: string;
  values: Map<string, unknown>;
}

/** One judge request, reported so the caller can book it in the cost ledger. */
export interface JudgeCallInfo {
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  status: 'ok' | 'error';
  /** Which grader asked. */
  graderType: string;
}

/** Books a judge call; may return its cost in USD, which the grader puts on its result. */
export type JudgeCallCallback = (info: JudgeCallInfo) => number | void | undefined;

/** What model graders (LLM-as-judge) need. */
export interface JudgeDeps {
  provider: Provider;
  /** config.models.judge; a grader's own `model` overrides it. */
  judgeModel: string;
  onJudgeCall?: JudgeCallCallback | undefined;
  /** Aborting cancels in-flight judge calls (the grading then throws CancelledError). */
  signal?: AbortSignal | undefined;
  /** Literal secrets to scrub from reasons (config.secrets). */
  secrets?: readonly string[] | undefined;
}
