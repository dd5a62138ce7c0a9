import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../src/app.js';
import type { AgentSpec } from '../src/agents/spawnSchema.js';
import { loadConfig, type Env } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { GeminiProvider } from '../src/providers/gemini.js';
import { TimedProvider } from './timedProvider.js';
import { startGeminiEmulator, type GeminiEmulator } from '../tests/helpers/geminiEmulator.js';
import { fmt, percentile } from './stats.js';

/**
 * Issue 16: "Event-to-POST latency p50 with a local receiver; agent-call overhead with three
 * notifiers configured vs none (<= 5% of the per-agent pipeline overhead)."
 *
 * Latency: the composed app (createApp) with a webhook to a receiver on 127.0.0.1; one
 * breaker.opened at a time (a new subject each, so neither dedupe nor grouping holds it), timed
 * from emit() to the receiver having read the request.
 * Overhead: as bench/agents.ts measures it (agents one at a time against a 0 ms emulator, the
 * time inside the provider's generate() subtracted), for two apps side by side, interleaved call
 * by call so drift hits both alike: one with no alert channel, one with console + webhook + Slack.
 * Two cases: every call passes (the usual path: the rules look, nothing fires), and every other
 * call fails its grader with consecutive_failures at count 1 and no cool-down (each failure after
 * a pass is an alert and two outbox rows, the receivers answering).
 */

const API_KEY = 'AIzaSyBENCHKEY0123456789abcdefghijklmnop';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const LATENCY_SAMPLES = 300;
const OVERHEAD_SAMPLES = 1000;
const TARGET = 0.05;

interface Receiver {
  url: string;
  onRequest: (() => void) | undefined;
  count: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const r: Receiver = { url: '', onRequest: undefined, count: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      r.count++;
      r.onRequest?.();
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return r;
}

interface BenchApp {
  app: App;
  provider: TimedProvider;
  close(): Promise<void>;
}

async function benchApp(extra: Env, emulator?: GeminiEmulator): Promise<BenchApp> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'to-bench-alerts-'));
  const config = loadConfig({ TASK_ORCHESTRATOR_HOME: home, GEMINI_API_KEY: API_KEY, GEMINI_BASE_URL: emulator?.url, LOG_LEVEL: 'silent', ...extra });
  const logger = createLogger({ level: 'silent', secrets: config.secrets });
  const provider = new TimedProvider(new GeminiProvider({ apiKey: API_KEY, baseUrl: emulator?.url ?? 'http://127.0.0.1:9', logger }));
  const app = await createApp({ config, logger, providers: { google_gemini: provider } });
  return {
    app,
    provider,
    async close() {
      await app.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

async function eventToPost(): Promise<number[]> {
  const receiver = await startReceiver();
  const b = await benchApp({ TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: receiver.url, TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: SECRET });
  const samples: number[] = [];
  try {
    for (let i = 0; i < LATENCY_SAMPLES + 20; i++) {
      const arrived = new Promise<void>((resolve) => (receiver.onRequest = resolve));
      const started = performance.now();
      b.app.services.events.emit('breaker.opened', { provider: `bench_${i}`, model: 'm', at: Date.now() });
      await arrived;
      if (i >= 20) samples.push(performance.now() - started); // after warm-up
      // Let the answer land, so each alert finds its lane free (latency, not queueing behind the last).
      while (b.app.services.alerting.status().receivers[0]!.delivered < i + 1) await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    await b.close();
    await receiver.close();
  }
  return samples;
}

const spec = (i: number, failing: boolean): AgentSpec => ({
  prompt: `question ${i}: what is ${i} + ${i}?`,
  model: 'gemini-2.5-flash',
  provider: 'google_gemini',
  ...(failing && i % 2 === 1 && { graders: [{ type: 'contains', values: ['never-in-the-answer'] }] }),
});

async function overhead(emulator: GeminiEmulator, failing: boolean): Promise<{ none: number[]; three: number[]; posts: number }> {
  const webhook = await startReceiver();
  const slack = await startReceiver();
  const rules = failing ? JSON.stringify({ consecutive_failures: { count: 1, cooldown_ms: 0, group_interval_ms: 0 } }) : '';
  const none = await benchApp({ TASK_ORCHESTRATOR_ALERT_RULES: rules }, emulator);
  const three = await benchApp(
    {
      TASK_ORCHESTRATOR_ALERT_RULES: rules,
      TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: webhook.url,
      TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: SECRET,
      TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL: `${slack.url}/services/T0/B0/XXXX`,
    },
    emulator,
  );
  const signal = new AbortController().signal;
  const out = { none: [] as number[], three: [] as number[], posts: 0 };
  const one = async (b: BenchApp, i: number): Promise<number> => {
    const before = b.provider.totalMs;
    const started = performance.now();
    const result = await b.app.services.agents.spawn(spec(i, failing), { signal });
    const total = performance.now() - started;
    if (result.status !== (failing && i % 2 === 1 ? 'failed' : 'passed')) throw new Error(`agent ${i} ended ${result.status}`);
    return total - (b.provider.totalMs - before);
  };
  try {
    for (let i = 0; i < 50; i++) (await one(none, i), await one(three, i)); // warm-up
    for (let i = 0; i < OVERHEAD_SAMPLES; i++) {
      // Alternate which goes first, so neither always runs right after the other's deferred work.
      if (i % 2 === 0) (out.none.push(await one(none, i)), out.three.push(await one(three, i)));
      else (out.three.push(await one(three, i)), out.none.push(await one(none, i)));
    }
    await three.app.services.alerting.flush();
    out.posts = webhook.count + slack.count;
  } finally {
    await none.close();
    await three.close();
    await webhook.close();
    await slack.close();
  }
  return out;
}

export async function run(): Promise<void> {
  const latency = await eventToPost();
  console.log(`event-to-POST latency (emit → receiver has the request, webhook, ${LATENCY_SAMPLES} alerts one at a time): p50 ${fmt(percentile(latency, 50))}  p99 ${fmt(percentile(latency, 99))}`);

  const emulator = await startGeminiEmulator({ latencyMs: 0 });
  try {
    console.log(`\nagent-call overhead, provider time excluded (${OVERHEAD_SAMPLES} agents per app, interleaved; target: three notifiers add <= ${TARGET * 100}% of the pipeline overhead)`);
    for (const failing of [false, true]) {
      const r = await overhead(emulator, failing);
      const p50None = percentile(r.none, 50);
      const p50Three = percentile(r.three, 50);
      const added = (p50Three - p50None) / p50None;
      const label = failing ? 'every other call alerts' : 'every call passes';
      console.log(
        `  ${label.padEnd(28)} none p50 ${fmt(p50None).padStart(8)}   console+webhook+slack p50 ${fmt(p50Three).padStart(8)}   added ${(added * 100).toFixed(1)}% ` +
          `(${added <= TARGET ? 'within' : 'OVER'} target)${failing ? `; ${r.posts} POSTs delivered` : ''}`,
      );
    }
  } finally {
    await emulator.close();
  }
}
