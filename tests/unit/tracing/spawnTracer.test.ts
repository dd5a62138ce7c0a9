import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../../src/config.js';
import { ManualClock } from '../../../src/clock.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import { createSpawnTracer, type SpawnTracer } from '../../../src/tracing/spawnTracer.js';
import { closedPortUrl, LangfuseReceiver, type OtlpSpan, type ReceiverMode } from './langfuseReceiver.js';
import { TEST_API_KEY } from '../../helpers/keys.js';

const PUBLIC_KEY = 'pk-lf-test-public-1234';
const SECRET_KEY = 'sk-lf-test-secret-5678';
const GEMINI_KEY = TEST_API_KEY;

function configFor(baseUrl: string | undefined): Config {
  return loadConfig({
    TASK_ORCHESTRATOR_HOME: '/tmp/task-orchestrator-tracing-test',
    GEMINI_API_KEY: GEMINI_KEY,
    ...(baseUrl === undefined ? {} : { LANGFUSE_PUBLIC_KEY: PUBLIC_KEY, LANGFUSE_SECRET_KEY: SECRET_KEY, LANGFUSE_BASE_URL: baseUrl }),
  });
}

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
}

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

/** One spawn with two provider calls (a failed attempt, then a success), two grader scores. */
function runSpawn(tracer: SpawnTracer, clock: ManualClock, trialId = 'trial-42', prompt = 'Summarise the report.') {
  const spawn = tracer.startSpawn({
    trialId,
    name: 'spawn:summarise',
    prompt,
    system: 'You are terse.',
    tags: ['batch-7', 'summary'],
    taskId: 17,
    parentRunId: 'run-9',
  });
  spawn.generation({
    provider: 'gemini',
    model: 'gemini-2.5-flash-lite',
    input: prompt,
    output: null,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    startedAt: T0 + 10,
    endedAt: T0 + 40,
    error: '503 model overloaded',
    attempt: 1,
  });
  spawn.generation({
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    input: prompt,
    output: 'The report says X.',
    inputTokens: 120,
    outputTokens: 30,
    costUsd: 0.00042,
    startedAt: T0 + 1_050,
    endedAt: T0 + 1_900,
    attempt: 2,
    modelReason: 'escalated after overload',
  });
  spawn.score('contains', 1, 'found "X"');
  spawn.score('llm_judge', 0.75);
  clock.set(T0 + 2_000);
  spawn.end({ status: 'passed', output: 'The report says X.', costUsd: 0.00042, latencyMs: 2_000 });
  return spawn;
}

const attr = (s: OtlpSpan, key: string) => s.attributes[key];

describe('createSpawnTracer with Langfuse configured', () => {
  let receiver: LangfuseReceiver;
  beforeEach(async () => {
    receiver = await LangfuseReceiver.start('ok');
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('exports a trace per spawn with a generation per call, and posts grader scores, with Basic auth', async () => {
    const clock = new ManualClock(T0);
    const { logger } = capturingLogger();
    const tracer = createSpawnTracer({ config: configFor(receiver.url), logger, clock });
    expect(tracer.enabled).toBe(true);

    const spawn = runSpawn(tracer, clock);
    expect(spawn.traceId).toMatch(/^[0-9a-f]{32}$/);
    await tracer.shutdown();

    // Auth: Basic base64(public:secret) on both the OTLP export and the score calls.
    const basic = `Basic ${Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64')}`;
    expect(receiver.otlpRequests().length).toBeGreaterThan(0);
    for (const r of [...receiver.otlpRequests(), ...receiver.scoreRequests()]) {
      expect(r.method).toBe('POST');
      expect(r.headers.authorization).toBe(basic);
    }
    expect(receiver.otlpRequests()[0]!.headers['content-type']).toBe('application/json');

    const spans = receiver.spans();
    expect(spans).toHaveLength(3);
    const root = spans.find((s) => s.parentSpanId === undefined)!;
    expect(root).toBeDefined();
    expect(root.traceId).toBe(spawn.traceId);
    expect(root.name).toBe('spawn:summarise');
    expect(attr(root, 'langfuse.observation.type')).toBe('agent');
    expect(attr(root, 'langfuse.trace.name')).toBe('spawn:summarise');
    expect(attr(root, 'langfuse.trace.tags')).toEqual(['batch-7', 'summary']);
    expect(attr(root, 'langfuse.trace.metadata.trialId')).toBe('trial-42');
    expect(attr(root, 'langfuse.trace.metadata.taskId')).toBe('17');
    expect(attr(root, 'langfuse.trace.metadata.parentRunId')).toBe('run-9');
    expect(attr(root, 'langfuse.trace.metadata.status')).toBe('passed');
    expect(JSON.parse(attr(root, 'langfuse.trace.input') as string)).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Summarise the report.' },
    ]);
    expect(attr(root, 'langfuse.trace.output')).toBe('The report says X.');
    expect(JSON.parse(attr(root, 'langfuse.trace.metadata.scores') as string)).toEqual({ contains: 1, llm_judge: 0.75 });

    const gens = spans.filter((s) => s.parentSpanId === root.spanId).sort((a, b) => a.name.localeCompare(b.name));
    expect(gens.map((g) => g.traceId)).toEqual([spawn.traceId, spawn.traceId]);
    const [failed, ok] = [gens.find((g) => attr(g, 'langfuse.observation.model.name') === 'gemini-2.5-flash-lite')!, gens.find((g) => attr(g, 'langfuse.observation.model.name') === 'gemini-2.5-flash')!];
    expect(ok).toBeDefined();
    expect(attr(ok, 'langfuse.observation.type')).toBe('generation');
    expect(JSON.parse(attr(ok, 'langfuse.observation.usage_details') as string)).toEqual({ input: 120, output: 30, total: 150 });
    expect(JSON.parse(attr(ok, 'langfuse.observation.cost_details') as string)).toEqual({ total: 0.00042 });
    expect(attr(ok, 'langfuse.observation.output')).toBe('The report says X.');
    expect(attr(ok, 'langfuse.observation.metadata.attempt')).toBe('2');
    expect(attr(ok, 'langfuse.observation.metadata.modelReason')).toBe('escalated after overload');
    expect(attr(ok, 'langfuse.observation.level')).toBe('DEFAULT');
    expect(failed).toBeDefined();
    expect(attr(failed, 'langfuse.observation.level')).toBe('ERROR');
    expect(attr(failed, 'langfuse.observation.status_message')).toBe('503 model overloaded');
    expect(failed.status?.code).toBe(2);

    const scores = receiver.scoreRequests().map((r) => r.json as Record<string, unknown>);
    expect(scores.map((s) => [s.name, s.value, s.comment, s.traceId, s.dataType]).sort()).toEqual([
      ['contains', 1, 'found "X"', spawn.traceId, 'NUMERIC'],
      ['llm_judge', 0.75, undefined, spawn.traceId, 'NUMERIC'],
    ]);
  });

  it('uses the injected clock for the trace and the call timestamps for generations', async () => {
    const clock = new ManualClock(T0);
    const tracer = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger, clock });
    runSpawn(tracer, clock);
    await tracer.shutdown();
    const raw = receiver.otlpRequests().flatMap((r) =>
      (r.json as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; parentSpanId?: string; startTimeUnixNano: string; endTimeUnixNano: string }> }> }> }).resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) => ss.spans),
      ),
    );
    const ms = (ns: string) => Number(BigInt(ns) / 1_000_000n);
    const root = raw.find((s) => !s.parentSpanId)!;
    expect([ms(root.startTimeUnixNano), ms(root.endTimeUnixNano)]).toEqual([T0, T0 + 2_000]);
    const windows = raw.filter((s) => s.parentSpanId).map((s) => [ms(s.startTimeUnixNano), ms(s.endTimeUnixNano)]);
    expect(windows.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [T0 + 10, T0 + 40],
      [T0 + 1_050, T0 + 1_900],
    ]);
  });

  it('marks an errored spawn as an error trace', async () => {
    const tracer = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger });
    const spawn = tracer.startSpawn({ trialId: 't-err', name: 'spawn', prompt: 'p', tags: [] });
    spawn.end({ status: 'errored', output: null, costUsd: 0, latencyMs: 5 });
    await tracer.shutdown();
    const [root] = receiver.spans();
    expect(attr(root!, 'langfuse.observation.level')).toBe('ERROR');
    expect(root!.status?.code).toBe(2);
    expect(attr(root!, 'langfuse.trace.output')).toBeUndefined();
  });

  it('never lets a secret reach the Langfuse host', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const leaky = `Use key ${GEMINI_KEY} and token ${jwt}; langfuse secret ${SECRET_KEY}.`;
    const clock = new ManualClock(T0);
    const tracer = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger, clock });
    const spawn = tracer.startSpawn({ trialId: 't-secret', name: 'spawn', prompt: leaky, system: leaky, tags: ['x'] });
    spawn.generation({
      provider: 'gemini', model: 'm', input: leaky, output: leaky, inputTokens: 1, outputTokens: 1, costUsd: 0,
      startedAt: T0, endedAt: T0 + 1, error: leaky, modelReason: leaky,
    });
    spawn.score('judge', 0, leaky);
    spawn.end({ status: 'passed', output: leaky, costUsd: 0, latencyMs: 1 });
    await tracer.shutdown();

    expect(receiver.spans()).toHaveLength(2);
    expect(receiver.scoreRequests()).toHaveLength(1);
    for (const r of receiver.requests) {
      for (const secret of [GEMINI_KEY, jwt, SECRET_KEY]) expect(r.raw).not.toContain(secret);
    }
    const root = receiver.spans().find((s) => s.parentSpanId === undefined)!;
    expect(attr(root, 'langfuse.trace.output')).toContain('[REDACTED]');
    expect((receiver.scoreRequests()[0]!.json as { comment: string }).comment).toContain('[REDACTED]');
  });

  it('keeps two tracers in one process apart (no global provider)', async () => {
    const other = await LangfuseReceiver.start('ok');
    try {
      const clock = new ManualClock(T0);
      const a = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger, clock });
      const b = createSpawnTracer({ config: configFor(other.url), logger: capturingLogger().logger, clock });
      runSpawn(a, clock, 'trial-A');
      runSpawn(b, clock, 'trial-B');
      await Promise.all([a.shutdown(), b.shutdown()]);
      const trials = (r: LangfuseReceiver) =>
        [...new Set(r.spans().map((s) => attr(s, 'langfuse.trace.metadata.trialId')).filter(Boolean))];
      expect(trials(receiver)).toEqual(['trial-A']);
      expect(trials(other)).toEqual(['trial-B']);
      expect(receiver.spans()).toHaveLength(3);
      expect(other.spans()).toHaveLength(3);
    } finally {
      await other.close();
    }
  });

  it('exports in the background without waiting for shutdown', async () => {
    const clock = new ManualClock(T0);
    const tracer = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger, clock, flushIntervalMs: 50 });
    runSpawn(tracer, clock);
    await receiver.waitFor((r) => r.spans().length === 3 && r.scoreRequests().length === 2, 3_000);
    await tracer.shutdown();
  });

  it('tolerates misuse: double end, calls after end, non-finite scores, spawns after shutdown', async () => {
    const clock = new ManualClock(T0);
    const tracer = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger, clock });
    const spawn = runSpawn(tracer, clock);
    expect(() => {
      spawn.end({ status: 'failed', costUsd: 1, latencyMs: 1 });
      spawn.score('late', Number.NaN);
      spawn.score('late2', 0.5);
    }).not.toThrow();
    await tracer.shutdown();
    await tracer.shutdown(); // idempotent
    const late = tracer.startSpawn({ trialId: 'after', name: 'n', prompt: 'p', tags: [] });
    expect(() => {
      late.generation({ provider: 'p', model: 'm', input: 'i', inputTokens: 1, outputTokens: 1, costUsd: 0, startedAt: T0, endedAt: T0 });
      late.end({ status: 'passed', costUsd: 0, latencyMs: 0 });
    }).not.toThrow();

    const roots = receiver.spans().filter((s) => s.parentSpanId === undefined);
    expect(roots).toHaveLength(1);
    expect(attr(roots[0]!, 'langfuse.trace.metadata.status')).toBe('passed');
    expect(receiver.scoreRequests().map((r) => (r.json as { name: string }).name).sort()).toEqual(['contains', 'late2', 'llm_judge']);
  });
});

describe.each<{ mode: ReceiverMode | 'closed port'; exportTimeoutMs?: number; shutdownTimeoutMs?: number; exportWarning: RegExp; scoreWarning: RegExp }>([
  // Default timeouts: the bound promised to the lead (< 3 s) must hold as configured.
  { mode: 'closed port', exportWarning: /WARN \[server\.tracing\] Langfuse export failed/, scoreWarning: /WARN \[server\.tracing\] Langfuse score not sent/ },
  { mode: 'unauthorized', exportTimeoutMs: 300, shutdownTimeoutMs: 1_000, exportWarning: /WARN \[server\.tracing\] Langfuse export failed.*Unauthorized/, scoreWarning: /WARN \[server\.tracing\] Langfuse rejected a score.*401/ },
  { mode: 'unavailable', exportTimeoutMs: 300, shutdownTimeoutMs: 1_000, exportWarning: /WARN \[server\.tracing\] Langfuse export failed/, scoreWarning: /WARN \[server\.tracing\] Langfuse rejected a score.*503/ },
  { mode: 'hang', exportTimeoutMs: 300, shutdownTimeoutMs: 1_000, exportWarning: /WARN \[server\.tracing\] Langfuse export failed/, scoreWarning: /WARN \[server\.tracing\] Langfuse score not sent.*no answer within 300 ms/ },
])('with the Langfuse host failing ($mode)', ({ mode, exportTimeoutMs, shutdownTimeoutMs, exportWarning, scoreWarning }) => {
  // Hang guard = this test's timeout: a shutdown that waited for the hung host would never end.
  it('returns from every call at once, shuts down promptly, and only logs the failure to stderr', { timeout: 10_000 }, async () => {
    const receiver = mode === 'closed port' ? undefined : await LangfuseReceiver.start(mode);
    const url = receiver?.url ?? (await closedPortUrl());
    const stdoutWrite = vi.spyOn(process.stdout, 'write');
    const consoleSpies = (['log', 'info', 'debug'] as const).map((m) => vi.spyOn(console, m));
    try {
      const clock = new ManualClock(T0);
      const { logger, lines } = capturingLogger();
      const tracer = createSpawnTracer({ config: configFor(url), logger, clock, exportTimeoutMs, shutdownTimeoutMs });

      // Order, not elapsed time: every call has returned before anything reached the host.
      for (let i = 0; i < 5; i++) runSpawn(tracer, clock, `trial-${i}`);
      expect(receiver?.requests ?? []).toHaveLength(0);

      await expect(tracer.shutdown()).resolves.toBeUndefined();

      const text = lines.join('');
      expect(text).toMatch(exportWarning);
      expect(text).toMatch(scoreWarning);
      expect(text).not.toContain(SECRET_KEY);
      expect(stdoutWrite).not.toHaveBeenCalled();
      for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    } finally {
      stdoutWrite.mockRestore();
      for (const spy of consoleSpies) spy.mockRestore();
      await receiver?.close();
    }
  });
});

describe('bounds and stdout hygiene', () => {
  // A shutdown that waited for the 10 s export would run past this test's 5 s timeout (the upper
  // bound, without a wall-clock assertion that flakes on a loaded machine).
  it('caps shutdown at shutdownTimeoutMs even when a single export may take longer', { timeout: 5_000 }, async () => {
    const receiver = await LangfuseReceiver.start('hang');
    try {
      const clock = new ManualClock(T0);
      const { logger, lines } = capturingLogger();
      const tracer = createSpawnTracer({ config: configFor(receiver.url), logger, clock, exportTimeoutMs: 10_000, shutdownTimeoutMs: 400 });
      runSpawn(tracer, clock);
      const started = performance.now();
      await tracer.shutdown();
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(350);
      expect(lines.join('')).toMatch(/WARN \[server\.tracing\] Langfuse flush did not finish within 400 ms/);
    } finally {
      await receiver.close();
    }
  });

  it("keeps the Langfuse SDK's own console logger off stdout even when it was set to DEBUG", async () => {
    const { getGlobalLogger, LogLevel } = await import('@langfuse/core');
    const sdkLogger = getGlobalLogger();
    const before = sdkLogger.getLevel();
    sdkLogger.setLevel(LogLevel.DEBUG); // what LANGFUSE_DEBUG=true does at start-up
    const receiver = await LangfuseReceiver.start('ok');
    const stdoutWrite = vi.spyOn(process.stdout, 'write');
    const consoleSpies = (['log', 'info', 'debug'] as const).map((m) => vi.spyOn(console, m));
    try {
      const clock = new ManualClock(T0);
      const tracer = createSpawnTracer({ config: configFor(receiver.url), logger: capturingLogger().logger, clock });
      runSpawn(tracer, clock);
      await tracer.shutdown();
      expect(receiver.spans()).toHaveLength(3);
      expect(sdkLogger.getLevel()).toBe(LogLevel.WARN);
      expect(stdoutWrite).not.toHaveBeenCalled();
      for (const spy of consoleSpies) expect(spy).not.toHaveBeenCalled();
    } finally {
      stdoutWrite.mockRestore();
      for (const spy of consoleSpies) spy.mockRestore();
      sdkLogger.setLevel(before);
      await receiver.close();
    }
  });
});

describe('createSpawnTracer without Langfuse keys', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is a no-op tracer that sends nothing, even with LANGFUSE_* in the environment', async () => {
    const receiver = await LangfuseReceiver.start('ok');
    try {
      // The SDK falls back on these variables when constructed; the no-op tracer must not construct it.
      vi.stubEnv('LANGFUSE_PUBLIC_KEY', PUBLIC_KEY);
      vi.stubEnv('LANGFUSE_SECRET_KEY', SECRET_KEY);
      vi.stubEnv('LANGFUSE_BASE_URL', receiver.url);
      const config = configFor(undefined);
      expect(config.langfuse).toBeUndefined();
      const tracer = createSpawnTracer({ config, logger: capturingLogger().logger });
      expect(tracer.enabled).toBe(false);
      const spawn = runSpawn(tracer, new ManualClock(T0));
      expect(spawn.traceId).toBe('');
      await tracer.shutdown();
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });
});
