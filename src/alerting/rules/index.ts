import type { AlertRulesConfig, RuleId, Severity } from '../config.js';
import type { AlertRule, RuleBasics } from '../types.js';
import { BudgetThresholdRule } from './budgetThreshold.js';
import { CircuitOpenedRule } from './circuitOpened.js';
import { ConsecutiveFailuresRule } from './consecutiveFailures.js';
import { CostOverrunRule } from './costOverrun.js';
import { FrequencySpikeRule } from './frequencySpike.js';
import { HighRiskRule } from './highRisk.js';
import { NewPatternRule } from './newPattern.js';
import { RateLimitedRule } from './rateLimited.js';

const MINUTE = 60_000;

/** Defaults that make sense with no configuration (README lists them). */
export const RULE_DEFAULTS: Record<RuleId, { severity: Severity; cooldownMs: number }> = {
  high_risk: { severity: 'warning', cooldownMs: 30 * MINUTE },
  frequency_spike: { severity: 'critical', cooldownMs: 30 * MINUTE },
  new_pattern: { severity: 'info', cooldownMs: 24 * 60 * MINUTE },
  consecutive_failures: { severity: 'warning', cooldownMs: 15 * MINUTE },
  budget_threshold: { severity: 'warning', cooldownMs: 60 * MINUTE },
  circuit_opened: { severity: 'critical', cooldownMs: 15 * MINUTE },
  rate_limited: { severity: 'info', cooldownMs: 30 * MINUTE },
  cost_overrun: { severity: 'warning', cooldownMs: 60 * MINUTE },
};
export const DEFAULT_GROUP_INTERVAL_MS = MINUTE;

/** Builds the enabled rules from their (optional) configuration. */
export function createRules(config: AlertRulesConfig): AlertRule[] {
  const basics = (id: RuleId): RuleBasics => ({
    severity: config[id]?.severity ?? RULE_DEFAULTS[id].severity,
    cooldownMs: config[id]?.cooldown_ms ?? RULE_DEFAULTS[id].cooldownMs,
    groupIntervalMs: config[id]?.group_interval_ms ?? DEFAULT_GROUP_INTERVAL_MS,
  });
  const fs = config.frequency_spike;
  const rules: AlertRule[] = [
    new HighRiskRule(basics('high_risk'), config.high_risk?.threshold),
    new FrequencySpikeRule(basics('frequency_spike'), {
      windowMs: fs?.window_ms ?? 10 * MINUTE,
      minCount: fs?.min_count ?? 5,
      factor: fs?.factor ?? 3,
      alpha: fs?.alpha ?? 0.3,
    }),
    new NewPatternRule(basics('new_pattern')),
    new ConsecutiveFailuresRule(basics('consecutive_failures'), config.consecutive_failures?.count ?? 3, config.consecutive_failures?.by ?? 'model'),
    new BudgetThresholdRule({ ...basics('budget_threshold'), severityConfigured: config.budget_threshold?.severity !== undefined }, config.budget_threshold?.percents ?? [50, 80, 100]),
    new CircuitOpenedRule(basics('circuit_opened')),
    new RateLimitedRule(basics('rate_limited')),
    new CostOverrunRule(basics('cost_overrun'), config.cost_overrun?.min_ratio ?? 1.5),
  ];
  return rules.filter((r) => config[r.id]?.enabled !== false);
}
