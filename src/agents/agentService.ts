import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { AppError, BlockedError, CancelledError, InvalidInputError, ProviderError, TimeoutError, errorMessage, redactSecrets } from '../errors.js';
import type { EventBus } from '../events.js';
import { gradeOutput } from '../eval/grading.js';
import { parseJsonOutput } from '../eval/graders/codeGraders.js';
import { JsonSchemaCache } from '../eval/graders/jsonSchemaCache.js';
import { parseGraderSpecs, type GraderSpec } from '../eval/graders/specs.js';
import type { GraderResult } from '../eval/graders/types.js';
import type { Logger } from '../logger.js';
import type { CreateMessage } from '../host.js';
import { estimateTokens } from '../tokenEstimate.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { FinishReason, GenerateResult, Provider, ProviderId } from '../providers/types.js';
import type { HealingService } from '../resilience/healingService.js';
import type { SpawnTrace, SpawnTracer } from '../tracing/spawnTracer.js';
import { GuardedProvider, guardedGenerate } from './guardedCall.js';
import type { CostPort, ReserveRequest, TrialPort } from './ports.js';
import { newTrialId } from '../eval/trialStore.js';
import { emptyAnswerReason } from './finishReason.js';
import { selectModel, type ModelChoice } from './modelSelection.js';
import type { AgentResult, AgentSpec } from './spawnSchema.js';

import type { PreCheck, PreCheckInput } from './preCheck.js';
import { immuneReport, runPreChecks, untouched, type PreCheckOutcome } from './preCheckRunner.js';
import { defaultGraderSpecs } from '../eval/grading.js';

export interface AgentServiceDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  providers: ProviderRegistry;
  healing: HealingService;
  cost: CostPort;
  trials: TrialPort;
  tracer: SpawnTracer;
  /** Runs `fn` in one immediate transaction (nested calls become savepoints); see runAtomic. */
  atomic: <T>(fn: () => T) => T;
  /**
   * Makes committed writes durable (see WalSync). The pipeline asks after each agent without
   * waiting, so a long background run keeps its ledger on disk as it goes; the server waits for
   * it before any tool answers.
   */
  walSync: { sync(): Promise<void> };
  preChecks?: readonly PreCheck[];
}

export interface RunContext {
  signal: AbortSignal;
  createMessage?: CreateMessage | undefined;
  /** Parallel batch this agent belongs to. */
  parentRunId?: string | undefined;
}

interface ModelCall {
  result: GenerateResult;
  costUsd: number;
  attempts: number;
}

/** A graded answer from one model. */
interface Answer {
  call: ModelCall;
  text: string;
  json: ReturnType<typeof parseJsonOutput> | undefined;
  grading: Awaited<ReturnType<typeof gradeOutput>>;
  choice: ModelChoice;
}

interface ResultFields {
  status: AgentResult['status'];
  text: string | null;
  json: unknown;
  /** How the answer that is returned ended; absent when no answer came. */
  finishReason?: FinishReason | undefined;
  model: string | null;
  choice: ModelChoice | undefined;
  escalated: boolean;
  attempts: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
  graders: GraderResult[];
  score?: number | null | undefined;
  gradingIncomplete?: boolean | undefined;
  error?: { code: string; message: string } | undefined;
  preCheck: PreCheckOutcome;
}

/** The one pipeline every agent call runs through. */
export class AgentService {
  /** Compiled JSON Schemas, shared by every call: compiling costs milliseconds, validating microseconds. */
  private readonly schemas = new JsonSchemaCache();

  constructor(private readonly deps: AgentServiceDeps) {}

  /** Validates what can be validated before anything runs (grader specs, provider config). */
  async prepare(spec: AgentSpec, ctx: Pick<RunContext, 'createMessage'>): Promise<{ graders: GraderSpec[] | undefined; provider: Provider }> {
    const graders = this.resolveGraders(spec);
    // The default json_schema grader would only find out after the call was paid for.
    if (spec.response_schema) this.schemas.compile(spec.response_schema, 'response_schema');
    const provider = await this.deps.providers.get(spec.provider as ProviderId, ctx);
    if (spec.provider === 'openai_compatible' && spec.model === 'auto' && !this.deps.config.openai.defaultModel) {
      throw new InvalidInputError('model "auto" with provider openai_compatible needs OPENAI_MODEL set on the server; or pass model explicitly.');
    }
    return { graders, provider };
  }

  /**
   * Runs one agent end to end. Never throws for what happens at the provider or in grading:
   * those end as a result with status "errored"; invalid input and missing configuration throw.
   */
  async spawn(spec: AgentSpec, ctx: RunContext): Promise<AgentResult> {
    const { graders, provider } = await this.prepare(spec, ctx);
    const { clock, trials, config, atomic } = this.deps;
    const started = clock.now();
    // timeout_ms bounds the whole call: every attempt, retry wait, escalation and judge.
    const deadline = spec.timeout_ms === undefined ? undefined : started + spec.timeout_ms;
    const tags = spec.tags ?? [];
    const trial = { id: newTrialId() };
    let pre = untouched(spec.prompt, spec.system);
    /** The spec as it is sent: the caller's, with the pre-checks' rewrites. */
    let sent = spec;
    const newTrial = {
      id: trial.id,
      prompt: spec.prompt,
      processedPrompt: null as string | null,
      guardrails: [] as PreCheckOutcome['guardrails'],
      system: spec.system ?? null,
      responseSchema: spec.response_schema ?? null,
      provider: spec.provider,
      taskId: spec.task_id ?? null,
      tags,
      parentRunId: ctx.parentRunId ?? null,
    };
    // The trial's first write joins the first reservation's transaction: one commit, not two.
    let trialOpen = false;
    const reserve = (request: ReserveRequest) => {
      if (trialOpen) return this.deps.cost.reserve(request);
      const reservation = atomic(() => {
        trials.create(newTrial);
        trials.markRunning(trial.id);
        return this.deps.cost.reserve(request);
      });
      trialOpen = true;
      return reservation;
    };
    const trace = this.deps.tracer.startSpawn({
      trialId: trial.id,
      name: 'spawn_agent',
      prompt: spec.prompt,
      ...(spec.system !== undefined && { system: spec.system }),
      tags,
      taskId: spec.task_id ?? null,
      parentRunId: ctx.parentRunId ?? null,
    });

    let totalCost = 0;
    let attempts = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    let choice: ModelChoice | undefined;
    let escalated = false;
    /** Builds the result from the call's running totals, ends the trace and announces the trial. */
    const conclude = (outcome: Pick<ResultFields, 'status' | 'text' | 'json' | 'finishReason' | 'model' | 'graders' | 'score' | 'gradingIncomplete' | 'error'>): AgentResult => {
      const result = this.result(trial.id, spec, {
        ...outcome,
        preCheck: pre,
        choice,
        escalated,
        attempts,
        inputTokens,
        outputTokens,
        costUsd: totalCost,
        latencyMs: clock.now() - started,
      });
      this.finish(trace, spec, result, ctx.parentRunId, pre, graders);
      this.deps.walSync.sync().catch((err: unknown) => this.deps.logger.error('could not fsync the database', { error: errorMessage(err) }));
      return result;
    };
    try {
      pre = await runPreChecks(this.deps.preChecks ?? [], this.preCheckInput('agent', spec, graders), ctx.signal, this.deps.logger);
      newTrial.guardrails = pre.guardrails;
      if (pre.blocked) throw new BlockedError(`${pre.blocked.by}: ${pre.blocked.reason}. Nothing was sent or spent.`, { pre_check: pre.blocked.by });
      if (pre.prompt !== spec.prompt) newTrial.processedPrompt = pre.prompt;
      sent = { ...spec, prompt: pre.prompt, ...(pre.system === undefined ? { system: undefined } : { system: pre.system }) };
      const risk = pre.failureRisk;
      const canEscalate = spec.escalate ?? spec.model === 'auto';
      /** Stores the answer on the trial and builds the result from it. */
      const finishWith = (answer: Answer): AgentResult => {
        choice = answer.choice;
        const { call, text, json, grading } = answer;
        const model = call.result.model || answer.choice.model;
        const { finishReason } = call.result;
        // The graders can only see that the text is empty; the provider may have said why.
        const why = !grading.passed && text.trim() === '' ? emptyAnswerReason(finishReason, call.result.providerFinishReason) : undefined;
        atomic(() => {
          trials.complete(trial.id, {
            output: text,
            ...(json?.ok && { parsedJson: json.value }),
            finishReason,
            model,
            modelReason: answer.choice.reason,
            inputTokens,
            outputTokens,
            costUsd: totalCost,
            latencyMs: clock.now() - started,
            attempts,
          });
          trials.grade(trial.id, grading.results, grading.passed, { score: grading.score, incomplete: grading.incomplete });
        });
        return conclude({
          status: grading.passed ? 'passed' : 'failed',
          text,
          json: json?.ok ? json.value : undefined,
          finishReason,
          model,
          graders: grading.results,
          score: grading.score,
          gradingIncomplete: grading.incomplete,
          error: why === undefined ? undefined : { code: 'provider_error', message: why },
        });
      };
      let next: ModelChoice | undefined;
      /** The answer an escalation would replace: paid for, so it stands if the escalation call fails. */
      let kept: Answer | undefined;
      for (;;) {
        choice = next ?? this.chooseModel(sent, provider, undefined, risk);
        let call: ModelCall;
        try {
          call = await this.callModel(provider, choice, sent, trial.id, ctx, deadline, trace, reserve, () => (attempts += 1), (usd) => (totalCost += usd));
        } catch (err) {
          if (kept === undefined || err instanceof CancelledError || ctx.signal.aborted) throw err;
          const code = err instanceof AppError ? err.code : 'internal';
          this.deps.logger.info(`escalation to ${choice.model} failed (${code}); keeping the answer from ${kept.choice.model}`, { trialId: trial.id });
          escalated = false;
          return finishWith({ ...kept, choice: { ...kept.choice, reason: `${kept.choice.reason}; escalation to ${choice.model} failed (${code})` } });
        }
        totalCost += call.costUsd;
        inputTokens += call.result.usage.inputTokens;
        outputTokens += call.result.usage.outputTokens;
        const text = call.result.text;
        const json = spec.response_schema ? parseJsonOutput(text) : undefined;
        const grading = await gradeOutput(
          graders,
          text,
          { prompt: spec.prompt, system: spec.system, responseSchema: spec.response_schema, schemas: this.schemas },
          await this.judgeDeps(trial.id, spec, ctx, deadline, (usd) => (totalCost += usd), text, graders, (g) => pre.guardrails.push(...g)),
        );
        for (const r of grading.results) if (r.score !== null) trace.score(r.type, r.score, r.reason);
        const top = this.tiersFor(spec).length - 1;
        if (!grading.passed && canEscalate && spec.model === 'auto' && !escalated && choice.tier < top) {
          // Budget or breakers may pull the choice back down: escalate only to a higher tier,
          // never pay again for the tier that just failed.
          const up = this.chooseModel(sent, provider, choice.tier + 1, risk);
          if (up.tier > choice.tier) {
            escalated = true;
            next = up;
            kept = { call, text, json, grading, choice };
            this.deps.logger.info(`graders failed on ${choice.model}; escalating once to ${up.model}`, { trialId: trial.id });
            continue;
          }
          this.deps.logger.info(`graders failed on ${choice.model}; not escalating: ${up.reason}`, { trialId: trial.id });
        }
        return finishWith({ call, text, json, grading, choice });
      }
    } catch (err) {
      const cancelled = err instanceof CancelledError || ctx.signal.aborted;
      // Aborted by a batch timeout: say so (code timeout); any other abort is a plain cancel.
      const abortReason: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined;
      const error = cancelled
        ? abortReason instanceof TimeoutError
          ? { code: 'timeout', message: abortReason.message }
          : { code: 'cancelled', message: 'The call was cancelled.' }
        : { code: err instanceof AppError ? err.code : 'internal', message: redactSecrets(errorMessage(err), config.secrets) };
      atomic(() => {
        if (!trialOpen) trials.create(newTrial);
        trials.error(trial.id, { code: error.code, message: error.message, costUsd: totalCost, attempts, latencyMs: clock.now() - started, model: choice?.model ?? null });
      });
      return conclude({ status: cancelled ? 'cancelled' : 'errored', text: null, json: undefined, model: choice?.model ?? null, graders: [], error });
    }
  }

  /** The caller's graders, validated in full; undefined means the defaults (see gradeOutput). */
  private resolveGraders(spec: AgentSpec): GraderSpec[] | undefined {
    return spec.graders && spec.graders.length > 0 ? parseGraderSpecs(spec.graders, this.schemas) : undefined;
  }

  /** The models "auto" chooses among; a named model is the only candidate. */
  private tiersFor(spec: AgentSpec): readonly string[] {
    if (spec.model !== 'auto') return [spec.model];
    if (spec.provider === 'google_gemini') return this.deps.config.models.tiers;
    return [spec.provider === 'openai_compatible' ? (this.deps.config.openai.defaultModel ?? 'auto') : 'auto'];
  }

  private maxOutputTokens(spec: AgentSpec): number {
    return spec.max_output_tokens ?? this.deps.config.agents.defaultMaxOutputTokens;
  }

  private promptTokens(spec: AgentSpec): number {
    return estimateTokens(`${spec.system ?? ''}\n${spec.prompt}${spec.response_schema ? JSON.stringify(spec.response_schema) : ''}`) + 16;
  }

  private chooseModel(spec: AgentSpec, provider: Provider, minTier: number | undefined, risk: ((m: string) => number | undefined) | undefined): ModelChoice {
    const tiers = this.tiersFor(spec);
    if (spec.model !== 'auto' || spec.provider !== 'google_gemini') {
      const model = tiers[0]!;
      return { model, tier: 0, kind: 'general', reason: spec.model === 'auto' ? `${provider.id} default model` : 'requested by the caller' };
    }
    const promptTokens = this.promptTokens(spec);
    const maxOut = this.maxOutputTokens(spec);
    return selectModel({
      prompt: spec.prompt,
      system: spec.system,
      promptTokens,
      hasSchema: spec.response_schema !== undefined,
      tiers,
      isAvailable: (model) => this.deps.healing.isAvailable(provider.id, model),
      maxCostUsd: (model) => this.deps.cost.estimateMaxCostUsd(provider.id, model, promptTokens, maxOut),
      remainingBudgetUsd: (model) => this.deps.cost.remainingUsd(provider.id, model),
      failureRisk: risk,
      minTier,
    });
  }

  /** One guarded call (see guardedGenerate) for this agent, traced. */
  private async callModel(
    provider: Provider,
    choice: ModelChoice,
    spec: AgentSpec,
    trialId: string,
    ctx: RunContext,
    deadline: number | undefined,
    trace: SpawnTrace,
    reserve: (request: ReserveRequest) => { id: string },
    onRequest: () => void,
    /** What failed requests cost (usually nothing; an empty but billed answer costs its tokens). */
    onFailedCost: (usd: number) => void,
  ): Promise<ModelCall> {
    const { clock, config } = this.deps;
    const generation = (g: { model: string; output: string | null; inputTokens: number; outputTokens: number; costUsd: number; startedAt: number; attempt: number; error?: string }) =>
      trace.generation({ provider: provider.id, input: spec.prompt, endedAt: clock.now(), modelReason: choice.reason, ...g });
    const guarded = await guardedGenerate(
      this.deps,
      provider,
      {
        model: choice.model,
        prompt: spec.prompt,
        system: spec.system,
        temperature: spec.temperature,
        maxOutputTokens: this.maxOutputTokens(spec),
        responseSchema: spec.response_schema,
      },
      {
        booking: { trialId, taskId: spec.task_id ?? null, tags: spec.tags ?? [] },
        signal: ctx.signal,
        timeoutMs: config.agents.callTimeoutMs,
        deadline,
        promptTokens: this.promptTokens(spec),
        reserve,
        onRequest,
        onAttemptFailed: ({ attempt, error, startedAt, costUsd }) => {
          onFailedCost(costUsd);
          const billed = error instanceof ProviderError ? error.billedUsage : undefined;
          generation({
            model: choice.model,
            output: null,
            inputTokens: billed?.inputTokens ?? 0,
            outputTokens: billed?.outputTokens ?? 0,
            costUsd,
            startedAt,
            attempt,
            error: error.message,
          });
        },
      },
    );
    const { result } = guarded;
    generation({
      model: result.model || choice.model,
      output: result.text,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      costUsd: guarded.costUsd,
      startedAt: guarded.startedAt,
      attempt: guarded.attempts,
    });
    return { result, costUsd: guarded.costUsd, attempts: guarded.attempts };
  }

  /** Judges run on Gemini when it is configured, else on the agent's own provider; guarded like the agent. */
  private async judgeDeps(
    trialId: string,
    spec: AgentSpec,
    ctx: RunContext,
    deadline: number | undefined,
    addCost: (usd: number) => void,
    judgedText: string,
    graders: GraderSpec[] | undefined,
    onGuardrails: (applied: PreCheckOutcome['guardrails']) => void,
  ) {
    const { config, providers, cost } = this.deps;
    const inner = await providers.get(providers.isConfigured('google_gemini') ? 'google_gemini' : (spec.provider as ProviderId), ctx);
    const checks = this.deps.preChecks ?? [];
    const provider = new GuardedProvider(inner, this.deps, {
      booking: { trialId, taskId: spec.task_id ?? null, tags: [...(spec.tags ?? []), 'judge'] },
      signal: ctx.signal,
      timeoutMs: config.agents.callTimeoutMs,
      deadline,
      maxOutputTokens: config.agents.defaultMaxOutputTokens,
      // Judges are checked like agents (the judged text may carry injected instructions).
      ...(checks.length > 0 && {
        before: async (request) => {
          const input: PreCheckInput = {
            ...this.preCheckInput('judge', spec, graders),
            prompt: request.prompt,
            system: request.system,
            model: request.model,
            tiers: [request.model],
            responseSchema: request.responseSchema,
            maxOutputTokens: request.maxOutputTokens ?? config.agents.defaultMaxOutputTokens,
            judgedText,
          };
          const verdict = await runPreChecks(checks, input, ctx.signal, this.deps.logger);
          onGuardrails(verdict.guardrails);
          if (verdict.blocked) throw new BlockedError(`${verdict.blocked.by}: ${verdict.blocked.reason}`, { pre_check: verdict.blocked.by });
          return { ...request, prompt: verdict.prompt, system: verdict.system };
        },
      }),
    });
    return {
      provider,
      judgeModel: inner.id === 'google_gemini' ? config.models.judge : this.tiersFor(spec)[0]!,
      signal: ctx.signal,
      secrets: config.secrets,
      // The guarded provider has booked the call; this only adds its cost to the agent's total.
      onJudgeCall: (info: { provider: string; model: string; inputTokens: number; outputTokens: number; status: 'ok' | 'error' }) => {
        const usd = info.status === 'ok' ? cost.costOf(info.provider, info.model, info).usd : 0;
        addCost(usd);
        return usd;
      },
    };
  }


  /** What a pre-check sees of an agent call (judge calls override the call's own fields). */
  private preCheckInput(operation: 'agent' | 'judge', spec: AgentSpec, graders: GraderSpec[] | undefined): PreCheckInput {
    return {
      operation,
      prompt: spec.prompt,
      system: spec.system,
      provider: spec.provider,
      model: spec.model,
      tiers: this.tiersFor(spec),
      responseSchema: spec.response_schema,
      graders: (graders ?? defaultGraderSpecs({ responseSchema: spec.response_schema })) as unknown as PreCheckInput['graders'],
      maxOutputTokens: this.maxOutputTokens(spec),
      taskId: spec.task_id ?? null,
      tags: spec.tags ?? [],
    };
  }

  private result(trialId: string, spec: AgentSpec, r: ResultFields): AgentResult {
    return {
      trial_id: trialId,
      status: r.status,
      passed: r.status === 'passed',
      text: r.text,
      ...(r.json !== undefined && { json: r.json }),
      ...(r.finishReason !== undefined && { finish_reason: r.finishReason }),
      provider: spec.provider,
      model: r.model,
      model_reason: r.choice?.reason ?? 'no model was called',
      escalated: r.escalated,
      attempts: r.attempts,
      input_tokens: r.inputTokens,
      output_tokens: r.outputTokens,
      cost_usd: roundUsd(r.costUsd),
      latency_ms: r.latencyMs,
      graders: r.graders.map((g) => ({ type: g.type, pass: g.pass, score: g.score, reason: g.reason, status: g.status, required: g.required })),
      ...(r.score !== undefined && { score: r.score }),
      ...(r.gradingIncomplete && { grading_incomplete: true as const }),
      ...(r.error && { error: r.error }),
      immune: immuneReport(r.preCheck),
    };
  }

  private finish(trace: SpawnTrace, spec: AgentSpec, result: AgentResult, parentRunId: string | undefined, pre: PreCheckOutcome, graders: GraderSpec[] | undefined): void {
    trace.end({ status: result.status, output: result.text, costUsd: result.cost_usd, latencyMs: result.latency_ms });
    this.deps.events.emit('trial.finished', {
      trialId: result.trial_id,
      status: result.status,
      operation: 'agent',
      provider: result.provider,
      model: result.model ?? '',
      modelReason: result.model_reason,
      escalated: result.escalated,
      prompt: spec.prompt,
      processedPrompt: pre.prompt,
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
      batchId: parentRunId ?? null,
      graderSpecs: (graders ?? defaultGraderSpecs({ responseSchema: spec.response_schema })) as unknown as Array<{ type: string } & Record<string, unknown>>,
      graderResults: result.graders.map((g) => ({ type: g.type, pass: g.pass, score: g.score, reason: g.reason, required: g.required, status: g.status })),
      guardrails: pre.guardrails,
      at: this.deps.clock.now(),
    });
  }
}

export function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}
