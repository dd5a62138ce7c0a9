import type { AlertCandidate, AlertRule, RuleBasics, RuleInput } from '../types.js';
import { RuleWithBasics } from '../types.js';
import { isModelFailure } from '../types.js';

export interface FrequencySpikeSettings {
  windowMs: number;
  minCount: number;
  /** The window's count must reach factor × baseline. */
  factor: number;
  /** EWMA weight of the newest finished window. */
  alpha: number;
}

/**
 * frequency_spike: failures in the current window (tumbling, `windowMs`) at least `minCount` and
 * at least `factor` times the EWMA of earlier windows' counts. Fires once per window.
 */
export class FrequencySpikeRule extends RuleWithBasics implements AlertRule {
  readonly id = 'frequency_spike' as const;
  readonly events = ['trial.finished'] as const;
  private window: number | undefined;
  private count = 0;
  private baseline = 0;
  private firedInWindow = false;

  constructor(
    basics: RuleBasics,
    private readonly settings: FrequencySpikeSettings,
  ) {
    super(basics);
  }

  evaluate(input: RuleInput, now: number): AlertCandidate[] {
    if (input.name !== 'trial.finished' || !isModelFailure(input.event)) return [];
    this.roll(now);
    this.count += 1;
    const { minCount, factor, windowMs } = this.settings;
    if (this.firedInWindow || this.count < minCount || this.count < factor * this.baseline) return [];
    this.firedInWindow = true;
    const baseline = Math.round(this.baseline * 100) / 100;
    return [
      {
        rule: this.id,
        severity: this.basics.severity,
        subject: 'all',
        group: 'all',
        message: `${this.count} failed calls in the last ${Math.round(windowMs / 60_000)} min window, against a usual ${baseline} per window.`,
        details: { count: this.count, baseline, window_ms: windowMs, factor },
      },
    ];
  }

  /** Folds finished windows (empty ones too) into the baseline. */
  private roll(now: number): void {
    const current = Math.floor(now / this.settings.windowMs);
    if (this.window === undefined) {
      this.window = current;
      return;
    }
    if (current <= this.window) return;
    const { alpha } = this.settings;
    this.baseline = alpha * this.count + (1 - alpha) * this.baseline;
    const empty = Math.min(current - this.window - 1, 1_000);
    this.baseline *= (1 - alpha) ** empty;
    this.window = current;
    this.count = 0;
    this.firedInWindow = false;
  }
}
