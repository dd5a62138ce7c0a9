import type { Clock } from '../clock.js';
import { identifyFailure, severityOf, UNLEARNABLE_ERRORS, type FailureFacts } from './fingerprint.js';
import type { FailureStore, GuardrailRow, PatternRow } from './failureStore.js';
import { hintForError, hintForFinishReason, instructionForGrader, type GraderSpecLike } from './guardrails/instructions.js';
import type { ModelOutcome } from './guardrails/routing.js';
import { TfIdfIndex, type Match } from './matcher.js';
import { maskVariables } from './text/mask.js';
import { redactPromptSecrets } from './text/redact.js';
import { termCounts } from './text/tokens.js';

/** One pattern as the pre-check needs it, held in memory (the store has the rest). */
export interface PatternState {
  id: string;
  failureClass: string;
  grader: string | null;
  errorCode: string | null;
  operation: string;
  count: number;
  /** Failures recorded with one of our learned instructions applied. */
  guardedFailures: number;
  status: 'active' | 'disabled';
  /** Learnable: a failure a different prompt or model can avoid (not our own refusals, spent budgets). */
  learnable: boolean;
  terms: Map<string, number>;
  models: Map<string, { failures: number; passes: number }>;
  guardrailIds: string[];
  samplePrompt: string;
  /** JSON of the grader spec that failed last. */
  failedSpec: string | null;
}

/** A failed or errored call to remember. */
export interface FailureInput extends FailureFacts {
  trialId: string;
  processedPrompt: string | null;
  output: string | null;
  provider: string | null;
  model: string | null;
  errorMessage: string | null;
  graderSpecs: ReadonlyArray<GraderSpecLike>;
  graderResults: ReadonlyArray<{ type: string; pass: boolean | null; required: boolean; reason?: string }>;
  guardrailIds: readonly string[];
  at: number;
}

export interface RecordedFailure {
  patternId: string;
  isNewPattern: boolean;
  failureClass: string;
  patternCount: number;
}

const MAX_STORED_CHARS = 20_000;
/** A failure joins an existing pattern of its class at this similarity (an exact fingerprint always does). */
const CLUSTER_SIMILARITY = 0.3;
const MAX_PATTERN_TERMS = 64;

const clip = (text: string | null, max = MAX_STORED_CHARS) => (text === null ? null : text.length > max ? `${text.slice(0, max)}…[truncated]` : text);

/** Quoted passages, code blocks, and what follows "…: " after an instruction: the data a prompt works on. */
const PAYLOAD = /```[\s\S]*?(?:```|$)|"[^"\n]{12,}"|“[^”]{12,}”|'[^'\n]{24,}'/g;
const INSTRUCTION_WEIGHT = 3;

/**
 * Terms of a prompt as the index sees them: variables masked, tokenised, stemmed. What the prompt
 * asks for (its instruction) says more about how it fails than the data it carries, so terms
 * outside quoted passages, code blocks and a trailing "…: data" count three times.
 */
export function promptTerms(prompt: string, system?: string): Map<string, number> {
  const text = maskVariables(system ? `${prompt}\n${system}` : prompt);
  let instruction = text.replace(PAYLOAD, ' ');
  const colon = instruction.indexOf(': ');
  if (colon > 15) instruction = instruction.slice(0, colon);
  const counts = termCounts(text);
  for (const [term, n] of termCounts(instruction)) counts.set(term, (counts.get(term) ?? 0) + n * (INSTRUCTION_WEIGHT - 1));
  return counts;
}

export class PatternMemory {
  readonly index = new TfIdfIndex({ maxTermsPerDoc: MAX_PATTERN_TERMS });
  readonly patterns = new Map<string, PatternState>();
  readonly guardrails = new Map<string, GuardrailRow>();

  constructor(
    private readonly store: FailureStore,
    private readonly clock: Clock,
    private readonly secrets: readonly string[],
  ) {
    for (const row of store.allPatterns()) this.load(row);
    for (const m of store.allModels()) this.patterns.get(m.pattern_id)?.models.set(m.model, { failures: m.failures, passes: m.passes });
    for (const g of store.allGuardrails()) {
      this.guardrails.set(g.id, g);
      if (g.pattern_id) this.patterns.get(g.pattern_id)?.guardrailIds.push(g.id);
    }
  }

  /** Active, learnable patterns similar to the terms, best first. */
  match(terms: ReadonlyMap<string, number>, k: number, threshold: number, operation: string): Match[] {
    return this.index.query(terms, {
      k,
      threshold,
      accept: (id) => {
        const p = this.patterns.get(id);
        return p !== undefined && p.status === 'active' && p.learnable && p.operation === operation;
      },
    });
  }

  modelOutcomes(patternId: string): ModelOutcome[] {
    const p = this.patterns.get(patternId);
    return p ? [...p.models].map(([model, o]) => ({ model, ...o })) : [];
  }

  /** Stores a failure (redacted) in its pattern, creating the pattern and its guardrails as needed. */
  record(f: FailureInput): RecordedFailure | undefined {
    if (this.store.hasFailure(f.trialId)) return undefined;
    const prompt = redactPromptSecrets(f.prompt, this.secrets);
    const identity = identifyFailure({ ...f, prompt });
    const terms = promptTerms(prompt);
    let patternId = this.store.patternByFingerprint(identity.fingerprint);
    if (patternId === undefined) {
      const [near] = this.index.query(terms, {
        k: 1,
        threshold: CLUSTER_SIMILARITY,
        accept: (id) => {
          const p = this.patterns.get(id);
          return p !== undefined && p.failureClass === identity.failureClass && p.operation === f.operation;
        },
      });
      patternId = near?.id;
    }
    const failedSpec = identity.grader ? f.graderSpecs.find((s) => s.type === identity.grader) : undefined;
    const judgeReason = identity.grader ? (f.graderResults.find((g) => g.type === identity.grader && g.pass === false)?.reason ?? null) : null;
    const isNew = patternId === undefined;
    const id = patternId ?? `pat_${identity.fingerprint.slice(0, 12)}`;
    const learnable = !(identity.errorCode && UNLEARNABLE_ERRORS.has(identity.errorCode));

    this.store.transaction(() => {
      let state = this.patterns.get(id);
      if (!state) {
        const row: PatternRow = {
          id,
          failure_class: identity.failureClass,
          grader: identity.grader,
          error_code: identity.errorCode,
          operation: f.operation,
          masked_prompt: clip(identity.maskedPrompt, 2000)!,
          sample_prompt: clip(prompt, 2000)!,
          terms: '{}',
          failed_spec: failedSpec ? JSON.stringify(failedSpec) : null,
          finish_reason: f.finishReason,
          judge_reason: clip(judgeReason ? redactPromptSecrets(judgeReason, this.secrets) : null, 500),
          count: 0,
          guarded_failures: 0,
          severity: 'low',
          status: 'active',
          false_positives: 0,
          first_seen_ms: f.at,
          last_seen_ms: f.at,
        };
        this.store.insertPattern(row);
        state = this.load(row);
      }
      state.count += 1;
      if (f.guardrailIds.some((g) => g.startsWith('immune.learned.'))) state.guardedFailures += 1;
      if (failedSpec) state.failedSpec = JSON.stringify(failedSpec);
      for (const [term, n] of terms) state.terms.set(term, (state.terms.get(term) ?? 0) + n);
      if (state.terms.size > MAX_PATTERN_TERMS * 2) state.terms = new Map([...state.terms].sort((a, b) => b[1] - a[1]).slice(0, MAX_PATTERN_TERMS));
      this.index.set(id, state.terms);
      this.store.touchPattern(id, {
        count: state.count,
        guarded_failures: state.guardedFailures,
        severity: severityOf(state.count, state.failureClass),
        last_seen_ms: f.at,
        terms: JSON.stringify(Object.fromEntries(state.terms)),
        failed_spec: failedSpec ? JSON.stringify(failedSpec) : null,
        finish_reason: f.finishReason,
        judge_reason: clip(judgeReason ? redactPromptSecrets(judgeReason, this.secrets) : null, 500),
      });
      this.store.addFingerprint(identity.fingerprint, id);
      this.store.insertFailure({
        trial_id: f.trialId,
        pattern_id: id,
        operation: f.operation,
        status: f.status,
        failure_class: identity.failureClass,
        prompt: clip(prompt)!,
        processed_prompt: clip(f.processedPrompt === null ? null : redactPromptSecrets(f.processedPrompt, this.secrets)),
        output: clip(f.output === null ? null : redactPromptSecrets(f.output, this.secrets)),
        grader_results: JSON.stringify(f.graderResults.map((g) => ({ ...g, reason: g.reason === undefined ? undefined : redactPromptSecrets(g.reason, this.secrets) }))),
        provider: f.provider,
        model: f.model,
        finish_reason: f.finishReason,
        error_code: f.errorCode,
        error_message: f.errorMessage === null ? null : redactPromptSecrets(f.errorMessage, this.secrets).slice(0, 2000),
        guardrails: JSON.stringify(f.guardrailIds),
        at_ms: f.at,
      });
      if (f.model) this.bumpModel(state, f.model, 'failures');
      if (learnable) this.learnGuardrail(state, failedSpec ?? (identity.grader ? { type: identity.grader } : undefined), f, judgeReason);
    });
    return { patternId: id, isNewPattern: isNew, failureClass: identity.failureClass, patternCount: this.patterns.get(id)!.count };
  }

  bumpModel(state: PatternState, model: string, outcome: 'failures' | 'passes'): void {
    const row = state.models.get(model) ?? { failures: 0, passes: 0 };
    row[outcome] += 1;
    state.models.set(model, row);
    this.store.bumpModel(state.id, model, outcome);
  }

  /** Creates a guardrail row the first time a guardrail id is seen (routing, injection, ...). */
  ensureGuardrail(id: string, kind: string, source: string, patternId: string | null, instruction: string | null): GuardrailRow {
    const existing = this.guardrails.get(id);
    if (existing) return existing;
    const now = this.clock.now();
    const row: GuardrailRow = {
      id,
      pattern_id: patternId && this.patterns.has(patternId) ? patternId : null,
      kind,
      source,
      instruction,
      status: 'active',
      status_reason: null,
      applied: 0,
      passed: 0,
      failed: 0,
      false_positives: 0,
      created_ms: now,
      updated_ms: now,
    };
    this.store.upsertGuardrail(row);
    this.guardrails.set(id, row);
    if (row.pattern_id) this.patterns.get(row.pattern_id)!.guardrailIds.push(id);
    return row;
  }

  private learnGuardrail(state: PatternState, spec: GraderSpecLike | undefined, f: FailureInput, judgeReason: string | null): void {
    let slug: string | undefined;
    let instruction: string | undefined;
    if (state.failureClass === 'finish:length') {
      slug = 'budget';
      instruction = hintForFinishReason('length');
    } else if (state.failureClass === 'finish:safety') {
      slug = 'safety';
      instruction = hintForFinishReason('safety');
    } else if (state.failureClass.startsWith('error:')) {
      slug = f.errorCode ?? undefined;
      instruction = hintForError(f.errorCode);
    } else if (spec) {
      slug = spec.type;
      instruction = instructionForGrader(spec, judgeReason ?? undefined);
    }
    if (slug === undefined || instruction === undefined) return;
    const id = `immune.learned.${state.id}.${slug}`;
    const existing = this.guardrails.get(id);
    if (existing) {
      if (existing.instruction !== instruction) {
        existing.instruction = instruction;
        existing.updated_ms = this.clock.now();
        this.store.upsertGuardrail(existing);
      }
      return;
    }
    this.ensureGuardrail(id, 'rewrite', 'learned', state.id, instruction);
  }

  private load(row: PatternRow): PatternState {
    let terms: Map<string, number>;
    try {
      terms = new Map(Object.entries(JSON.parse(row.terms) as Record<string, number>));
    } catch {
      terms = new Map();
    }
    const state: PatternState = {
      id: row.id,
      failureClass: row.failure_class,
      grader: row.grader,
      errorCode: row.error_code,
      operation: row.operation,
      count: row.count,
      guardedFailures: row.guarded_failures,
      status: row.status,
      learnable: !(row.error_code && UNLEARNABLE_ERRORS.has(row.error_code)),
      terms,
      models: new Map(),
      guardrailIds: [],
      samplePrompt: row.sample_prompt,
      failedSpec: row.failed_spec,
    };
    this.patterns.set(row.id, state);
    if (terms.size > 0) this.index.set(row.id, terms);
    return state;
  }
}
