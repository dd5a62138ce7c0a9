import { z } from 'zod';

/**
 * The alerting slice of the configuration: where alerts go and how each rule behaves. Parsed by
 * src/config.ts from the environment (or config.json); the service receives only this slice.
 */

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

const common = {
  enabled: z.boolean().optional(),
  severity: z.enum(SEVERITIES).optional(),
  /** No second alert for the same rule and subject within this long. */
  cooldown_ms: z.number().int().min(0).max(7 * 86_400_000).optional(),
  /** Alerts of one group within this long are sent together, in one follow-up. */
  group_interval_ms: z.number().int().min(0).max(86_400_000).optional(),
};
const ratio = z.number().min(0).max(1);

/** Per-rule overrides; every field optional (defaults in rules/index.ts). Unknown keys are errors. */
export const alertRulesSchema = z
  .object({
    high_risk: z.object({ ...common, threshold: ratio.optional() }).strict(),
    frequency_spike: z
      .object({
        ...common,
        window_ms: z.number().int().min(1_000).max(86_400_000).optional(),
        min_count: z.number().int().min(1).max(100_000).optional(),
        factor: z.number().min(1).max(1_000).optional(),
        alpha: z.number().gt(0).max(1).optional(),
      })
      .strict(),
    new_pattern: z.object(common).strict(),
    consecutive_failures: z.object({ ...common, count: z.number().int().min(1).max(1_000).optional(), by: z.enum(['model', 'pattern']).optional() }).strict(),
    budget_threshold: z.object({ ...common, percents: z.array(z.number().int().min(1).max(1_000)).max(10).optional() }).strict(),
    circuit_opened: z.object(common).strict(),
    rate_limited: z.object(common).strict(),
    cost_overrun: z.object({ ...common, min_ratio: z.number().min(1).max(1_000).optional() }).strict(),
  })
  .partial()
  .strict();
export type AlertRulesConfig = z.infer<typeof alertRulesSchema>;
export type RuleId = keyof AlertRulesConfig;

export interface AlertingConfig {
  /** Standard Webhooks receiver; the secret is "whsec_" + base64. */
  webhook: { url: string; secret: string } | undefined;
  /** Slack incoming webhook URL (itself a credential). */
  slack: { url: string } | undefined;
  rules: AlertRulesConfig;
  delivery: {
    /** Per HTTP attempt. */
    timeoutMs: number;
    /** First retry after this long, doubling, capped at an hour. */
    retryBaseMs: number;
    /** Attempts per receiver before an alert is given up (dead). */
    maxAttempts: number;
  };
  /** Alerts last seen longer ago than this are deleted, with their finished deliveries. */
  retentionDays: number;
}

/** A Standard Webhooks signing secret: whsec_ then base64 of 24 to 64 bytes. */
export function isWebhookSecret(value: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!m) return false;
  const bytes = Buffer.from(m[1]!, 'base64').length;
  return bytes >= 16 && bytes <= 64;
}
