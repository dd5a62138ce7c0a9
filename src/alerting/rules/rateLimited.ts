import type { AlertCandidate, AlertRule, RuleInput } from '../types.js';
import { RuleWithBasics } from '../types.js';

/** rate_limited: a provider asked us to slow down (back-pressure; info by default). */
export class RateLimitedRule extends RuleWithBasics implements AlertRule {
  readonly id = 'rate_limited' as const;
  readonly events = ['rate_limit.hit'] as const;

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'rate_limit.hit') return [];
    const e = input.event;
    return this.modelAlert(e, (who) => `${who} is rate limiting: waiting ${Math.ceil(e.delayMs / 1000)} s, concurrency now ${e.concurrency}.`, {
      provider: e.provider,
      model: e.model,
      delay_ms: e.delayMs,
      until: new Date(e.until).toISOString(),
      concurrency: e.concurrency,
    });
  }
}
