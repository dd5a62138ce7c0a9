import { createHash } from 'node:crypto';
import { redactSecrets } from '../errors.js';
import type { AlertStore, RecordResult } from './alertStore.js';
import type { AlertCandidate } from './types.js';

/** Same rule and subject: the same alert (Alertmanager's fingerprint over its labels). */
export function fingerprint(rule: string, subject: string): string {
  return createHash('sha256').update(`${rule}\n${subject}`).digest('hex').slice(0, 32);
}

/**
 * Turns a rule's candidate into a stored alert, or into one more occurrence of an alert still in
 * its cool-down; groups alerts of one rule and group into one notification. All of it in SQLite,
 * so server processes sharing a database agree.
 */
export class AlertManager {
  constructor(
    private readonly store: AlertStore,
    private readonly secrets: readonly string[],
  ) {}

  fire(c: AlertCandidate, timing: { cooldownMs: number; groupIntervalMs: number }, receivers: readonly string[], now: number): RecordResult {
    return this.store.record(
      {
        fingerprint: fingerprint(c.rule, c.subject),
        rule: c.rule,
        severity: c.severity,
        subject: redactSecrets(c.subject, this.secrets).slice(0, 300),
        groupKey: `${c.rule}:${c.group}`,
        message: redactSecrets(c.message, this.secrets).slice(0, 2_000),
        details: redactSecrets(JSON.stringify(c.details), this.secrets),
        cooldownMs: timing.cooldownMs,
        groupIntervalMs: timing.groupIntervalMs,
      },
      receivers,
      now,
    );
  }
}
