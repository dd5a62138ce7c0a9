import type { AlertCandidate, AlertRule, RuleInput } from '../types.js';
import { modelSubject, RuleWithBasics } from '../types.js';

/** circuit_opened: a provider/model's breaker opened; calls to it are refused until it probes. */
export class CircuitOpenedRule extends RuleWithBasics implements AlertRule {
  readonly id = 'circuit_opened' as const;
  readonly events = ['breaker.opened'] as const;

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'breaker.opened') return [];
    const e = input.event;
    const who = modelSubject(e.provider, e.model);
    const until = e.retryAt === undefined ? '' : ` until ${new Date(e.retryAt).toISOString()}`;
    return [
      {
        rule: this.id,
        severity: this.basics.severity,
        subject: who,
        group: e.provider,
        message: `Circuit breaker for ${who} opened${until}${e.reason ? `: ${e.reason}` : ''}.`,
        details: { provider: e.provider, model: e.model, retry_at: e.retryAt === undefined ? null : new Date(e.retryAt).toISOString(), reason: e.reason ?? null },
      },
    ];
  }
}
