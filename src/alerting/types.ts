import type { EventName, OrchestratorEvents } from '../events.js';
import type { RuleId, Severity } from './config.js';

/** One event from the bus, tagged with its name, as the rules see it. */
export type RuleInput = { [K in EventName]: { name: K; event: OrchestratorEvents[K] } }[EventName];

/** What a rule says should be alerted; the manager decides whether it is new (dedupe, cool-down). */
export interface AlertCandidate {
  rule: string;
  severity: Severity;
  /** What the alert is about, e.g. "google_gemini/gemini-2.5-flash"; with the rule, its fingerprint. */
  subject: string;
  /** Alerts of one rule and group are sent together (e.g. one provider's models). */
  group: string;
  message: string;
  /** Facts for receivers (never prompts or secrets). */
  details: Record<string, unknown>;
}

/**
 * A rule: pure apart from its own counters (no I/O); `now` comes from the injected clock.
 * One instance per service, so no state is shared between servers or tests.
 */
export interface AlertRule {
  readonly id: RuleId;
  readonly events: readonly EventName[];
  readonly cooldownMs: number;
  readonly groupIntervalMs: number;
  evaluate(input: RuleInput, now: number): AlertCandidate[];
}

/** Settings every rule has, after defaults. */
export interface RuleBasics {
  severity: Severity;
  cooldownMs: number;
  groupIntervalMs: number;
}

/** What every rule shares: its timing comes from its settings (RuleBasics), not a copy kept beside them. */
export abstract class RuleWithBasics<B extends RuleBasics = RuleBasics> {
  abstract readonly id: RuleId;

  constructor(protected readonly basics: B) {}

  /** One alert about a provider's model (its subject), sent together with that provider's others. */
  protected modelAlert(
    e: { provider: string; model: string | null | undefined },
    message: (who: string) => string,
    details: Record<string, unknown>,
  ): AlertCandidate[] {
    const who = modelSubject(e.provider, e.model);
    return [{ rule: this.id, severity: this.basics.severity, subject: who, group: e.provider, message: message(who), details }];
  }

  get cooldownMs(): number {
    return this.basics.cooldownMs;
  }

  get groupIntervalMs(): number {
    return this.basics.groupIntervalMs;
  }
}

/** A trial that counts as a model failure: failed grading or errored for a reason the model owns. */
export function isModelFailure(e: OrchestratorEvents['trial.finished']): boolean {
  if (e.status === 'failed') return true;
  if (e.status !== 'errored') return false;
  // Refusals before any call say nothing about the provider or model.
  return !NOT_MODEL_ERRORS.has(e.error?.code ?? '');
}

const NOT_MODEL_ERRORS = new Set(['budget_exceeded', 'blocked', 'invalid_input', 'not_configured', 'cancelled']);

export function modelSubject(provider: string, model: string | null | undefined): string {
  return model ? `${provider}/${model}` : provider;
}
