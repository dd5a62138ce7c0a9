import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type Database from 'better-sqlite3';
import { createApp, type App } from '../src/app.js';
import { runParallel } from '../src/agents/parallel.js';
import type { AgentSpec } from '../src/agents/spawnSchema.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { GeminiProvider } from '../src/providers/gemini.js';
import { TimedProvider } from './timedProvider.js';
import { GoogleGenAI } from '@google/genai';
import { startGeminiEmulator, type GeminiEmulator } from '../tests/helpers/geminiEmulator.js';
import { SERVER_BIN } from '../tests/helpers/paths.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startEmulatorProcess, type EmulatorProcess } from './emulatorProcess.js';
import { fmt, percentile } from './stats.js';

/**
 * Issue: "200 agents at max_concurrency 20 against an emulator that answers in 100 ms: wall time
 * within 1.15x of the ideal (10 rounds of 100 ms). Overhead of our pipeline per agent, provider
 * time excluded: p50 <= 2 ms."
 *
 * Part 1, wall time: in-process (createApp + runParallel) and through the stdio server
 * (spawn_parallel_agents over the SDK Client; the tool takes at most 100 agents per call, so 200
 * agents are two calls of 100, one after the other, each 5 rounds). The emulator runs in a
 * process of its own, as the real API would; the floor is bare @google/genai calls, no pipeline,
 * at the same concurrency against the same emulator in the same run. Two batches cost more than
 * one: each batch starts with CONCURRENCY agents at once, and their answers come back together and
 * queue for the main thread (about CONCURRENCY x the CPU per agent, once per batch). So the stdio
 * run is compared with the floor and the in-process pipeline run in the same two-batch shape.
 * Part 2, overhead: agents one at a time against a 0 ms emulator, through the real pipeline with
 * the real GeminiProvider wrapped in a decorator that clocks the time spent inside generate().
 * overhead = spawn() wall time − time inside generate(). The @google/genai SDK's own request
 * building and response parsing, and the loopback HTTP round trip, are inside generate(), i.e.
 * counted as provider time, not overhead.
 * Each part also runs the way durability worked before group commit (synchronous=FULL: an fsync
 * on the main thread at every commit), for comparison. Set BENCH_AGENTS_SECTIONS=0 to skip those.
 */

const API_KEY = 'AIzaSyBENCHKEY0123456789abcdefghijklmnop';
const AGENTS = 200;
const CONCURRENCY = 20;
const LATENCY_MS = 100;
const IDEAL_MS = Math.ceil(AGENTS / CONCURRENCY) * LATENCY_MS;
const TARGET_RATIO = 1.15;
const OVERHEAD_SAMPLES = 500;
/** Wall-time repetitions per setting; the median is reported (single runs vary by a few percent). */
const WALL_REPS = 7;

interface InProcess {
  app: App;
  provider: TimedProvider;
  home: string;
  close(): Promise<void>;
}

async function inProcessApp(emulator: { url: string }): Promise<InProcess> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'to-bench-agents-'));
  const env = {
    TASK_ORCHESTRATOR_HOME: home,
    GEMINI_API_KEY: API_KEY,
    GEMINI_BASE_URL: emulator.url,
    LOG_LEVEL: 'warn',
  };
  const config = loadConfig(env);
  const logger = createLogger({ level: 'warn', secrets: config.secrets });
  const provider = new TimedProvider(new GeminiProvider({ apiKey: API_KEY, baseUrl: emulator.url, logger: logger.child('gemini') }));
  const app = await createApp({ config, logger, providers: { google_gemini: provider } });
  return {
    app,
    provider,
    home,
    async close() {
      await app.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

const spec = (i: number): AgentSpec => ({
  prompt: `question ${i}: what is ${i} + ${i}?`,
  model: 'auto',
  provider: 'google_gemini',
});

function specs(n: number, offset = 0): AgentSpec[] {
  return Array.from({ length: n }, (_, i) => spec(offset + i));
}

const x = (ms: number, base: number) => `${(ms / base).toFixed(2)}x`;

interface WallRun {
  wall: number[];
  passed: number;
  maxInFlight: number;
  /** Event-loop utilisation over the measured runs (1 = the main thread never waited). */
  elu: number;
  /** Main-thread busy time per agent (includes the in-process emulator's share). */
  busyPerAgentMs: number;
}

/** NORMAL is as shipped (group commit, see WalSync); FULL is the old fsync-per-commit, for comparison. */
type Synchronous = 'NORMAL' | 'FULL';

/**
 * Bare @google/genai calls through a pool of CONCURRENCY: what the SDK and loopback HTTP cost alone,
 * as one batch of 200 and, the stdio server's shape, as two batches of 100 one after the other.
 */
async function wallFloor(emulator: EmulatorProcess): Promise<{ one: number[]; two: number[] }> {
  const ai = new GoogleGenAI({ apiKey: API_KEY, apiVersion: 'v1beta', httpOptions: { baseUrl: emulator.url } });
  const pool = async (n: number, offset: number) => {
    let next = 0;
    const slot = async () => {
      while (next < n) {
        const i = next++;
        await ai.models.generateContent({ model: 'gemini-2.5-flash-lite', contents: spec(offset + i).prompt });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, slot));
  };
  await pool(40, 0);
  const one: number[] = [];
  const two: number[] = [];
  for (let rep = 0; rep < WALL_REPS; rep++) {
    let started = performance.now();
    await pool(AGENTS, rep * AGENTS);
    one.push(performance.now() - started);
    started = performance.now();
    await pool(AGENTS / 2, rep * AGENTS);
    await pool(AGENTS / 2, rep * AGENTS + AGENTS / 2);
    two.push(performance.now() - started);
  }
  return { one, two };
}

/** `batches` 2 runs the 200 agents as two batches of 100, one after the other: the stdio server's shape. */
async function wallInProcess(emulator: EmulatorProcess, synchronous: Synchronous = 'NORMAL', batches: 1 | 2 = 1): Promise<WallRun> {
  const env = await inProcessApp(emulator);
  const { agents, clock, db } = env.app.services;
  db.pragma(`synchronous = ${synchronous}`);
  const signal = new AbortController().signal;
  try {
    // Warm-up: JIT, prepared statements, HTTP keep-alive connections (20 sockets).
    await runParallel(agents, specs(40), { maxConcurrency: CONCURRENCY, mode: 'all' }, { signal }, () => clock.now());
    const wall: number[] = [];
    let passed = 0;
    let maxInFlight = 0;
    const elu0 = performance.eventLoopUtilization();
    for (let rep = 0; rep < WALL_REPS; rep++) {
      await emulator.reset();
      const started = performance.now();
      passed = 0;
      for (let b = 0; b < batches; b++) {
        const size = AGENTS / batches;
        const outcome = await runParallel(agents, specs(size, rep * AGENTS + b * size), { maxConcurrency: CONCURRENCY, mode: 'all' }, { signal }, () => clock.now());
        passed += outcome.totals.passed;
      }
      wall.push(performance.now() - started);
      maxInFlight = Math.max(maxInFlight, await emulator.maxInFlight());
    }
    const elu = performance.eventLoopUtilization(elu0);
    return { wall, passed, maxInFlight, elu: elu.utilization, busyPerAgentMs: elu.active / (WALL_REPS * AGENTS) };
  } finally {
    await env.close();
  }
}

async function wallStdio(emulator: EmulatorProcess): Promise<{ wall: number[]; one100: number[]; passed: number; maxInFlight: number }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'to-bench-agents-stdio-'));
  // The SDK's own client and stdio transport, as a host uses them (the e2e tests' recording
  // transport and output-schema checks would bill their own work to the server).
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [SERVER_BIN],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TASK_ORCHESTRATOR_HOME: home, GEMINI_API_KEY: API_KEY, GEMINI_BASE_URL: emulator.url, LOG_LEVEL: 'warn' },
      stderr: 'ignore',
    }),
  );
  const call = async (agents: AgentSpec[]) => {
    const result = (await client.callTool(
      { name: 'spawn_parallel_agents', arguments: { agents: agents.map((a) => ({ prompt: a.prompt })), max_concurrency: CONCURRENCY } },
      undefined,
      { timeout: 120_000 },
    )) as CallToolResult;
    if (result.isError) throw new Error(`spawn_parallel_agents failed: ${JSON.stringify(result.content).slice(0, 500)}`);
    return (result.structuredContent as { outcome: { totals: { passed: number } } }).outcome;
  };
  try {
    await call(specs(40));
    await call(specs(40));
    const wall: number[] = [];
    const one100: number[] = [];
    let passed = 0;
    let maxInFlight = 0;
    for (let rep = 0; rep < WALL_REPS; rep++) {
      await emulator.reset();
      const started = performance.now();
      const a = await call(specs(100, rep * AGENTS));
      one100.push(performance.now() - started);
      const b = await call(specs(100, rep * AGENTS + 100));
      wall.push(performance.now() - started);
      passed = a.totals.passed + b.totals.passed;
      maxInFlight = Math.max(maxInFlight, await emulator.maxInFlight());
    }
    return { wall, one100, passed, maxInFlight };
  } finally {
    await client.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

interface OverheadSample {
  /** Waiting for the WAL fsync after spawn() returned (main thread free meanwhile). */
  syncMs: number;
  total: number;
  provider: number;
  overhead: number;
  /** Time inside SQLite (transactions incl. COMMIT, statements, prepares), each call counted once. */
  sqliteMs: number;
  /** Write transactions plus autocommit writes: each is one COMMIT (an fsync on the main thread only under synchronous=FULL). */
  commits: number;
  /** db.prepare() calls (SQL compiled again on every call) and the time they took (part of sqliteMs). */
  prepares: number;
  prepareMs: number;
}

interface MeterCounts {
  sqliteMs: number;
  commits: number;
  prepares: number;
  prepareMs: number;
}

/**
 * Measures, without touching src/, how much of an agent's time is spent in SQLite: wraps this
 * database's transaction() and prepare() and Statement#run/get/all. Bench-only instrumentation.
 * Transactions the stores built at start-up (atomicRunner) show through their BEGIN and COMMIT
 * statements: a write transaction counts once (its BEGIN runs outside any transaction), and its
 * time is that of its statements (the JavaScript between them is not SQLite's).
 */
class SqliteMeter {
  private readonly counts: MeterCounts = { sqliteMs: 0, commits: 0, prepares: 0, prepareMs: 0 };
  private readonly restoreFns: Array<() => void> = [];

  constructor(db: Database.Database) {
    const counts = this.counts;
    const origTransaction = db.transaction.bind(db);
    const origPrepare = db.prepare.bind(db);
    // Depth of our own wrappers: better-sqlite3 runs BEGIN/COMMIT as statements inside them.
    let depth = 0;
    const timed = <A extends unknown[], R>(fn: (this: unknown, ...a: A) => R, kind: 'commit' | 'prepare' | 'read', self?: unknown) =>
      function (this: unknown, ...args: A): R {
        if (depth > 0) return fn.apply(self ?? this, args);
        const started = performance.now();
        depth++;
        try {
          return fn.apply(self ?? this, args);
        } finally {
          depth--;
          const ms = performance.now() - started;
          counts.sqliteMs += ms;
          if (kind === 'commit') counts.commits++;
        }
      };
    (db as { transaction: unknown }).transaction = (fn: (...a: unknown[]) => unknown) => {
      const tx = origTransaction(fn);
      const wrapped = timed(tx, 'commit') as unknown as Record<string, unknown>;
      for (const mode of ['deferred', 'immediate', 'exclusive'] as const) wrapped[mode] = timed(tx[mode], 'commit');
      wrapped.default = wrapped;
      return wrapped;
    };
    const prepare = timed(origPrepare as (sql: string) => Database.Statement, 'prepare');
    (db as { prepare: unknown }).prepare = (sql: string) => {
      const started = performance.now();
      try {
        return prepare(sql);
      } finally {
        counts.prepares++;
        counts.prepareMs += performance.now() - started;
      }
    };
    const proto = Object.getPrototypeOf(origPrepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...a: unknown[]) => unknown>;
    const originals = { run: proto.run, get: proto.get, all: proto.all };
    for (const method of ['run', 'get', 'all'] as const) {
      const orig = originals[method];
      proto[method] = function (this: Database.Statement, ...args: unknown[]) {
        if (this.database !== db) return orig.apply(this, args);
        // A write outside a transaction autocommits: one COMMIT of its own.
        const kind = method === 'run' && !this.reader && !db.inTransaction ? 'commit' : 'read';
        return timed(orig, kind, this).apply(this, args);
      };
    }
    this.restoreFns.push(() => {
      delete (db as { transaction?: unknown }).transaction;
      delete (db as { prepare?: unknown }).prepare;
      Object.assign(proto, originals);
    });
  }

  snapshot(): MeterCounts {
    return { ...this.counts };
  }

  restore(): void {
    for (const fn of this.restoreFns) fn();
  }
}

export async function overheadRun(emulator: GeminiEmulator, synchronous: Synchronous, n: number, schema: boolean): Promise<OverheadSample[]> {
  const env = await inProcessApp(emulator);
  const { agents, db, walSync } = env.app.services;
  db.pragma(`synchronous = ${synchronous}`);
  const signal = new AbortController().signal;
  const responseSchema = { type: 'object', properties: { sum: { type: 'integer' }, note: { type: 'string' } }, required: ['sum'] };
  const make = (i: number): AgentSpec => (schema ? { ...spec(i), response_schema: responseSchema } : spec(i));
  const meter = new SqliteMeter(db);
  try {
    for (let i = 0; i < 50; i++) await agents.spawn(make(i), { signal }); // warm-up
    const samples: OverheadSample[] = [];
    for (let i = 0; i < n; i++) {
      const before = env.provider.totalMs;
      const sql = meter.snapshot();
      const started = performance.now();
      const result = await agents.spawn(make(i), { signal });
      const total = performance.now() - started;
      if (result.status !== 'passed') throw new Error(`agent ${i} ended ${result.status}: ${JSON.stringify(result.error)}`);
      const provider = env.provider.totalMs - before;
      const after = meter.snapshot();
      // What a tool call adds before answering: the WAL fsync, on the thread pool (see WalSync).
      const syncStarted = performance.now();
      await walSync.sync();
      const syncMs = performance.now() - syncStarted;
      samples.push({
        syncMs,
        total,
        provider,
        overhead: total - provider,
        sqliteMs: after.sqliteMs - sql.sqliteMs,
        commits: after.commits - sql.commits,
        prepares: after.prepares - sql.prepares,
        prepareMs: after.prepareMs - sql.prepareMs,
      });
    }
    return samples;
  } finally {
    meter.restore();
    await env.close();
  }
}

function describe(label: string, samples: OverheadSample[]): string {
  const col = (f: (s: OverheadSample) => number) => samples.map(f);
  const o = col((s) => s.overhead);
  const rest = col((s) => s.overhead - s.sqliteMs);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return (
    `  ${label.padEnd(32)} overhead p50 ${fmt(percentile(o, 50)).padStart(8)}  p99 ${fmt(percentile(o, 99)).padStart(8)}` +
    `  | total p50 ${fmt(percentile(col((s) => s.total), 50))}, provider p50 ${fmt(percentile(col((s) => s.provider), 50))}` +
    `\n  ${''.padEnd(32)} of the overhead: inside SQLite p50 ${fmt(percentile(col((s) => s.sqliteMs), 50))} (${mean(col((s) => s.commits)).toFixed(1)} commits/agent;` +
    ` of it db.prepare p50 ${fmt(percentile(col((s) => s.prepareMs), 50))}, ${mean(col((s) => s.prepares)).toFixed(1)} calls/agent); everything else p50 ${fmt(percentile(rest, 50))}` +
    `\n  ${''.padEnd(32)} then the tool waits p50 ${fmt(percentile(col((s) => s.syncMs), 50))} for the WAL fsync before answering (thread pool; the main thread is free)`
  );
}

export async function run(): Promise<void> {
  console.log(
    `${AGENTS} agents, max_concurrency ${CONCURRENCY}, emulator latency ${LATENCY_MS} ms in a process of its own; ideal ${IDEAL_MS} ms (${AGENTS / CONCURRENCY} rounds); ` +
      `target <= ${TARGET_RATIO}x for the issue's configuration, one batch of ${AGENTS} (a stdio call carries at most 100: read that run against the floor of its own shape)`,
  );
  const remote = await startEmulatorProcess(LATENCY_MS);
  try {
    const floor = await wallFloor(remote);
    const medF = percentile(floor.one, 50);
    const medF2 = percentile(floor.two, 50);
    const runs = (w: number[]) => w.map((v) => v.toFixed(0)).join(', ');
    console.log(`  floor: bare @google/genai calls, no pipeline, one batch of 200  wall median ${fmt(medF)} (runs: ${runs(floor.one)} ms)  ratio ${x(medF, IDEAL_MS)}`);
    console.log(`  floor, two batches of 100 (the stdio shape)                   wall median ${fmt(medF2)} (runs: ${runs(floor.two)} ms)  ratio ${x(medF2, IDEAL_MS)}`);
    const line = (label: string, r: WallRun, base: number) => {
      const med = percentile(r.wall, 50);
      return (
        `  ${label}  wall median ${fmt(med)} (runs: ${runs(r.wall)} ms)  ideal ${fmt(IDEAL_MS)}  ratio ${x(med, IDEAL_MS)}` +
        `  (floor x ${(med / base).toFixed(2)})  passed ${r.passed}/${AGENTS}, emulator max in flight ${r.maxInFlight}\n` +
        `      main thread busy ${(r.elu * 100).toFixed(0)}% of the time, ${fmt(r.busyPerAgentMs)} per agent (pipeline + @google/genai + loopback HTTP)`
      );
    };
    console.log(line('in-process (runParallel), one batch of 200', await wallInProcess(remote), medF));
    if (process.env.BENCH_AGENTS_SECTIONS !== '0') {
      console.log(line('experiment, in-process, fsync at every commit (synchronous=FULL)', await wallInProcess(remote, 'FULL'), medF));
    }
    console.log(line('in-process, two batches of 100', await wallInProcess(remote, 'NORMAL', 2), medF2));
    const stdio = await wallStdio(remote);
    const medS = percentile(stdio.wall, 50);
    const med100 = percentile(stdio.one100, 50);
    console.log(
      `  stdio (2 x spawn_parallel_agents of 100)  wall median ${fmt(medS)} (runs: ${runs(stdio.wall)} ms)  ideal ${fmt(IDEAL_MS)}  ratio ${x(medS, IDEAL_MS)}` +
        `  (floor of two batches x ${(medS / medF2).toFixed(2)})  passed ${stdio.passed}/${AGENTS}, emulator max in flight ${stdio.maxInFlight}`,
    );
    console.log(`    (one call of 100 agents: median ${fmt(med100)} vs ideal ${fmt(IDEAL_MS / 2)}, ratio ${x(med100, IDEAL_MS / 2)}; the tool caps agents at 100 per call)`);
  } finally {
    await remote.close();
  }

  // Overhead: provider time is clocked and subtracted, so the emulator may share our thread here.
  const emulator = await startGeminiEmulator({ latencyMs: 0 });
  try {
    console.log(`\nper-agent pipeline overhead, provider time excluded (${OVERHEAD_SAMPLES} agents one at a time, emulator latency 0; target p50 <= 2 ms)`);
    console.log(describe('as shipped', await overheadRun(emulator, 'NORMAL', OVERHEAD_SAMPLES, false)));
    if (process.env.BENCH_AGENTS_SECTIONS !== '0') {
      console.log(describe('with response_schema', await overheadRun(emulator, 'NORMAL', OVERHEAD_SAMPLES, true)));
      console.log(describe('experiment: fsync at every commit', await overheadRun(emulator, 'FULL', OVERHEAD_SAMPLES, false)));
    }
  } finally {
    await emulator.close();
  }
}
