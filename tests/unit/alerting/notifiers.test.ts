import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../../../src/alerting/notifiers/standardWebhooks.js';
import { ManualClock } from '../../../src/clock.js';
import { breakerOpened, trial } from './events.js';
import { startReceiver, TEST_SECRET, type Receiver } from './receiver.js';
import { alertingConfig, harness, type Harness } from './setup.js';

describe('Standard Webhooks signature', () => {
  it('matches the spec test vector', () => {
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });
});

describe('notifiers against a local receiver', () => {
  let h: Harness;
  let receiver: Receiver;
  let slack: Receiver | undefined;
  // Real time, so the standardwebhooks package accepts the timestamp; moved by hand for retries.
  const clock = new ManualClock(Date.now());
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
    await slack?.close();
    slack = undefined;
  });

  const setup = async (over: Parameters<typeof alertingConfig>[0] = {}, secrets: string[] = [TEST_SECRET]) => {
    receiver = await startReceiver();
    h = harness(clock, alertingConfig({ webhook: { url: receiver.url, secret: TEST_SECRET }, ...over }), { secrets });
  };
  const webhookStatus = () => h.service.status().receivers.find((r) => r.channel === 'webhook')!;

  it('posts the Standard Webhooks body and headers, verified by the standardwebhooks package', async () => {
    await setup();
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    const [alert] = h.service.list({ limit: 1 });
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Number(req!.headers['webhook-timestamp'])).toBe(Math.floor(clock.now() / 1000));
    const verified = new Webhook(TEST_SECRET).verify(req!.body, req!.headers);
    expect(verified).toEqual(JSON.parse(req!.body));
    expect(verified).toMatchObject({
      type: 'alert.fired',
      timestamp: new Date(clock.now()).toISOString(),
      data: { id: alert!.id, rule: 'circuit_opened', severity: 'critical', subject: 'google_gemini/gemini-2.5-flash', message: expect.stringContaining('opened') as string, count: 1 },
    });
    // A tampered body fails verification.
    expect(() => new Webhook(TEST_SECRET).verify(req!.body.replace('critical', 'info'), req!.headers)).toThrow();
    expect(JSON.stringify(receiver.requests)).not.toContain(TEST_SECRET.slice(6));
    expect(h.lines.join('\n')).not.toContain(TEST_SECRET.slice(6));
    expect(webhookStatus()).toMatchObject({ delivered: 1, pending: 0, failed_attempts: 0 });
  });

  it('retries after a 500 with backoff, with the same webhook-id, then counts it delivered', async () => {
    await setup();
    receiver.script({ status: 500 });
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(webhookStatus()).toMatchObject({ delivered: 0, pending: 1, failed_attempts: 1, last_error: 'HTTP 500' });
    expect(h.lines.some((l) => l.includes('alert delivery to webhook failed (attempt 1 of 5), retrying in 1 s: HTTP 500'))).toBe(true);
    clock.advance(999);
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1); // not before the backoff
    clock.advance(1);
    await h.service.flush();
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.headers['webhook-id']).toBe(receiver.requests[0]!.headers['webhook-id']);
    expect(webhookStatus()).toMatchObject({ delivered: 1, pending: 0, failed_attempts: 1 });
  });

  it('backoff doubles and an alert is given up after the last attempt', async () => {
    await setup({ delivery: { timeoutMs: 2_000, retryBaseMs: 1_000, maxAttempts: 3 } });
    receiver.setDefault({ status: 503 });
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    clock.advance(1_000);
    await h.service.flush();
    clock.advance(1_999);
    await h.service.flush();
    expect(receiver.requests).toHaveLength(2);
    clock.advance(1);
    await h.service.flush();
    clock.advance(3_600_000);
    await h.service.flush();
    expect(receiver.requests).toHaveLength(3);
    expect(webhookStatus()).toMatchObject({ delivered: 0, pending: 0, failed_attempts: 3, dead: 1 });
  });

  it('does not follow a redirect', async () => {
    await setup();
    receiver.script({ status: 302, headers: { location: `${receiver.url}/elsewhere` } });
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hook']);
    expect(webhookStatus()).toMatchObject({ delivered: 0, pending: 1, last_error: 'HTTP 302: redirects are not followed' });
  });

  it('410 Gone disables the endpoint: nothing more is queued or sent to it', async () => {
    await setup();
    receiver.script({ status: 410 });
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    h.events.emit('breaker.opened', breakerOpened('gemini-2.5-pro'));
    for (let i = 0; i < 3; i++) h.events.emit('trial.finished', trial('failed'));
    clock.advance(3_600_000);
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1);
    expect(webhookStatus()).toMatchObject({ disabled_reason: 'HTTP 410 Gone: the endpoint is disabled', pending: 0 });
    expect(h.service.list({ limit: 10 })).toHaveLength(3); // the history still has them
    const test = await h.service.sendTest('webhook');
    expect(test.results).toEqual([{ channel: 'webhook', outcome: 'disabled', http_status: null, error: expect.stringContaining('410') as string }]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('a receiver that never answers times out and is retried', async () => {
    await setup({ delivery: { timeoutMs: 150, retryBaseMs: 1_000, maxAttempts: 5 } });
    receiver.script('hang');
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(webhookStatus()).toMatchObject({ delivered: 0, pending: 1, failed_attempts: 1, last_error: 'no answer within 150 ms' });
    clock.advance(1_000);
    await h.service.flush();
    expect(webhookStatus()).toMatchObject({ delivered: 1, pending: 0 });
  });

  it('Slack: Block Kit with a text fallback, at most one message a second, and its URL never logged', async () => {
    slack = await startReceiver();
    const slackUrl = `${slack.url}/services/T000/B000/XXXXSECRETXXXX`;
    await setup({ slack: { url: slackUrl } }, [TEST_SECRET, slackUrl, '/services/T000/B000/XXXXSECRETXXXX']);
    slack.script({ status: 500 });
    h.events.emit('breaker.opened', breakerOpened());
    for (let i = 0; i < 3; i++) h.events.emit('trial.finished', trial('failed'));
    await h.service.flush();
    expect(slack.requests).toHaveLength(1); // the second waits its turn
    clock.advance(1_000);
    await h.service.flush();
    expect(slack.requests).toHaveLength(2);
    clock.advance(1_000);
    await h.service.flush();
    expect(slack.requests).toHaveLength(3);
    const bodies = slack.requests.map((r) => JSON.parse(r.body) as { text: string; blocks: Array<{ type: string }> });
    for (const b of bodies) {
      expect(b.text).toMatch(/^\[(critical|warning)\] (circuit_opened|consecutive_failures): /);
      expect(b.blocks.map((x) => x.type)).toEqual(['header', 'section', 'context']);
    }
    expect(new Set(bodies.map((b) => b.text)).size).toBe(2);
    const status = h.service.status().receivers.find((r) => r.channel === 'slack')!;
    expect(status).toMatchObject({ delivered: 2, failed_attempts: 1 });
    expect(h.lines.join('\n')).not.toContain('XXXXSECRETXXXX');
    expect(JSON.stringify(h.service.status())).not.toContain('XXXXSECRETXXXX');
  });

  it('console: one line per alert on the logger (stderr), critical as error', async () => {
    await setup();
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    const line = h.lines.find((l) => l.includes('ALERT'))!;
    expect(line).toMatch(/ERROR \[server\] ALERT \[critical\] circuit_opened: Circuit breaker for google_gemini\/gemini-2.5-flash opened/);
  });

  it('alerts_test reaches each configured channel and says how', async () => {
    await setup();
    const test = await h.service.sendTest('all');
    expect(test.results).toEqual([
      { channel: 'console', outcome: 'logged', http_status: null, error: null },
      { channel: 'webhook', outcome: 'delivered', http_status: 200, error: null },
    ]);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ type: 'alert.fired', data: { rule: 'alerts_test', id: test.alert.id } });
    await expect(h.service.sendTest('slack')).rejects.toThrow(/TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL/);
  });
});
