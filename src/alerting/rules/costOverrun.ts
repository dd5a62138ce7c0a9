import type { AlertCandidate, AlertRule, RuleBasics, RuleInput } from '../types.js';
import { RuleWithBasics } from '../types.js';

/** cost_overrun: a call cost at least `minRatio` times what its reservation held. */
export class CostOverrunRule extends RuleWithBasics implements AlertRule {
  readonly id = 'cost_overrun' as const;
  readonly events = ['cost.overrun'] as const;

  constructor(
    basics: RuleBasics,
    private readonly minRatio: number,
  ) {
    super(basics);
  }

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name !== 'cost.overrun' || !(input.event.ratio >= this.minRatio)) return [];
    const e = input.event;
    return this.modelAlert(e, (who) => `A call to ${who} cost $${e.costUsd.toFixed(4)}, ${e.ratio.toFixed(1)}x its reservation of $${e.reservedUsd.toFixed(4)}.`, {
      provider: e.provider,
      model: e.model,
      cost_usd: e.costUsd,
      reserved_usd: e.reservedUsd,
      ratio: e.ratio,
      trial_id: e.trialId,
    });
  }
}
