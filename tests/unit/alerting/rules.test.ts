import { describe, expect, it } from 'vitest';
import type { AlertRulesConfig } from '../../../src/alerting/config.js';
import { createRules } from '../../../src/alerting/rules/index.js';
import type { RuleInput } from '../../../src/alerting/types.js';
import { ManualClock } from '../../../src/clock.js';
import { breakerOpened, budget, failureRecorded, risk, trial } from './events.js';

const MIN = 60_000;
type Step = { after?: number; input: RuleInput };
const t = (status: Parameters<typeof trial>[0], over: Parameters<typeof trial>[1] = {}): Step => ({ input: { name: 'trial.finished', event: trial(status, over) } });
const at = (after: number, step: Step): Step => ({ ...step, after });

/** Runs the steps through one rule with a fake clock; returns the indices of steps that fired, with subjects. */
function fired(ruleId: string, config: AlertRulesConfig, steps: Step[]): Array<[number, string]> {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  const rule = createRules(config).find((r) => r.id === ruleId);
  if (!rule) return [];
  const out: Array<[number, string]> = [];
  steps.forEach((s, i) => {
    if (s.after) clock.advance(s.after);
    for (const c of rule.evaluate(s.input, clock.now())) out.push([i, c.subject]);
  });
  return out;
}

const flash = 'google_gemini/gemini-2.5-flash';
const pro = 'google_gemini/gemini-2.5-pro';

describe.each<[string, string, AlertRulesConfig, Step[], Array<[number, string]>]>([
  // consecutive_failures: default 3 in a row per provider/model
  ['consecutive_failures', 'fires on the third failure in a row', {}, [t('failed'), t('errored'), t('failed')], [[2, flash]]],
  ['consecutive_failures', 'a pass resets the streak', {}, [t('failed'), t('failed'), t('passed'), t('failed'), t('failed')], []],
  ['consecutive_failures', 'counts per model', {}, [t('failed'), t('failed', { model: 'gemini-2.5-pro' }), t('failed'), t('failed', { model: 'gemini-2.5-pro' }), t('failed')], [[4, flash]]],
  ['consecutive_failures', 'fires once per streak, again after a reset', {}, [t('failed'), t('failed'), t('failed'), t('failed'), t('passed'), t('failed'), t('failed'), t('failed')], [[2, flash], [7, flash]]],
  ['consecutive_failures', 'cancelled and refused calls are not failures', {}, [t('failed'), t('cancelled'), t('errored', { error: { code: 'budget_exceeded', message: 'x' } }), t('failed')], []],
  ['consecutive_failures', 'count is configurable', { consecutive_failures: { count: 2 } }, [t('failed', { model: 'gemini-2.5-pro' }), t('failed', { model: 'gemini-2.5-pro' })], [[1, pro]]],
  [
    'consecutive_failures',
    'by pattern: per failure pattern, reset by a pass of its model',
    { consecutive_failures: { by: 'pattern' } },
    [
      { input: { name: 'failure.recorded', event: failureRecorded('p1', true) } },
      { input: { name: 'failure.recorded', event: failureRecorded('p2', true) } },
      { input: { name: 'failure.recorded', event: failureRecorded('p1', false) } },
      t('passed'),
      { input: { name: 'failure.recorded', event: failureRecorded('p1', false) } },
      { input: { name: 'failure.recorded', event: failureRecorded('p1', false) } },
      { input: { name: 'failure.recorded', event: failureRecorded('p1', false) } },
    ],
    [[6, 'pattern p1']],
  ],
  ['consecutive_failures', 'disabled', { consecutive_failures: { enabled: false } }, [t('failed'), t('failed'), t('failed')], []],
  // frequency_spike: window 10 min, min 5, factor 3 over the EWMA of earlier windows
  ['frequency_spike', 'fires at the 5th failure of a window with no history', {}, [t('failed'), t('failed'), t('passed'), t('failed'), t('failed'), t('failed'), t('failed')], [[5, 'all']]],
  ['frequency_spike', 'not below the minimum count', {}, [t('failed'), t('failed'), t('failed'), t('failed')], []],
  ['frequency_spike', 'failures spread over windows do not fire', {}, [t('failed'), at(10 * MIN, t('failed')), at(10 * MIN, t('failed')), at(10 * MIN, t('failed')), at(10 * MIN, t('failed')), at(10 * MIN, t('failed'))], []],
  [
    'frequency_spike',
    'a steady rate of 5 per window is the baseline, not a spike; 3x it is',
    { frequency_spike: { alpha: 1 } },
    [
      ...Array.from({ length: 4 }, () => t('failed')),
      at(10 * MIN, t('failed')),
      ...Array.from({ length: 4 }, () => t('failed')), // window 2: 5 (first window's 4 is the baseline: 5 < 12)
      at(10 * MIN, t('failed')),
      ...Array.from({ length: 14 }, () => t('failed')), // window 3: its 15th (3 x the baseline of 5) fires
    ],
    [[23, 'all']],
  ],
  ['frequency_spike', 'fires once per window', { frequency_spike: { min_count: 2 } }, [t('failed'), t('failed'), t('failed'), t('failed')], [[1, 'all']]],
  // new_pattern
  ['new_pattern', 'fires for a first-seen fingerprint only', {}, [{ input: { name: 'failure.recorded', event: failureRecorded('p1', true) } }, { input: { name: 'failure.recorded', event: failureRecorded('p1', false) } }], [[0, 'pattern p1']]],
  // high_risk: the predictor's threshold, or the configured one
  ['high_risk', 'above the predictor threshold', {}, [{ input: { name: 'risk.assessed', event: risk(0.69) } }, { input: { name: 'risk.assessed', event: risk(0.7) } }], [[1, flash]]],
  ['high_risk', 'configured threshold wins', { high_risk: { threshold: 0.9 } }, [{ input: { name: 'risk.assessed', event: risk(0.85) } }, { input: { name: 'risk.assessed', event: risk(0.95) } }], [[1, flash]]],
  // budget_threshold
  ['budget_threshold', 'each of 50/80/100 is its own alert', {}, [50, 80, 100].map((p) => ({ input: { name: 'budget.threshold', event: budget(p) } }) as Step), [[0, 'google_gemini daily 50%'], [1, 'google_gemini daily 80%'], [2, 'google_gemini daily 100%']]],
  ['budget_threshold', 'only the configured percents', { budget_threshold: { percents: [100] } }, [50, 80, 100].map((p) => ({ input: { name: 'budget.threshold', event: budget(p) } }) as Step), [[2, 'google_gemini daily 100%']]],
  // circuit_opened
  ['circuit_opened', 'each breaker that opens', {}, [{ input: { name: 'breaker.opened', event: breakerOpened() } }, { input: { name: 'breaker.opened', event: breakerOpened('gemini-2.5-pro') } }], [[0, flash], [1, pro]]],
])('%s: %s', (ruleId, _name, config, steps, expected) => {
  it('fires exactly when it should', () => {
    expect(fired(ruleId, config, steps)).toEqual(expected);
  });
});

describe('rule defaults', () => {
  it('every rule is on with no configuration, with a severity and a cool-down', () => {
    const rules = createRules({});
    expect(rules.map((r) => r.id).sort()).toEqual(['budget_threshold', 'circuit_opened', 'consecutive_failures', 'cost_overrun', 'frequency_spike', 'high_risk', 'new_pattern', 'rate_limited']);
    for (const r of rules) expect(r.cooldownMs).toBeGreaterThan(0);
  });

  it('budget severity rises with the threshold unless configured', () => {
    const sev = (config: AlertRulesConfig, p: number) => createRules(config).find((r) => r.id === 'budget_threshold')!.evaluate({ name: 'budget.threshold', event: budget(p) }, 0)[0]!.severity;
    expect([50, 80, 100].map((p) => sev({}, p))).toEqual(['info', 'warning', 'critical']);
    expect(sev({ budget_threshold: { severity: 'critical' } }, 50)).toBe('critical');
  });

  it('alert details never carry the prompt', () => {
    const [c] = createRules({}).find((r) => r.id === 'high_risk')!.evaluate({ name: 'risk.assessed', event: risk(0.99) }, 0);
    expect(JSON.stringify(c)).not.toContain('secret prompt text');
  });
});
