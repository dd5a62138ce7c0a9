import type { AlertCandidate, AlertRule, RuleBasics, RuleInput } from '../types.js';
import { RuleWithBasics } from '../types.js';
import { isModelFailure, modelSubject } from '../types.js';

/** Subjects tracked at once (patterns can be many); the longest-quiet is forgotten first. */
const MAX_STREAKS = 10_000;

/**
 * consecutive_failures: `count` failures in a row. By model (default): per provider/model, a
 * passed trial resets it. By pattern: per failure pattern, reset when its model passes a trial.
 * Fires when the streak reaches `count`, again only after a reset.
 */
export class ConsecutiveFailuresRule extends RuleWithBasics implements AlertRule {
  readonly id = 'consecutive_failures' as const;
  readonly events: readonly ('trial.finished' | 'failure.recorded')[];
  private readonly streaks = new Map<string, { n: number; model: string; last: string }>();

  constructor(
    basics: RuleBasics,
    private readonly count: number,
    private readonly by: 'model' | 'pattern',
  ) {
    super(basics);
    this.events = by === 'model' ? ['trial.finished'] : ['trial.finished', 'failure.recorded'];
  }

  evaluate(input: RuleInput): AlertCandidate[] {
    if (input.name === 'trial.finished') {
      const e = input.event;
      const model = modelSubject(e.provider, e.model);
      if (e.status === 'passed') {
        for (const [key, s] of this.streaks) if (s.model === model) this.streaks.delete(key);
        return [];
      }
      if (this.by !== 'model' || !isModelFailure(e)) return [];
      return this.bump(model, model, e.provider, e.error ? `${e.error.code}: ${e.error.message}` : `graders failed (${e.status})`);
    }
    if (input.name === 'failure.recorded' && this.by === 'pattern') {
      const e = input.event;
      return this.bump(`pattern ${e.patternId}`, modelSubject(e.provider, e.model), e.provider, e.failureClass);
    }
    return [];
  }

  private bump(subject: string, model: string, group: string, last: string): AlertCandidate[] {
    const streak = this.streaks.get(subject) ?? { n: 0, model, last };
    streak.n += 1;
    streak.model = model;
    streak.last = last.slice(0, 300);
    this.streaks.delete(subject); // re-inserted last: the map's order is least recently failed first
    this.streaks.set(subject, streak);
    if (this.streaks.size > MAX_STREAKS) this.streaks.delete(this.streaks.keys().next().value!);
    if (streak.n !== this.count) return [];
    return [
      {
        rule: this.id,
        severity: this.basics.severity,
        subject,
        group,
        message: `${streak.n} failures in a row on ${subject}; last: ${streak.last}`,
        details: { count: streak.n, model, last_error: streak.last },
      },
    ];
  }
}
