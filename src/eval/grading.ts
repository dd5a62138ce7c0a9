import { CancelledError, errorMessage } from '../errors.js';
import { codeGraders, couldNotGrade, createOutputMemo } from './graders/codeGraders.js';
import { JsonSchemaCache } from './graders/jsonSchemaCache.js';
import { modelGraders } from './graders/modelGraders.js';
import { isModelGraderSpec, type GraderSpec, type ModelGraderSpec } from './graders/specs.js';
import type { GraderContext, GraderResult, JudgeDeps } from './graders/types.js';

/**
 * How a set of grader results becomes one verdict:
 * - `passed`: every required grader that could grade passed (and the weighted score reached
 *   `passThreshold`, when one is given).
 * - A required grader that could not grade (judge unreachable, broken judge JSON) does NOT fail
 *   the trial — a flaky judge is not a bad answer — but the outcome says `incomplete: true` and
 *   lists it, so callers and exports can tell "passed" from "passed, partly ungraded".
 * - `score`: the weight-weighted mean of the scores of every grader that graded (required or
 *   not); null when none graded.
 */
export interface GradingOutcome {
  results: GraderResult[];
  passed: boolean;
  score: number | null;
  /** Some required grader could not grade; `passed` rests on the others. */
  incomplete: boolean;
  /** Judge spend reported through onJudgeCall, summed. */
  costUsd: number;
  /** One line for humans and the calling model. */
  summary: string;
}

export interface GradingOptions {
  /** Also require the weighted score to reach this (0..1). */
  passThreshold?: number | undefined;
}

/** When the caller names no graders: non_empty, plus json_schema when the call asked for one. */
export function defaultGraderSpecs(ctx: Pick<GraderContext, 'responseSchema'>): GraderSpec[] {
  const specs: GraderSpec[] = [{ type: 'non_empty', required: true, weight: 1 }];
  if (ctx.responseSchema) specs.push({ type: 'json_schema', schema: ctx.responseSchema, required: true, weight: 1 });
  return specs;
}

/**
 * Runs the graders on one output: code graders synchronously, model graders concurrently.
 * Results keep the order of `specs`; no specs means defaultGraderSpecs(ctx). `judge` is needed
 * only by model graders (without it they report could_not_grade). Throws only CancelledError
 * (when judge.signal aborts).
 */
export async function gradeOutput(
  specs: readonly GraderSpec[] | undefined,
  output: string,
  ctx: GraderContext,
  judge?: JudgeDeps | undefined,
  options: GradingOptions = {},
): Promise<GradingOutcome> {
  const list = specs && specs.length > 0 ? specs : defaultGraderSpecs(ctx);
  const context: GraderContext = { ...ctx, schemas: ctx.schemas ?? new JsonSchemaCache(), memo: createOutputMemo(output) };
  const slots: Array<GraderResult | Promise<GraderResult>> = list.map((spec) => {
    if (isModelGraderSpec(spec)) return runModelGrader(spec, output, context, judge);
    try {
      return runCodeGrader(spec, output, context);
    } catch (err) {
      return couldNotGrade(spec, `The ${spec.type} grader failed unexpectedly: ${errorMessage(err).slice(0, 200)}`);
    }
  });
  const results = await Promise.all(slots);
  return summarise(results, options);
}

function runCodeGrader(spec: Exclude<GraderSpec, ModelGraderSpec>, output: string, ctx: GraderContext): GraderResult {
  switch (spec.type) {
    case 'non_empty':
    case 'json_valid':
      return codeGraders[spec.type](output, spec, ctx);
    case 'json_schema':
      return codeGraders.json_schema(output, spec, ctx);
    case 'regex':
      return codeGraders.regex(output, spec, ctx);
    case 'length':
      return codeGraders.length(output, spec, ctx);
    case 'contains':
    case 'not_contains':
      return codeGraders[spec.type](output, spec, ctx);
  }
}

async function runModelGrader(spec: ModelGraderSpec, output: string, ctx: GraderContext, judge: JudgeDeps | undefined): Promise<GraderResult> {
  if (!judge) return couldNotGrade(spec, `No judge model provider is configured, so the ${spec.type} grader could not run.`);
  try {
    return await modelGraders[spec.type](output, spec, ctx, judge);
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return couldNotGrade(spec, `The ${spec.type} grader failed unexpectedly: ${errorMessage(err).slice(0, 200)}`);
  }
}

/** Applies the pass rules documented on GradingOutcome. */
export function summarise(results: GraderResult[], options: GradingOptions = {}): GradingOutcome {
  let weighted = 0;
  let weights = 0;
  let costUsd = 0;
  const failedRequired: GraderResult[] = [];
  const ungradedRequired: GraderResult[] = [];
  for (const r of results) {
    if (r.costUsd !== undefined) costUsd += r.costUsd;
    if (r.status === 'graded' && r.score !== null) {
      weighted += r.score * r.weight;
      weights += r.weight;
    }
    if (!r.required) continue;
    if (r.status === 'could_not_grade') ungradedRequired.push(r);
    else if (r.pass === false) failedRequired.push(r);
  }
  const score = weights > 0 ? Math.round((weighted / weights) * 10_000) / 10_000 : null;
  const belowThreshold = options.passThreshold !== undefined && score !== null && score < options.passThreshold;
  const passed = failedRequired.length === 0 && !belowThreshold;
  const incomplete = ungradedRequired.length > 0;

  const graded = results.filter((r) => r.status === 'graded');
  const passedCount = graded.filter((r) => r.pass === true).length;
  let summary = `${passed ? 'passed' : 'failed'}: ${passedCount}/${graded.length} graders passed`;
  if (score !== null) summary += `, score ${score}`;
  if (belowThreshold) summary += ` (below pass_threshold ${options.passThreshold})`;
  if (failedRequired.length > 0) summary += `; failed: ${failedRequired.map((r) => r.type).join(', ')}`;
  if (incomplete) summary += `; could not grade: ${ungradedRequired.map((r) => r.type).join(', ')}`;
  return { results, passed, score, incomplete, costUsd, summary };
}
