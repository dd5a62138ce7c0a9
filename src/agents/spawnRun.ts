import type { Clock } from '../clock.js';
import type { AgentsConfig } from '../configSlices.js';
import { AppError, BlockedError, CancelledError, ProviderError, TimeoutError, errorMessage, redactSecrets } from '../errors.js';
import { gradeOutput, type GradingOutcome } from '../eval/grading.js';
import { parseJsonOutput } from '../eval/graders/codeGraders.js';
import type { JsonSchemaCache } from '../eval/graders/jsonSchemaCache.js';
import type { JudgeDeps } from '../eval/graders/types.js';
import { newTrialId } from '../eval/trialStore.js';
import type { CreateMessage } from '../host.js';
import type { Logger } from '../logger.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { GenerateResult, ProviderId } from '../providers/types.js';
import { emptyAnswerReason } from './finishReason.js';
import { GuardedProvider, guardedGenerate, type GuardDeps } from './guardedCall.js';
import { selectModel, type ModelChoice } from './modelSelection.js';
import type { CostPort, NewTrialFields, ReserveRequest, TrialPort } from './ports.js';
import type { PreCheck, PreCheckInput } from './preCheck.js';
import { immuneReport, runPreChecks, untouched, type PreCheckOutcome } from './preCheckRunner.js';
import type { SpawnObservers } from './spawnObserver.js';
import { withPrompt, type SpawnPlan } from './spawnPlan.js';
import type { AgentResult } from './spawnSchema.js';

export interface RunContext {
  signal: AbortSignal;
  createMessage?: CreateMessage | undefined;
  /** Parallel batch this agent belongs to. */
  parentRunId?: string | undefined;
}

export interface SpawnRunDeps extends GuardDeps {
  config: AgentsConfig;
  clock: Clock;
  logger: Logger;
  providers: ProviderRegistry;
  healing: GuardDeps['healing'] & { isAvailable(provider: string, model: string): boolean };
  cost: CostPort;
  trials: TrialPort;
  schemas: JsonSchemaCache;
  preChecks: readonly PreCheck[];
  observers: SpawnObservers;
}

/** A graded answer from one model. */
interface Answer {
  result: GenerateResult;
  choice: ModelChoice;
  json: ReturnType<typeof parseJsonOutput> | undefined;
  grading: GradingOutcome;
}

type Outcome = Pick<AgentResult, 'status' | 'text' | 'json' | 'finish_reason' | 'model' | 'graders' | 'score' | 'grading_incomplete' | 'error'>;

/**
 * One agent call, start to end: check → choose → reserve → call → grade → escalate → finish.
 * Holds the call's running totals; never throws for what happens at the provider or in grading
 * (those end as an errored result).
 */
export class SpawnRun {
  private readonly trialId = newTrialId();
  private readonly started: number;
  /** timeout_ms bounds the whole call: every attempt, retry wait, escalation and judge. */
  private readonly deadline: number | undefined;
  private readonly batchId: string | null;
  private plan: SpawnPlan;
  private pre: PreCheckOutcome;
  private trialOpen = false;
  private costUsd = 0;
  private attempts = 0;
  private inputTokens = 0;
  private outputTokens = 0;
  private choice: ModelChoice | undefined;
  private escalated = false;

  constructor(
    private readonly deps: SpawnRunDeps,
    plan: SpawnPlan,
    private readonly ctx: RunContext,
  ) {
    this.plan = plan;
    this.pre = untouched(plan.spec.prompt, plan.spec.system);
    this.started = deps.clock.now();
    this.deadline = plan.timeoutMs === undefined ? undefined : this.started + plan.timeoutMs;
    this.batchId = ctx.parentRunId ?? null;
  }

  async execute(): Promise<AgentResult> {
    const { observers, clock } = this.deps;
    observers.onStart({ trialId: this.trialId, plan: this.plan, batchId: this.batchId, at: this.started });
    let result: AgentResult;
    try {
      await this.check();
      result = this.finish(await this.escalate(await this.answer(this.choose())));
    } catch (err) {
      result = this.fail(err);
    }
    // Outside the try: the trial is committed in its final state, and nothing an observer does
    // can turn this result into another.
    observers.onFinish({ trialId: this.trialId, plan: this.plan, result, preCheck: this.pre, batchId: this.batchId, at: clock.now() });
    return result;
  }

  /** Pre-checks, in order, before any money is reserved: they may rewrite, refuse, or give risk. */
  private async check(): Promise<void> {
    if (this.deps.preChecks.length === 0) return;
    this.pre = await runPreChecks(this.deps.preChecks, this.preCheckInput(), this.ctx.signal, this.deps.logger);
    if (this.pre.blocked) {
      throw new BlockedError(`${this.pre.blocked.by}: ${this.pre.blocked.reason}. Nothing was sent or spent.`, { pre_check: this.pre.blocked.by });
    }
    this.plan = withPrompt(this.plan, this.pre.prompt, this.pre.system);
  }

  /** The model for this call: the named one, or auto's pick among the tiers (from minTier up). */
  private choose(minTier?: number): ModelChoice {
    const { spec, provider, tiers, promptTokens, maxOutputTokens } = this.plan;
    if (spec.model !== 'auto' || spec.provider !== 'google_gemini') {
      return { model: tiers[0]!, tier: 0, kind: 'general', reason: spec.model === 'auto' ? `${provider.id} default model` : 'requested by the caller' };
    }
    const { healing, cost } = this.deps;
    return selectModel({
      prompt: this.pre.prompt,
      system: this.pre.system,
      promptTokens,
      hasSchema: spec.response_schema !== undefined,
      tiers,
      isAvailable: (model) => healing.isAvailable(provider.id, model),
      maxCostUsd: (model) => cost.estimateMaxCostUsd(provider.id, model, promptTokens, maxOutputTokens),
      remainingBudgetUsd: (model) => cost.remainingUsd(provider.id, model),
      failureRisk: this.pre.failureRisk,
      minTier,
    });
  }

  /** The trial's first write joins the first reservation's transaction: one commit, not two. */
  private reserve(request: ReserveRequest): { id: string } {
    const { trials, cost, atomic } = this.deps;
    if (this.trialOpen) return cost.reserve(request);
    const reservation = atomic(() => {
      trials.open(this.newTrial());
      return cost.reserve(request);
    });
    this.trialOpen = true;
    return reservation;
  }

  /** Calls the chosen model and grades what it answered. */
  private async answer(choice: ModelChoice): Promise<Answer> {
    this.choice = choice;
    const result = await this.call(choice);
    const json = this.plan.spec.response_schema ? parseJsonOutput(result.text) : undefined;
    return { result, choice, json, grading: await this.grade(result.text) };
  }

  /** One guarded call (reserve, retries, breaker, settle; see guardedGenerate), each request observed. */
  private async call(choice: ModelChoice): Promise<GenerateResult> {
    const { clock, config, observers } = this.deps;
    const { provider, spec, maxOutputTokens, promptTokens } = this.plan;
    const generation = (g: { model: string; output: string | null; inputTokens: number; outputTokens: number; costUsd: number; startedAt: number; attempt: number; error?: string }) =>
      observers.onGeneration({ trialId: this.trialId, provider: provider.id, input: this.pre.prompt, endedAt: clock.now(), modelReason: choice.reason, ...g });
    const guarded = await guardedGenerate(
      this.deps,
      provider,
      { model: choice.model, prompt: this.pre.prompt, system: this.pre.system, temperature: spec.temperature, maxOutputTokens, responseSchema: spec.response_schema },
      {
        booking: this.booking(),
        signal: this.ctx.signal,
        timeoutMs: config.agents.callTimeoutMs,
        deadline: this.deadline,
        promptTokens,
        reserve: (request) => this.reserve(request),
        onRequest: () => (this.attempts += 1),
        onAttemptFailed: ({ attempt, error, startedAt, costUsd }) => {
          // What failed requests cost (usually nothing; an empty but billed answer costs its tokens).
          this.costUsd += costUsd;
          const billed = error instanceof ProviderError ? error.billedUsage : undefined;
          generation({ model: choice.model, output: null, inputTokens: billed?.inputTokens ?? 0, outputTokens: billed?.outputTokens ?? 0, costUsd, startedAt, attempt, error: error.message });
        },
      },
    );
    const { result } = guarded;
    this.costUsd += guarded.costUsd;
    this.inputTokens += result.usage.inputTokens;
    this.outputTokens += result.usage.outputTokens;
    generation({
      model: result.model || choice.model,
      output: result.text,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      costUsd: guarded.costUsd,
      startedAt: guarded.startedAt,
      attempt: guarded.attempts,
    });
    return result;
  }

  /** Runs the graders (judges against the caller's task, not the rewritten prompt). */
  private async grade(text: string): Promise<GradingOutcome> {
    const { spec, graders } = this.plan;
    const grading = await gradeOutput(
      graders,
      text,
      { prompt: spec.prompt, system: spec.system, responseSchema: spec.response_schema, schemas: this.deps.schemas },
      await this.judge(text),
    );
    for (const r of grading.results) {
      if (r.score !== null) this.deps.observers.onScore({ trialId: this.trialId, grader: r.type, score: r.score, reason: r.reason });
    }
    return grading;
  }

  /** A failed grade on auto tries once more, a tier up; a failed escalation keeps the answer paid for. */
  private async escalate(first: Answer): Promise<Answer> {
    const up = this.escalation(first);
    if (up === undefined) return first;
    this.escalated = true;
    try {
      return await this.answer(up);
    } catch (err) {
      if (err instanceof CancelledError || this.ctx.signal.aborted) throw err;
      const code = err instanceof AppError ? err.code : 'internal';
      this.deps.logger.info(`escalation to ${up.model} failed (${code}); keeping the answer from ${first.choice.model}`, { trialId: this.trialId });
      this.escalated = false;
      return { ...first, choice: { ...first.choice, reason: `${first.choice.reason}; escalation to ${up.model} failed (${code})` } };
    }
  }

  private escalation(answer: Answer): ModelChoice | undefined {
    const { choice, grading } = answer;
    if (grading.passed || !this.plan.canEscalate || choice.tier >= this.plan.tiers.length - 1) return undefined;
    // Budget or breakers may pull the choice back down: escalate only to a higher tier, never
    // pay again for the tier that just failed.
    const up = this.choose(choice.tier + 1);
    if (up.tier > choice.tier) {
      this.deps.logger.info(`graders failed on ${choice.model}; escalating once to ${up.model}`, { trialId: this.trialId });
      return up;
    }
    this.deps.logger.info(`graders failed on ${choice.model}; not escalating: ${up.reason}`, { trialId: this.trialId });
    return undefined;
  }

  /** Stores the answer on the trial and builds the result from it. */
  private finish(answer: Answer): AgentResult {
    const { trials } = this.deps;
    const { result: call, json, grading } = answer;
    this.choice = answer.choice;
    const text = call.text;
    const model = call.model || answer.choice.model;
    const { finishReason } = call;
    // The graders can only see that the text is empty; the provider may have said why.
    const why = !grading.passed && text.trim() === '' ? emptyAnswerReason(finishReason, call.providerFinishReason) : undefined;
    trials.finish(
      this.trialId,
      {
        output: text,
        ...(json?.ok && { parsedJson: json.value }),
        finishReason,
        model,
        modelReason: answer.choice.reason,
        inputTokens: this.inputTokens,
        outputTokens: this.outputTokens,
        costUsd: this.costUsd,
        latencyMs: this.elapsed(),
        attempts: this.attempts,
        guardrails: this.pre.guardrails,
      },
      { results: grading.results, passed: grading.passed, score: grading.score, incomplete: grading.incomplete },
    );
    return this.result({
      status: grading.passed ? 'passed' : 'failed',
      text,
      json: json?.ok ? json.value : undefined,
      finish_reason: finishReason,
      model,
      graders: grading.results,
      score: grading.score,
      grading_incomplete: grading.incomplete ? true : undefined,
      error: why === undefined ? undefined : { code: 'provider_error', message: why },
    });
  }

  /** Ends the trial as errored (or cancelled) with what it spent. */
  private fail(err: unknown): AgentResult {
    const { trials, atomic, config } = this.deps;
    const { signal } = this.ctx;
    const cancelled = err instanceof CancelledError || signal.aborted;
    // Aborted by a batch timeout: say so (code timeout); any other abort is a plain cancel.
    const abortReason: unknown = signal.aborted ? signal.reason : undefined;
    const error = cancelled
      ? abortReason instanceof TimeoutError
        ? { code: 'timeout', message: abortReason.message }
        : { code: 'cancelled', message: 'The call was cancelled.' }
      : { code: err instanceof AppError ? err.code : 'internal', message: redactSecrets(errorMessage(err), config.secrets) };
    const model = this.choice?.model ?? null;
    atomic(() => {
      if (!this.trialOpen) trials.create(this.newTrial());
      trials.error(this.trialId, { code: error.code, message: error.message, costUsd: this.costUsd, attempts: this.attempts, latencyMs: this.elapsed(), model });
    });
    return this.result({ status: cancelled ? 'cancelled' : 'errored', text: null, json: undefined, model, graders: [], error });
  }

  private result(o: Outcome): AgentResult {
    return {
      trial_id: this.trialId,
      status: o.status,
      passed: o.status === 'passed',
      text: o.text,
      ...(o.json !== undefined && { json: o.json }),
      ...(o.finish_reason !== undefined && { finish_reason: o.finish_reason }),
      provider: this.plan.spec.provider,
      model: o.model,
      model_reason: this.choice?.reason ?? 'no model was called',
      escalated: this.escalated,
      attempts: this.attempts,
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      cost_usd: roundUsd(this.costUsd),
      latency_ms: this.elapsed(),
      graders: o.graders.map((g) => ({ type: g.type, pass: g.pass, score: g.score, reason: g.reason, status: g.status, required: g.required })),
      ...(o.score !== undefined && { score: o.score }),
      ...(o.grading_incomplete && { grading_incomplete: true as const }),
      ...(o.error && { error: o.error }),
      immune: immuneReport(this.pre),
    };
  }

  /** Judges run on Gemini when it is configured, else on the agent's own provider; guarded and pre-checked like the agent. */
  private async judge(judgedText: string): Promise<JudgeDeps> {
    const { config, providers, cost, preChecks, logger } = this.deps;
    const { spec } = this.plan;
    const inner = await providers.get(providers.isConfigured('google_gemini') ? 'google_gemini' : (spec.provider as ProviderId), this.ctx);
    const provider = new GuardedProvider(inner, this.deps, {
      booking: { ...this.booking(), tags: [...(spec.tags ?? []), 'judge'] },
      signal: this.ctx.signal,
      timeoutMs: config.agents.callTimeoutMs,
      deadline: this.deadline,
      maxOutputTokens: config.agents.defaultMaxOutputTokens,
      // The judged text may carry instructions aimed at the judge: pre-checks see it.
      ...(preChecks.length > 0 && {
        before: async (request) => {
          const input: PreCheckInput = {
            ...this.preCheckInput(),
            operation: 'judge',
            prompt: request.prompt,
            system: request.system,
            model: request.model,
            tiers: [request.model],
            responseSchema: request.responseSchema,
            maxOutputTokens: request.maxOutputTokens ?? config.agents.defaultMaxOutputTokens,
            judgedText,
          };
          const verdict = await runPreChecks(preChecks, input, this.ctx.signal, logger);
          this.pre.guardrails.push(...verdict.guardrails);
          if (verdict.blocked) throw new BlockedError(`${verdict.blocked.by}: ${verdict.blocked.reason}`, { pre_check: verdict.blocked.by });
          return { ...request, prompt: verdict.prompt, system: verdict.system };
        },
      }),
    });
    return {
      provider,
      judgeModel: inner.id === 'google_gemini' ? config.models.judge : this.plan.tiers[0]!,
      signal: this.ctx.signal,
      secrets: config.secrets,
      // The guarded provider has booked the call; this only adds its cost to the agent's total.
      onJudgeCall: (info) => {
        const usd = info.status === 'ok' ? cost.costOf(info.provider, info.model, info).usd : 0;
        this.costUsd += usd;
        return usd;
      },
    };
  }

  /** What an agent pre-check sees of this call. */
  private preCheckInput(): PreCheckInput {
    const { spec, tiers, graderSpecs, maxOutputTokens } = this.plan;
    return {
      operation: 'agent',
      prompt: spec.prompt,
      system: spec.system,
      provider: spec.provider,
      model: spec.model,
      tiers,
      responseSchema: spec.response_schema,
      graders: graderSpecs as unknown as PreCheckInput['graders'],
      maxOutputTokens,
      taskId: spec.task_id ?? null,
      tags: spec.tags ?? [],
    };
  }

  private newTrial(): NewTrialFields {
    const { spec } = this.plan;
    return {
      id: this.trialId,
      prompt: spec.prompt,
      processedPrompt: this.pre.prompt === spec.prompt ? null : this.pre.prompt,
      guardrails: this.pre.guardrails,
      system: spec.system ?? null,
      responseSchema: spec.response_schema ?? null,
      provider: spec.provider,
      taskId: spec.task_id ?? null,
      tags: spec.tags ?? [],
      parentRunId: this.batchId,
    };
  }

  private booking() {
    return { trialId: this.trialId, taskId: this.plan.spec.task_id ?? null, tags: this.plan.spec.tags ?? [] };
  }

  private elapsed(): number {
    return this.deps.clock.now() - this.started;
  }
}

export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
