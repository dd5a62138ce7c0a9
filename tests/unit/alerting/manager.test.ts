import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { breakerOpened, trial } from './events.js';
import { startReceiver, TEST_SECRET, type Receiver } from './receiver.js';
import { alertingConfig, harness, type Harness } from './setup.js';

describe('alert manager: dedupe, cool-down, grouping, history', () => {
  let h: Harness;
  let receiver: Receiver;
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
  });

  const setup = async (rules = {}) => {
    receiver = await startReceiver();
    h = harness(clock, alertingConfig({ webhook: { url: receiver.url, secret: TEST_SECRET }, rules }));
  };
  const bodies = () => receiver.requests.map((r) => JSON.parse(r.body) as { data: { rule: string; subject: string; count: number; alerts: Array<{ subject: string }> } });

  it('the same rule and subject within the cool-down is one alert, counted, and sent once', async () => {
    await setup();
    for (let i = 0; i < 3; i++) h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    const alerts = h.service.list({ limit: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'circuit_opened', subject: 'google_gemini/gemini-2.5-flash', occurrences: 3 });
    expect(receiver.requests).toHaveLength(1);
    expect(h.service.status().process).toMatchObject({ fired: 1, deduplicated: 2 });
  });

  it('after the cool-down the same subject is a new alert', async () => {
    await setup({ circuit_opened: { cooldown_ms: 10 * 60_000 } });
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    clock.advance(10 * 60_000 - 1);
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(h.service.list({ limit: 10 })).toHaveLength(1);
    clock.advance(1);
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(h.service.list({ limit: 10 })).toHaveLength(2);
    expect(receiver.requests).toHaveLength(2);
  });

  it('alerts of one group within the group interval go out together, in one follow-up', async () => {
    await setup();
    h.events.emit('breaker.opened', breakerOpened('gemini-2.5-flash'));
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1);
    clock.advance(5_000);
    h.events.emit('breaker.opened', breakerOpened('gemini-2.5-pro'));
    h.events.emit('breaker.opened', breakerOpened('gemini-2.5-flash-lite'));
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1); // held for the group interval
    expect(h.service.list({ limit: 10 })).toHaveLength(3); // but in the history at once
    clock.advance(55_000);
    await h.service.flush();
    expect(receiver.requests).toHaveLength(2);
    const followUp = bodies()[1]!.data;
    expect(followUp.count).toBe(2);
    expect(followUp.alerts.map((a) => a.subject)).toEqual(['google_gemini/gemini-2.5-pro', 'google_gemini/gemini-2.5-flash-lite']);
  });

  it('different rules are not grouped', async () => {
    await setup();
    h.events.emit('breaker.opened', breakerOpened());
    for (let i = 0; i < 3; i++) h.events.emit('trial.finished', trial('failed'));
    await h.service.flush();
    expect(bodies().map((b) => b.data.rule).sort()).toEqual(['circuit_opened', 'consecutive_failures']);
  });

  it('alerts_list filters and acks persist', async () => {
    await setup();
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    clock.advance(1000);
    for (let i = 0; i < 3; i++) h.events.emit('trial.finished', trial('failed'));
    await h.service.flush();
    const [newest, oldest] = h.service.list({ limit: 10 });
    expect(newest!.rule).toBe('consecutive_failures');
    expect(h.service.list({ rule: 'circuit_opened', limit: 10 }).map((a) => a.id)).toEqual([oldest!.id]);
    expect(h.service.list({ sinceMs: clock.now(), limit: 10 }).map((a) => a.id)).toEqual([newest!.id]);
    expect(h.service.ack(oldest!.id).alreadyAcked).toBe(false);
    expect(h.service.ack(oldest!.id).alreadyAcked).toBe(true);
    expect(h.service.list({ status: 'acked', limit: 10 }).map((a) => a.id)).toEqual([oldest!.id]);
    expect(h.service.status().counts).toEqual({ firing: 1, acked: 1 });
    expect(() => h.service.ack('alt_00000000000000000000000000000000')).toThrow(/No alert/);
  });

  it('a rule that throws is logged and counted; the bus and other rules go on', async () => {
    await setup();
    // Malformed events (no provider or model): the third makes consecutive_failures fire with no subject.
    const bad = { ...trial('failed'), provider: undefined as unknown as string, model: undefined as unknown as string };
    for (let i = 0; i < 3; i++) h.events.emit('trial.finished', bad);
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(h.service.status().process.rule_errors).toBe(1);
    expect(h.lines.some((l) => l.includes('alert rule consecutive_failures failed on trial.finished'))).toBe(true);
    expect(h.service.list({ rule: 'circuit_opened', limit: 10 })).toHaveLength(1);
    expect(h.events.listenerFailures()).toBe(0);
  });
});

describe('alert history retention', () => {
  let h: Harness;
  let receiver: Receiver;
  const DAY = 86_400_000;
  afterEach(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('deletes alerts last seen before the retention, with their finished deliveries, and keeps the rest', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
    receiver = await startReceiver();
    h = harness(clock, alertingConfig({ webhook: { url: receiver.url, secret: TEST_SECRET }, retentionDays: 90 }));
    const rows = (table: string) => (h.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    h.events.emit('breaker.opened', breakerOpened('gemini-2.5-flash'));
    await h.service.flush();
    clock.advance(50 * DAY);
    h.events.emit('breaker.opened', breakerOpened('gemini-2.5-pro'));
    await h.service.flush();
    expect(receiver.requests).toHaveLength(2);
    expect(h.service.pruneHistory()).toBe(0); // the older one is 50 days old

    clock.advance(41 * DAY); // 91 and 41 days
    expect(h.service.pruneHistory()).toBe(1);
    expect(h.service.list({ limit: 10 }).map((a) => a.subject)).toEqual(['google_gemini/gemini-2.5-pro']);
    expect([rows('alerts'), rows('alert_notifications'), rows('alert_outbox')]).toEqual([1, 1, 1]);
    expect(h.db.pragma('foreign_key_check')).toEqual([]);
    expect(h.service.pruneHistory()).toBe(0);
  });

  it('keeps an old alert whose delivery is still pending', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 15, 12, 0, 0));
    receiver = await startReceiver();
    receiver.setDefault({ status: 503 });
    h = harness(clock, alertingConfig({ webhook: { url: receiver.url, secret: TEST_SECRET }, retentionDays: 30, delivery: { timeoutMs: 2_000, retryBaseMs: 100 * DAY, maxAttempts: 5 } }));
    h.events.emit('breaker.opened', breakerOpened());
    await h.service.flush();
    expect(receiver.requests).toHaveLength(1);
    clock.advance(60 * DAY); // the retry is not due for 100 days
    expect(h.service.pruneHistory()).toBe(0);
    expect(h.service.list({ limit: 10 })).toHaveLength(1);
  });
});
