import type { AlertCandidate, AlertRule, RuleInput } from '../types.js';
import { RuleWithBasics } from '../types.js';

/** circuit_opened: a provider/model's breaker opened; calls to it are refused until it probes. */
export class CircuitOpenedRule extends RuleWithBasics implements AlertRule {
  readonly id = 'circuit_opened' as const;
  readonly events = ['breaker.opened'] as const;

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'breaker.opened') return [];
    const e = input.event;
    const retryAt = e.retryAt === undefined ? null : new Date(e.retryAt).toISOString();
    return this.modelAlert(e, (who) => `Circuit breaker for ${who} opened${retryAt ? ` until ${retryAt}` : ''}${e.reason ? `: ${e.reason}` : ''}.`, {
      provider: e.provider,
      model: e.model,
      retry_at: retryAt,
      reason: e.reason ?? null,
    });
  }
}
