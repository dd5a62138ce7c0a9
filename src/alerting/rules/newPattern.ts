import type { AlertCandidate, AlertRule, RuleInput } from '../types.js';
import { modelSubject, RuleWithBasics } from '../types.js';

/** new_pattern: the failure memory saw a failure fingerprint for the first time. */
export class NewPatternRule extends RuleWithBasics implements AlertRule {
  readonly id = 'new_pattern' as const;
  readonly events = ['failure.recorded'] as const;

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'failure.recorded' || !input.event.isNewPattern) return [];
    const e = input.event;
    return [
      {
        rule: this.id,
        severity: this.basics.severity,
        subject: `pattern ${e.patternId}`,
        group: e.failureClass,
        message: `A new kind of failure (${e.failureClass}) on ${modelSubject(e.provider, e.model)}: pattern ${e.patternId}.`,
        details: { pattern_id: e.patternId, failure_class: e.failureClass, provider: e.provider, model: e.model, trial_id: e.trialId },
      },
    ];
  }
}
