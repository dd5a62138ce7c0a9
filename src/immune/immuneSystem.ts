import type { PreCheck, PreCheckInput, PreCheckVerdict } from '../agents/preCheck.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { AppliedGuardrail, EventBus, TrialFinishedEvent } from '../events.js';
import type { Logger } from '../logger.js';
import { assess, toVerdict, type Assessment } from './assess.js';
import type { ImmuneConfig } from './config.js';
import { FailureStore, type GuardrailRow } from './failureStore.js';
import { retirementReason } from './guardrails/effectiveness.js';
import { PatternMemory, type FailureInput, type RecordedFailure } from './patternMemory.js';

export interface ImmuneSystemDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  config: ImmuneConfig;
  /** Literal secrets to redact (config.secrets). */
  secrets: readonly string[];
}

export type FeedbackAction = 'disable' | 'enable' | 'false_positive';

/** Guardrail ids name the pattern they answer: immune.<kind>.<pattern id>[.<slug>]. */
function patternIdOf(guardrailId: string): string | undefined {
  const m = /^immune\.(?:learned|match|route)\.(pat_[A-Za-z0-9_-]+?)(?:\.|$)/.exec(guardrailId);
  return m?.[1];
}

/**
 * The immune system: remembers failed calls as patterns, checks each new call against them (a
 * PreCheck), and learns from how guarded calls then went. Reached only through the PreCheck port
 * and the event bus; remove it and the pipeline runs as before.
 */
export class ImmuneSystem {
  readonly store: FailureStore;
  readonly memory: PatternMemory;
  readonly preCheck: PreCheck;

  constructor(private readonly deps: ImmuneSystemDeps) {
    this.store = new FailureStore(deps.db);
    this.memory = new PatternMemory(this.store, deps.clock, deps.secrets);
    this.preCheck = { id: 'immune', check: (input) => this.check(input) };
  }

  get mode(): ImmuneConfig['mode'] {
    return this.deps.config.mode;
  }

  /** Subscribes to what it learns from; returns the function that unsubscribes. */
  subscribe(events: EventBus = this.deps.events): () => void {
    const offs = [
      events.on('trial.finished', (e) => this.onTrialFinished(e)),
      events.on('breaker.opened', (e) => this.incident('breaker_opened', e.provider, e.model, e.at, e.reason ?? '')),
      events.on('rate_limit.hit', (e) => this.incident('rate_limited', e.provider, e.model, e.at, `wait ${e.delayMs} ms`)),
      events.on('retry.gave_up', (e) => this.incident('retry_gave_up', e.provider, e.model, e.at, e.error.slice(0, 200))),
    ];
    return () => offs.forEach((off) => off());
  }

  /** What the pre-check would do, without running anything (also immune_check's answer). */
  assess(input: PreCheckInput): Assessment {
    return assess(input, this.memory, this.deps.config, this.deps.secrets);
  }

  check(input: PreCheckInput): PreCheckVerdict {
    if (this.mode === 'off') return { action: 'proceed' };
    const assessment = this.assess(input);
    // Only checks that did something are kept (a write per look-up would double its cost).
    if (assessment.guardrails.some((g) => g.kind !== 'log')) {
      this.store.recordCheck({
        at_ms: this.deps.clock.now(),
        operation: input.operation,
        action: this.mode === 'observe' ? 'proceed' : assessment.action,
        observed: this.mode === 'observe' ? 1 : 0,
        risk_score: assessment.riskScore,
        matched: assessment.matchedPatterns.length,
        guardrails: JSON.stringify(assessment.guardrails.map((g) => g.id)),
      });
    }
    return toVerdict(assessment, this.mode);
  }

  onTrialFinished(e: TrialFinishedEvent): void {
    if (this.mode === 'off' || e.status === 'cancelled') return;
    const ours = e.guardrails.filter((g) => g.id.startsWith('immune.'));
    const guarded = ours.some((g) => g.kind !== 'log');
    this.store.recordOutcome({
      trial_id: e.trialId,
      status: e.status,
      operation: e.operation,
      model: e.model || null,
      guarded: guarded ? 1 : 0,
      matched: ours.some((g) => g.id.startsWith('immune.match.')) ? 1 : 0,
      at_ms: e.at,
    });
    let recorded: RecordedFailure | undefined;
    if (e.status === 'failed' || e.status === 'errored') {
      recorded = this.record({
        trialId: e.trialId,
        status: e.status,
        operation: e.operation,
        prompt: e.prompt,
        processedPrompt: e.processedPrompt === e.prompt ? null : e.processedPrompt,
        output: e.output,
        provider: e.provider,
        model: e.model || null,
        finishReason: e.finishReason,
        errorCode: e.error?.code ?? null,
        errorMessage: e.error?.message ?? null,
        graderSpecs: e.graderSpecs,
        graderResults: e.graderResults,
        guardrailIds: ours.map((g) => g.id),
        at: e.at,
      });
    }
    this.learnFromOutcome(e, ours, recorded?.patternId);
  }

  /** Stores one failure; emits failure.recorded. Undefined when that trial is already stored. */
  record(f: FailureInput): RecordedFailure | undefined {
    const recorded = this.memory.record(f);
    if (recorded) {
      this.deps.events.emit('failure.recorded', {
        trialId: f.trialId,
        patternId: recorded.patternId,
        isNewPattern: recorded.isNewPattern,
        failureClass: recorded.failureClass,
        provider: f.provider ?? '',
        model: f.model ?? '',
        patternCount: recorded.patternCount,
        at: f.at,
      });
    }
    return recorded;
  }

  /** Votes on each guardrail the call carried, and per-model outcomes of the patterns it matched. */
  private learnFromOutcome(e: TrialFinishedEvent, ours: AppliedGuardrail[], recordedIn: string | undefined): void {
    // Nothing of ours was applied, so there is no tally and no matched pattern to update: no
    // transaction either (an empty one still costs a commit on every unguarded call).
    if (ours.length === 0) return;
    const graded = e.status === 'passed' || e.status === 'failed';
    const now = this.deps.clock.now();
    const patterns = new Set<string>();
    this.store.transaction(() => {
      for (const g of ours) {
        const pid = patternIdOf(g.id);
        if (pid) patterns.add(pid);
        if (g.kind === 'log') continue;
        const source = g.id.startsWith('immune.learned.') ? 'learned' : g.id.startsWith('immune.route.') ? 'routing' : 'protective';
        const row = this.memory.ensureGuardrail(g.id, g.kind, source, pid ?? null, null);
        row.applied += 1;
        if (graded && e.status === 'passed') row.passed += 1;
        if (graded && e.status === 'failed') row.failed += 1;
        row.updated_ms = now;
        // Protective guardrails (secrets, injection, size) are kept whatever the outcome.
        const retire = row.status === 'active' && source !== 'protective' ? retirementReason(row) : undefined;
        if (retire) {
          row.status = 'retired';
          row.status_reason = retire;
          this.deps.logger.warn(`guardrail ${row.id} ${retire}`);
        }
        this.store.saveTally(row);
      }
      if (!e.model) return;
      for (const pid of patterns) {
        if (pid === recordedIn) continue;
        const state = this.memory.patterns.get(pid);
        if (!state) continue;
        if (e.status === 'passed') this.memory.bumpModel(state, e.model, 'passes');
        else if (e.status === 'failed') this.memory.bumpModel(state, e.model, 'failures');
      }
    });
  }

  /** Records the failed and errored trials stored before the immune system existed, once. */
  seedFromTrials(limit = 10_000): number {
    if (this.store.meta('seeded_from_trials')) return 0;
    let rows: Array<Record<string, unknown>> = [];
    try {
      rows = this.deps.db
        .prepare(
          `SELECT id, status, prompt, processed_prompt, output, provider, model, finish_reason, error_code, error_message, grader_results, created_at_ms
           FROM trials WHERE status IN ('passed','failed','errored') AND COALESCE(error_code, '') <> 'cancelled'
           ORDER BY created_at_ms DESC LIMIT ?`,
        )
        .all(limit) as Array<Record<string, unknown>>;
    } catch (err) {
      this.deps.logger.warn(`could not read trials to seed the failure memory: ${(err as Error).message}`);
    }
    let seeded = 0;
    for (const r of rows.reverse()) {
      const status = r.status as 'passed' | 'failed' | 'errored';
      const at = Number(r.created_at_ms);
      this.store.recordOutcome({ trial_id: String(r.id), status, operation: 'agent', model: (r.model as string | null) ?? null, guarded: 0, matched: 0, at_ms: at });
      if (status === 'passed') continue;
      let graderResults: FailureInput['graderResults'] = [];
      try {
        graderResults = r.grader_results ? (JSON.parse(String(r.grader_results)) as FailureInput['graderResults']) : [];
      } catch {
        graderResults = [];
      }
      const done = this.memory.record({
        trialId: String(r.id),
        status,
        operation: 'agent',
        prompt: String(r.prompt),
        processedPrompt: (r.processed_prompt as string | null) ?? null,
        output: (r.output as string | null) ?? null,
        provider: (r.provider as string | null) ?? null,
        model: (r.model as string | null) ?? null,
        finishReason: (r.finish_reason as string | null) ?? null,
        errorCode: (r.error_code as string | null) ?? null,
        errorMessage: (r.error_message as string | null) ?? null,
        graderSpecs: [],
        graderResults,
        guardrailIds: [],
        at,
      });
      if (done) seeded += 1;
    }
    this.store.setMeta('seeded_from_trials', String(this.deps.clock.now()));
    if (seeded > 0) this.deps.logger.info(`failure memory seeded with ${seeded} earlier failure(s)`);
    return seeded;
  }

  /** immune_feedback: a pattern or a guardrail turned off, back on, or marked a false positive (off). */
  feedback(target: { patternId?: string | undefined; guardrailId?: string | undefined }, action: FeedbackAction): { target: string; status: string } {
    if (target.patternId) {
      const state = this.memory.patterns.get(target.patternId);
      if (!state) throw new NotFoundError(`no failure pattern ${target.patternId}; immune_failures lists them`);
      const status = action === 'enable' ? 'active' : 'disabled';
      this.store.setPatternStatus(state.id, status, action === 'false_positive');
      state.status = status;
      return { target: state.id, status };
    }
    if (target.guardrailId) {
      const row: GuardrailRow | undefined = this.memory.guardrails.get(target.guardrailId);
      if (!row) throw new NotFoundError(`no guardrail ${target.guardrailId}; immune_status lists them`);
      row.status = action === 'enable' ? 'active' : 'disabled';
      row.status_reason = action === 'enable' ? null : action === 'false_positive' ? 'marked a false positive by feedback' : 'disabled by feedback';
      if (action === 'false_positive') row.false_positives += 1;
      if (action === 'enable' && retirementReason(row)) {
        // Re-enabled by hand: its votes start over, or it would retire again on the next call.
        row.passed = row.failed = 0;
      }
      row.updated_ms = this.deps.clock.now();
      this.store.saveTally(row);
      return { target: row.id, status: row.status };
    }
    throw new InvalidInputError('pattern_id or guardrail_id is required');
  }

  private incident(kind: string, provider: string, model: string, at: number, detail: string): void {
    if (this.mode === 'off') return;
    this.store.recordIncident({ at_ms: at, kind, provider, model, detail });
  }
}
