import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { TEST_SECRET } from './receiver.js';

const base = { TASK_ORCHESTRATOR_HOME: '/tmp/to-alert-config' };
const error = (env: Record<string, string>) => {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
};

describe('alerting configuration', () => {
  it('no configuration: console only, every rule on its defaults', () => {
    expect(loadConfig(base).alerting).toEqual({ webhook: undefined, slack: undefined, rules: {}, delivery: { timeoutMs: 5_000, retryBaseMs: 1_000, maxAttempts: 10 }, retentionDays: 90 });
  });

  it('history retention: 90 days by default; never shorter than the longest cool-down (7 days)', () => {
    expect(loadConfig({ ...base, TASK_ORCHESTRATOR_ALERT_RETENTION_DAYS: '30' }).alerting.retentionDays).toBe(30);
    expect(error({ TASK_ORCHESTRATOR_ALERT_RETENTION_DAYS: '7' })).toMatch(/TASK_ORCHESTRATOR_ALERT_RETENTION_DAYS/);
    expect(error({ TASK_ORCHESTRATOR_ALERT_RETENTION_DAYS: '7' })).toMatch(/8/);
  });

  it('webhook and Slack URLs: http or https only, errors name the variable and never echo a webhook URL', () => {
    expect(error({ TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: 'ftp://example.com/x', TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: TEST_SECRET })).toMatch(
      /^Invalid configuration: TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL must be an http or https URL$/,
    );
    const slack = error({ TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL: 'file:///services/T0/B0/SECRETTOKEN' });
    expect(slack).toMatch(/TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL must be an http or https URL/);
    expect(slack).not.toContain('SECRETTOKEN');
  });

  it('the webhook needs a whsec_ secret, and the secret is never shown', () => {
    expect(error({ TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: 'https://example.com/hook' })).toMatch(/TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET must be set together/);
    const bad = error({ TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: 'https://example.com/hook', TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: 'plain-password-123' });
    expect(bad).toMatch(/TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET must be "whsec_"/);
    expect(bad).not.toContain('plain-password-123');
  });

  it('secrets (webhook secret, Slack URL and its token path) are on the redaction list', () => {
    const slackUrl = 'https://hooks.slack.com/services/T000/B000/abcdefSECRET';
    const config = loadConfig({ ...base, TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: 'https://example.com/hook', TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: TEST_SECRET, TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL: slackUrl });
    expect(config.secrets).toEqual(expect.arrayContaining([TEST_SECRET, slackUrl, '/services/T000/B000/abcdefSECRET']));
    expect(config.alerting.webhook).toEqual({ url: 'https://example.com/hook', secret: TEST_SECRET });
  });

  it('per-rule settings as JSON; a typo or a bad value names where', () => {
    const rules = { consecutive_failures: { count: 5, severity: 'critical' }, rate_limited: { enabled: false } };
    expect(loadConfig({ ...base, TASK_ORCHESTRATOR_ALERT_RULES: JSON.stringify(rules) }).alerting.rules).toEqual(rules);
    expect(error({ TASK_ORCHESTRATOR_ALERT_RULES: '{"consecutive_failures":{"cuont":5}}' })).toMatch(/TASK_ORCHESTRATOR_ALERT_RULES\.consecutive_failures: .*cuont/);
    expect(error({ TASK_ORCHESTRATOR_ALERT_RULES: '{"no_such_rule":{}}' })).toMatch(/TASK_ORCHESTRATOR_ALERT_RULES .*no_such_rule/);
    expect(error({ TASK_ORCHESTRATOR_ALERT_RULES: '{"high_risk":{"threshold":2}}' })).toMatch(/TASK_ORCHESTRATOR_ALERT_RULES\.high_risk\.threshold: /);
  });
});

describe('per-rule settings in config.json', () => {
  it('an object under TASK_ORCHESTRATOR_ALERT_RULES; a file holding the Slack URL must be private', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { withConfigFile } = await import('../../../src/configFile.js');
    const { makeTempDir } = await import('../../helpers/paths.js');
    const home = makeTempDir();
    const file = path.join(home, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ TASK_ORCHESTRATOR_ALERT_RULES: { consecutive_failures: { count: 4 } }, TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' }));
    fs.chmodSync(file, 0o644);
    const layered = withConfigFile({ TASK_ORCHESTRATOR_HOME: home });
    expect(loadConfig(layered.env).alerting.rules).toEqual({ consecutive_failures: { count: 4 } });
    expect(layered.warnings).toEqual([expect.stringContaining('chmod 600')]);
  });
});
