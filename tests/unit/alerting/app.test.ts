import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { agentSpecSchema } from '../../../src/agents/spawnSchema.js';
import { loadConfig, type Env } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { serverError, startGeminiEmulator, type GeminiEmulator } from '../../helpers/geminiEmulator.js';
import { makeTempDir } from '../../helpers/paths.js';
import { breakerOpened } from './events.js';
import { startReceiver, TEST_SECRET, type Receiver } from './receiver.js';
import { TEST_API_KEY } from '../../helpers/keys.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'alertChild.mjs');
const API_KEY = TEST_API_KEY;

describe('alerting in the composed app', () => {
  let receiver: Receiver;
  let emulator: GeminiEmulator;
  const apps: App[] = [];
  beforeAll(async () => {
    emulator = await startGeminiEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await receiver?.close();
    emulator.reset();
    emulator.setDefault(undefined);
  });

  const env = (home: string, extra: Env = {}): Env => ({
    TASK_ORCHESTRATOR_HOME: home,
    GEMINI_API_KEY: API_KEY,
    GEMINI_BASE_URL: emulator.url,
    TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: receiver.url,
    TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: TEST_SECRET,
    ...extra,
  });
  const open = async (e: Env) => {
    const app = await createApp({ config: loadConfig(e), logger: silentLogger });
    apps.push(app);
    return app;
  };

  it('two servers on one database send one alert, not two', async () => {
    receiver = await startReceiver();
    const home = makeTempDir();
    const [a, b] = [await open(env(home)), await open(env(home))];
    a!.services.events.emit('breaker.opened', breakerOpened());
    b!.services.events.emit('breaker.opened', breakerOpened());
    await Promise.all([a!.services.alerting.flush(), b!.services.alerting.flush()]);
    await Promise.all([a!.services.alerting.flush(), b!.services.alerting.flush()]);
    expect(receiver.requests).toHaveLength(1);
    const alerts = a!.services.alerting.list({ limit: 10 });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.occurrences).toBe(2);
    // Both see the same history and the same delivery status.
    expect(b!.services.alerting.list({ limit: 10 }).map((x) => x.id)).toEqual([alerts[0]!.id]);
    expect(b!.services.alerting.status().receivers[0]).toMatchObject({ delivered: 1, pending: 0 });
  });

  it('two server processes on one database, alerting together, send one alert', async () => {
    receiver = await startReceiver();
    const home = makeTempDir();
    const childEnv = { ...env(home), LOG_LEVEL: 'silent', PATH: process.env.PATH };
    // Both open the database first (migrations), then race.
    await (await open(env(home))).close();
    const children = [0, 1].map(() => spawn(process.execPath, [CHILD], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] }));
    try {
      for (const child of children) {
        const line = await readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
        expect(JSON.parse(String(line.value))).toEqual({ fired: true });
      }
      await receiver.waitFor(1);
      const app = await open(env(home));
      await app.services.alerting.flush();
      expect(receiver.requests).toHaveLength(1);
      const alerts = app.services.alerting.list({ limit: 10 });
      expect(alerts).toHaveLength(1);
      expect(alerts[0]!.occurrences).toBe(2);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  });

  it('a receiver that never answers does not delay a spawn', async () => {
    receiver = await startReceiver();
    receiver.setDefault('hang');
    const app = await open(
      env(makeTempDir(), {
        TASK_ORCHESTRATOR_RETRY_MAX: '0',
        TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '100',
        TASK_ORCHESTRATOR_ALERT_TIMEOUT_MS: '60000',
        // Only consecutive_failures: the immune system's new_pattern alert would queue beside it.
        TASK_ORCHESTRATOR_ALERT_RULES: JSON.stringify({ new_pattern: { enabled: false } }),
      }),
    );
    const spawn = (prompt: string) => app.services.agents.spawn(agentSpecSchema.parse({ prompt, model: 'gemini-2.5-flash' }), { signal: new AbortController().signal });
    emulator.setDefault(serverError(500));
    for (let i = 0; i < 3; i++) expect((await spawn(`failing ${i}`)).status).toBe('errored');
    await receiver.waitFor(1); // consecutive_failures went out, and the receiver holds it
    expect(receiver.open).toBe(1);
    emulator.setDefault(undefined);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await spawn(`passing ${i}`));
    // Every spawn answered while the alert's request was still unanswered.
    expect(results.map((r) => r.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
    expect(receiver.open).toBe(1);
    expect(app.services.alerting.status().receivers[0]).toMatchObject({ delivered: 0, pending: 1 });
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ data: { rule: 'consecutive_failures', subject: 'google_gemini/gemini-2.5-flash' } });
  });

  it("the cost service's threshold facts become budget_threshold alerts, one per threshold", async () => {
    receiver = await startReceiver();
    const app = await open(env(makeTempDir(), { TASK_ORCHESTRATOR_ALERT_RULES: JSON.stringify({ budget_threshold: { group_interval_ms: 0 } }) }));
    // flash list price $2.50 per million output tokens: each call answers its whole 60,000-token cap,
    // $0.15 of a $0.50 daily limit, never more than it reserved (an overrun would teach the budget
    // to reserve more and refuse the next call).
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.5 });
    const spawn = async () =>
      expect((await app.services.agents.spawn(agentSpecSchema.parse({ prompt: 'hi', model: 'gemini-2.5-flash', max_output_tokens: 60_000 }), { signal: new AbortController().signal })).status).toBe('passed');
    const answer = (text: string) => ({ kind: 'ok' as const, text, usage: { input: 0, output: 60_000 } });
    emulator.enqueue(answer('a'), answer('b'), answer('c'));
    await spawn(); // $0.15: 30%
    await spawn(); // $0.30: 60%, past 50%
    await spawn(); // $0.45: 90%, past 80%
    await app.services.alerting.flush();
    const alerts = app.services.alerting.list({ rule: 'budget_threshold', limit: 10 });
    expect(alerts.map((a) => [a.subject, a.severity])).toEqual([
      ['google_gemini daily 80%', 'warning'],
      ['google_gemini daily 50%', 'info'],
    ]);
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { data: { subject: string } }).data.subject)).toEqual(['google_gemini daily 50%', 'google_gemini daily 80%']);
  });

  it('outbox across a restart: killed (-9) with an undelivered alert, delivered after the next start, once', async () => {
    receiver = await startReceiver();
    receiver.setDefault({ status: 500 });
    const home = makeTempDir();
    const childEnv = { ...env(home), TASK_ORCHESTRATOR_ALERT_RETRY_BASE_MS: '200', TASK_ORCHESTRATOR_ALERT_TIMEOUT_MS: '1000', LOG_LEVEL: 'silent', PATH: process.env.PATH };
    const child = spawn(process.execPath, [CHILD], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const firstLine = await readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
    expect(JSON.parse(String(firstLine.value))).toEqual({ fired: true });
    await receiver.waitFor(2); // the child tried (and retried) and got 500s
    child.kill('SIGKILL');
    await exited;
    const failedIds = new Set(receiver.requests.map((r) => r.headers['webhook-id']));
    expect(failedIds.size).toBe(1);

    receiver.setDefault({ status: 200 });
    const seenBefore = receiver.requests.length;
    const app = await open({ ...childEnv, TASK_ORCHESTRATOR_ALERT_TIMEOUT_MS: '1000' });
    // The new process delivers it on its own (its worker polls the outbox), no new event needed.
    await receiver.waitFor(seenBefore + 1, 15_000);
    await app.services.alerting.flush();
    const accepted = receiver.requests.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    expect(failedIds.has(accepted[0]!.headers['webhook-id'])).toBe(true);
    expect(app.services.alerting.status().receivers[0]).toMatchObject({ delivered: 1, pending: 0 });
    expect(app.services.alerting.list({ limit: 10 })).toHaveLength(1);
  });
});
