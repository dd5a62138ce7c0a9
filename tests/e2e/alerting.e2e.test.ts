import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { serverError, startGeminiEmulator, type GeminiEmulator } from '../helpers/geminiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';
import { startReceiver, TEST_SECRET, type Receiver } from '../unit/alerting/receiver.js';
import { TEST_API_KEY } from '../helpers/keys.js';

const API_KEY = TEST_API_KEY;

describe('alerting end to end through the stdio server', () => {
  let emulator: GeminiEmulator;
  let receiver: Receiver;
  let server: StartedServer;

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
    receiver = await startReceiver();
    server = await startServer({
      TASK_ORCHESTRATOR_HOME: makeTempDir(),
      GEMINI_API_KEY: API_KEY,
      GEMINI_BASE_URL: emulator.url,
      TASK_ORCHESTRATOR_RETRY_MAX: '0',
      TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '100',
      TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: receiver.url,
      TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: TEST_SECRET,
      // The immune system's new_pattern alert for the first failure would reach the receiver too.
      TASK_ORCHESTRATOR_ALERT_RULES: JSON.stringify({ new_pattern: { enabled: false } }),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await emulator?.close();
  });

  const { call, ok } = toolCalls(() => server.client);

  it('repeated failing spawns raise consecutive_failures and the receiver gets it, signed', async () => {
    const logged: Array<{ level: string; data: unknown }> = [];
    server.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logged.push(n.params));
    await server.client.setLoggingLevel('warning');
    emulator.setDefault(serverError(500));
    for (let i = 0; i < 3; i++) {
      const result = await call('spawn_agent', { prompt: `summarise item ${i}`, model: 'gemini-2.5-flash' });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toMatch(/provider_error/);
    }
    await receiver.waitFor(1);
    const [req] = receiver.requests;
    const body = new Webhook(TEST_SECRET).verify(req!.body, req!.headers) as Structured;
    expect(body).toMatchObject({ type: 'alert.fired', data: { rule: 'consecutive_failures', severity: 'warning', subject: 'google_gemini/gemini-2.5-flash' } });
    expect(req!.body).not.toContain(API_KEY);

    // The receiver holds the request before the server has read its 200 and booked the delivery.
    const webhook = async () => (await ok('alerts_list', { rule: 'consecutive_failures' })).receivers.find((r: Structured) => r.channel === 'webhook');
    await expect.poll(async () => (await webhook())?.delivered).toBe(1);
    const listed = await ok('alerts_list', { rule: 'consecutive_failures' });
    expect(listed.alerts).toHaveLength(1);
    expect(listed.alerts[0]).toMatchObject({ id: body.data.id, status: 'firing', rule: 'consecutive_failures' });
    expect(listed.receivers.find((r: Structured) => r.channel === 'webhook')).toMatchObject({ enabled: true, delivered: 1, pending: 0 });

    const acked = await ok('alerts_ack', { id: body.data.id });
    expect(acked).toMatchObject({ already_acked: false, alert: { status: 'acked' } });
    expect((await ok('alerts_list', { status: 'firing' })).alerts).toHaveLength(0);
    // The console channel wrote to stderr, never stdout, and to MCP logging, which the client asked for.
    await expect.poll(() => server.transport.stderr).toContain('ALERT [warning] consecutive_failures');
    await expect.poll(() => logged).toContainEqual({ level: 'warning', logger: 'server.alerting', data: expect.objectContaining({ message: expect.stringContaining('ALERT [warning] consecutive_failures') }) });
    expect(server.transport.invalidStdoutLines).toEqual([]);
  });

  it('alerts_test sends to the webhook and reports it', async () => {
    const before = receiver.requests.length;
    const out = await ok('alerts_test', { channel: 'webhook' });
    expect(out.results).toEqual([{ channel: 'webhook', outcome: 'delivered', http_status: 200, error: null }]);
    expect(receiver.requests).toHaveLength(before + 1);
  });

  it('bad input is an error naming the field', async () => {
    const bad = await call('alerts_ack', { id: 'nope' });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad.content)).toMatch(/id/);
    const unknown = await call('alerts_ack', { id: 'alt_00000000000000000000000000000000' });
    expect(JSON.stringify(unknown.content)).toMatch(/not_found/);
    const channel = await call('alerts_test', { channel: 'slack' });
    expect(JSON.stringify(channel.content)).toMatch(/not_configured.*TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL/);
    const since = await call('alerts_list', { since: 'yesterday' });
    expect(since.isError).toBe(true);
    expect(JSON.stringify(since.content)).toMatch(/since/);
  });
});
