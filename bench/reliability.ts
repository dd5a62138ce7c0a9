import fs from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startGeminiEmulator, type GeminiEmulator } from '../tests/helpers/geminiEmulator.js';
import { makeTempDir } from '../tests/helpers/paths.js';
import { startServer } from '../tests/helpers/serverProcess.js';

/**
 * Issue: "With the emulator failing 30% of requests at random with 503, run 100 agents through
 * spawn_parallel_agents: how many succeeded, how many failed cleanly with a reason, zero lost or
 * unaccounted, no unhandled rejection, server alive afterwards. Target: >= 99 succeed."
 *
 * The real stdio server (dist/bin) against the Gemini emulator, default retry policy (5
 * retries) but short waits (TASK_ORCHESTRATOR_RETRY_BASE_MS=50, _MAX_DELAY_MS=500). Each row is a
 * fresh server and a fresh data dir; the emulator's failure RNG is re-seeded per row, so every row
 * sees the same failure sequence (in arrival order). Rows vary the breaker settings, the model
 * ("auto" may route around an open breaker) and max_concurrency.
 */

const API_KEY = 'AIzaSyBENCHKEY0123456789abcdefghijklmnop';
const AGENTS = 100;
const FAILURE = { rate: 0.3, status: 503 } as const;
const SEED = 42;
const LATENCY_MS = 50;
const TARGET = 99;
const RETRY_ENV = { TASK_ORCHESTRATOR_RETRY_BASE_MS: '50', TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '500' };

interface Scenario {
  label: string;
  env: Record<string, string>;
  model: string | undefined;
  concurrency: number | undefined;
  seed?: number;
  failure?: { rate: number; status: number };
}

type Result = {
  index: number;
  status: 'passed' | 'failed' | 'errored' | 'cancelled';
  model: string | null;
  attempts: number;
  error?: { code: string; message: string };
};

interface Row {
  label: string;
  passed: number;
  failedWithReason: number;
  lost: number;
  byCode: Record<string, number>;
  models: Record<string, number>;
  requests: number;
  attemptsReported: number;
  ledgerCalls: number | null;
  wallMs: number;
  breakerOpenings: number;
  aliveAfter: boolean;
  tasksListOk: boolean;
  unhandled: string[];
  warnings: string[];
  exitCode: number | null;
  sampleError: string | undefined;
}

async function runScenario(emulator: GeminiEmulator, s: Scenario): Promise<Row> {
  emulator.reset();
  emulator.setFailureRate(s.failure ?? FAILURE, s.seed ?? SEED);
  const home = makeTempDir('to-bench-rel-');
  const server = await startServer({
    TASK_ORCHESTRATOR_HOME: home,
    GEMINI_API_KEY: API_KEY,
    GEMINI_BASE_URL: emulator.url,
    ...RETRY_ENV,
    ...s.env,
  });
  const agents = Array.from({ length: AGENTS }, (_, i) => ({ prompt: `question ${i}: what is ${i} + ${i}?`, ...(s.model && { model: s.model }) }));
  const started = performance.now();
  const res = (await server.client.callTool(
    { name: 'spawn_parallel_agents', arguments: { agents, ...(s.concurrency && { max_concurrency: s.concurrency }) } },
    undefined,
    { timeout: 600_000 },
  )) as CallToolResult;
  const wallMs = performance.now() - started;
  if (res.isError) throw new Error(`${s.label}: spawn_parallel_agents returned an error: ${JSON.stringify(res.content).slice(0, 500)}`);
  const results = (res.structuredContent as { outcome: { results: Result[] } }).outcome.results;

  // Accounting: every index 0..99 present exactly once; a non-passed result must carry code + message.
  const seen = new Map<number, Result>();
  for (const r of results) if (!seen.has(r.index)) seen.set(r.index, r);
  let passed = 0;
  let failedWithReason = 0;
  let lost = 0;
  const byCode: Record<string, number> = {};
  const models: Record<string, number> = {};
  let sampleError: string | undefined;
  for (let i = 0; i < AGENTS; i++) {
    const r = seen.get(i);
    if (!r) {
      lost++;
      continue;
    }
    if (r.model) models[r.model] = (models[r.model] ?? 0) + 1;
    if (r.status === 'passed') passed++;
    else if (r.error && r.error.code.length > 0 && r.error.message.length > 0) {
      failedWithReason++;
      byCode[r.error.code] = (byCode[r.error.code] ?? 0) + 1;
      sampleError ??= `${r.error.code}: ${r.error.message}`;
    } else lost++; // ended without a reason
  }
  if (results.length !== AGENTS) lost += Math.max(0, results.length - AGENTS); // duplicates count as unaccounted

  const aliveAfter = server.transport.child?.exitCode === null;
  const list = (await server.client.callTool({ name: 'tasks_list', arguments: {} })) as CallToolResult;
  const tasksListOk = !list.isError;
  const cost = (await server.client.callTool({ name: 'cost_summary', arguments: { period: 'all' } })) as CallToolResult;
  const ledgerCalls = cost.isError ? null : ((cost.structuredContent as { totals: { calls: number } }).totals.calls ?? null);
  const exitCode = await server.stop();
  fs.rmSync(home, { recursive: true, force: true });
  const stderr = server.transport.stderr;
  const lines = stderr.split('\n');
  const unhandled = lines.filter((l) => /unhandled|uncaught/i.test(l));
  const warnings = [...new Set(lines.filter((l) => /\(node:\d+\) \w+Warning/.test(l)).map((l) => l.replace(/^\(node:\d+\) /, '').slice(0, 140)))];
  const breakerOpenings = lines.filter((l) => /Circuit breaker .* opened/.test(l)).length;
  return {
    label: s.label,
    passed,
    failedWithReason,
    lost,
    byCode,
    models,
    requests: emulator.requests.filter((r) => r.endpoint === 'generateContent').length,
    attemptsReported: results.reduce((sum, r) => sum + r.attempts, 0),
    ledgerCalls,
    wallMs,
    breakerOpenings,
    aliveAfter,
    tasksListOk,
    unhandled,
    warnings,
    exitCode,
    sampleError,
  };
}

/** Expected requests before the first run of k consecutive failures when each fails with probability p. */
function requestsToTrip(p: number, k: number): number {
  return (1 - p ** k) / ((1 - p) * p ** k);
}

export async function run(): Promise<void> {
  const emulator = await startGeminiEmulator({ latencyMs: LATENCY_MS, failureRate: FAILURE, seed: SEED });
  const scenarios: Scenario[] = [];
  const options: Array<{ label: string; env: Record<string, string>; model?: string }> = [
    { label: 'defaults (breaker: 3 consecutive failures while >= 80% of the last minute failed; 30 s), model gemini-2.5-flash', env: {}, model: 'gemini-2.5-flash' },
    { label: 'defaults, model auto (routes around open breakers)', env: {} },
    { label: 'breaker reset 1 s, model gemini-2.5-flash', env: { TASK_ORCHESTRATOR_BREAKER_RESET_MS: '1000' }, model: 'gemini-2.5-flash' },
    { label: 'breaker threshold 5, model gemini-2.5-flash', env: { TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '5' }, model: 'gemini-2.5-flash' },
    { label: 'breaker threshold 5, model auto', env: { TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '5' } },
    { label: 'breaker threshold 10, model gemini-2.5-flash', env: { TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '10' }, model: 'gemini-2.5-flash' },
    { label: 'breaker effectively off (threshold 1000)', env: { TASK_ORCHESTRATOR_BREAKER_THRESHOLD: '1000' }, model: 'gemini-2.5-flash' },
  ];
  for (const concurrency of [undefined, 20]) {
    for (const o of options) {
      scenarios.push({ label: `${o.label}`, env: o.env, model: o.model, concurrency });
    }
  }

  console.log(
    `${AGENTS} agents via spawn_parallel_agents (stdio server), emulator: ${FAILURE.rate * 100}% of requests fail with ${FAILURE.status} at random (seed ${SEED}), ${LATENCY_MS} ms latency`,
  );
  console.log(
    `retry policy: defaults (TASK_ORCHESTRATOR_RETRY_MAX=5, i.e. up to 6 attempts) but SHORT waits: TASK_ORCHESTRATOR_RETRY_BASE_MS=${RETRY_ENV.TASK_ORCHESTRATOR_RETRY_BASE_MS}, TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS=${RETRY_ENV.TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS} (defaults 2000 / 60000)`,
  );
  console.log(`target: >= ${TARGET} of ${AGENTS} succeed; 0 lost; no unhandled rejection; server alive afterwards`);
  try {
    let lastConcurrency: number | undefined | null = null;
    for (const s of scenarios) {
      if (s.concurrency !== lastConcurrency) {
        lastConcurrency = s.concurrency;
        console.log(`\n-- max_concurrency ${s.concurrency ?? '5 (default, not passed)'} --`);
      }
      const r = await runScenario(emulator, s);
      const verdict = r.passed >= TARGET && r.lost === 0 && r.unhandled.length === 0 && r.aliveAfter && r.tasksListOk ? 'MEETS TARGET' : 'misses target';
      const codes = Object.entries(r.byCode).map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
      const models = Object.entries(r.models).map(([m, n]) => `${m} ${n}`).join(', ');
      console.log(`  ${r.label}`);
      console.log(
        `    succeeded ${r.passed}, failed with reason ${r.failedWithReason} (${codes}), lost ${r.lost}  -> ${verdict}  [${(r.wallMs / 1000).toFixed(1)} s, breaker opened ${r.breakerOpenings}x]`,
      );
      console.log(
        `    requests to emulator ${r.requests}, attempts reported in results ${r.attemptsReported}, ledger calls ${r.ledgerCalls ?? 'n/a'}; models: ${models}`,
      );
      console.log(
        `    server alive after: ${r.aliveAfter}, tasks_list ok: ${r.tasksListOk}, exit code on stdin close: ${r.exitCode}, unhandled/uncaught lines in stderr: ${r.unhandled.length}` +
          (r.warnings.length > 0 ? `, node warnings: ${r.warnings.join(' | ')}` : ''),
      );
      if (r.unhandled.length > 0) console.log(`    !! ${r.unhandled.slice(0, 3).join('\n    !! ')}`);
      if (r.sampleError) console.log(`    e.g. ${r.sampleError.slice(0, 260)}`);
    }
    const seeds = Number(process.env.BENCH_RELIABILITY_SEEDS ?? '5');
    if (seeds > 0) await seedSweep(emulator, Array.from({ length: seeds }, (_, i) => i + 1));
    await outage(emulator);
  } finally {
    await emulator.close();
  }
  const p = FAILURE.rate;
  console.log(
    `\nwhy the failure-rate condition: a consecutive-only breaker under independent ${p * 100}% failures trips after, on average: ` +
      [3, 5, 8, 10].map((k) => `k=${k}: ${Math.round(requestsToTrip(p, k)).toLocaleString('en-US')} requests`).join(', ') +
      ` (100 agents make ~${Math.round(AGENTS / (1 - p))} requests)`,
  );
}

/** The same batch under several failure seeds: how often each breaker threshold meets the target. */
async function seedSweep(emulator: GeminiEmulator, seeds: number[]): Promise<void> {
  console.log(`\n-- seed sweep: max_concurrency 20, model gemini-2.5-flash, seeds ${seeds[0]}..${seeds[seeds.length - 1]} --`);
  for (const threshold of ['3', '5', '10', '1000']) {
    const passed: number[] = [];
    let opened = 0;
    let lost = 0;
    let unhandled = 0;
    for (const seed of seeds) {
      const r = await runScenario(emulator, { label: '', env: { TASK_ORCHESTRATOR_BREAKER_THRESHOLD: threshold }, model: 'gemini-2.5-flash', concurrency: 20, seed });
      passed.push(r.passed);
      opened += r.breakerOpenings > 0 ? 1 : 0;
      lost += r.lost;
      unhandled += r.unhandled.length;
    }
    const meets = passed.filter((n) => n >= TARGET).length;
    console.log(
      `  threshold ${threshold.padEnd(4)}  succeeded per run: ${passed.join(', ')}  -> meets target in ${meets}/${seeds.length} runs; breaker opened in ${opened}/${seeds.length}; lost ${lost}; unhandled ${unhandled}`,
    );
  }
}

/** A real outage (every request 503): how many requests and how long until the batch is over, per threshold. */
async function outage(emulator: GeminiEmulator): Promise<void> {
  console.log('\n-- real outage: 100% of requests 503, max_concurrency 20, model gemini-2.5-flash --');
  for (const threshold of ['3', '10']) {
    const r = await runScenario(emulator, {
      label: '',
      env: { TASK_ORCHESTRATOR_BREAKER_THRESHOLD: threshold },
      model: 'gemini-2.5-flash',
      concurrency: 20,
      failure: { rate: 1, status: 503 },
    });
    const codes = Object.entries(r.byCode).map(([c, n]) => `${c} ${n}`).join(', ');
    console.log(
      `  threshold ${threshold.padEnd(3)} requests sent ${r.requests}, batch over in ${(r.wallMs / 1000).toFixed(2)} s, failed with reason ${r.failedWithReason} (${codes}), lost ${r.lost}, breaker opened ${r.breakerOpenings}x`,
    );
  }

}
