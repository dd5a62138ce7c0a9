import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { promptOf, startGeminiEmulator, type GeminiEmulator } from '../helpers/geminiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { textOf, toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';
import { TEST_API_KEY } from '../helpers/keys.js';
import { gate } from '../helpers/wait.js';

/** Calls that outlive the client: automatic detach, agent_cancel, texts that carry the answer. */
describe('detached and cancelled runs over stdio against the Gemini emulator', () => {
  let emulator: GeminiEmulator;
  let server: StartedServer | undefined;
  let home: string;

  const start = async (extra: Record<string, string> = {}) => {
    server = await startServer({
      TASK_ORCHESTRATOR_HOME: home,
      GEMINI_API_KEY: TEST_API_KEY,
      GEMINI_BASE_URL: emulator.url,
      TASK_ORCHESTRATOR_RETRY_BASE_MS: '20',
      TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '100',
      ...extra,
    });
  };
  // Only the tests about detaching detach soon; the rest keep the default (45 s), so a slow call on
  // a loaded machine is never mistaken for one that should have detached.
  const DETACH_SOON = { TASK_ORCHESTRATOR_DETACH_AFTER_MS: '300' };
  const { call, okWithText: ok } = toolCalls(() => server!.client);

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(() => {
    emulator.reset();
    emulator.setDefault(undefined);
    home = makeTempDir();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('a hung spawn_agent detaches with its run_id; agent_cancel stops it, books nothing, and the run reads cancelled', async () => {
    await start(DETACH_SOON);
    emulator.setDefault({ kind: 'hang' });
    const { s: detached, text } = await ok('spawn_agent', { prompt: 'long job', model: 'gemini-2.5-flash' });
    expect(detached).toMatchObject({ run_id: expect.stringMatching(/^run_/), status: 'running' });
    expect(detached.result).toBeUndefined();
    expect(text).toContain(detached.run_id);
    expect(text).toMatch(/agent_result/);
    // The work goes on after the answer.
    await expect.poll(() => emulator.inFlight).toBe(1);
    const running = await ok('agent_result', { run_id: detached.run_id });
    expect(running.s.status).toBe('running');
    expect(running.text).toMatch(/still running/);

    const cancelled = await ok('agent_cancel', { run_id: detached.run_id });
    expect(cancelled.s.status).toBe('cancelled');
    expect(cancelled.s.result).toMatchObject({ status: 'cancelled', cost_usd: 0 });
    await expect.poll(() => emulator.closedEarly).toBe(1);
    const after = await ok('agent_result', { run_id: detached.run_id });
    expect(after.s.status).toBe('cancelled');
    expect(after.text).toMatch(/cancelled/);
    const { s: cost } = await ok('cost_summary', { period: 'all' });
    expect(cost.totals.usd).toBe(0);
    // Cancelling again is harmless: the run stays cancelled.
    expect((await ok('agent_cancel', { run_id: detached.run_id })).s.status).toBe('cancelled');
  });

  it('a detached call that finishes later is done in agent_result, whose text carries the answer, status and cost', async () => {
    await start(DETACH_SOON);
    // The answer waits for the test, not for a timer: the call has detached before it is let go.
    const answer = gate();
    emulator.setDefault({ kind: 'ok', text: 'The slow answer is 42.', release: answer.promise, usage: { input: 100, output: 10 } });
    const { s: detached } = await ok('spawn_agent', { prompt: 'slow', model: 'gemini-2.5-flash' });
    expect(detached.status).toBe('running');
    answer.open();
    const done = await ok('agent_result', { run_id: detached.run_id, wait_ms: 10_000 });
    expect(done.s.status).toBe('done');
    expect(done.s.result).toMatchObject({ status: 'passed', text: 'The slow answer is 42.' });
    expect(done.s.result.cost_usd).toBeGreaterThan(0);
    expect(done.text).toMatch(/done/);
    expect(done.text).toContain('The slow answer is 42.');
    expect(done.text).toMatch(/passed/);
    expect(done.text).toMatch(/\$0\.\d+/);
  });

  it('a batch detaches with the agents finished so far; cancelling keeps them and books only their spend', async () => {
    // Long enough that the quick agent has surely finished on a loaded machine; the other hangs.
    await start({ TASK_ORCHESTRATOR_DETACH_AFTER_MS: '3000' });
    emulator.setDefault((req) => (promptOf(req) === 'quick' ? { kind: 'ok', text: 'quick answer', usage: { input: 50, output: 5 } } : { kind: 'hang' }));
    const { s: detached, text } = await ok('spawn_parallel_agents', { agents: [{ prompt: 'quick', model: 'gemini-2.5-flash' }, { prompt: 'long job', model: 'gemini-2.5-flash' }] });
    expect(detached).toMatchObject({ run_id: expect.stringMatching(/^run_/), status: 'running' });
    expect(detached.partial).toEqual([expect.objectContaining({ index: 0, status: 'passed', text: 'quick answer' })]);
    expect(text).toMatch(/1 of 2 agents finished/);
    expect(text).toContain('quick answer');
    expect(text).toContain(detached.run_id);

    const cancelled = await ok('agent_cancel', { run_id: detached.run_id });
    expect(cancelled.s.status).toBe('cancelled');
    expect(cancelled.s.result.results.map((r: Structured) => r.status)).toEqual(['passed', 'cancelled']);
    const quickCost = cancelled.s.result.results[0].cost_usd;
    expect(quickCost).toBeGreaterThan(0);
    const { s: cost } = await ok('cost_summary', { period: 'all' });
    expect(cost.totals.usd).toBeCloseTo(quickCost, 10);
    expect(cancelled.text).toContain('quick answer');
  });

  it('TASK_ORCHESTRATOR_DETACH_AFTER_MS=0 never detaches', async () => {
    await start({ TASK_ORCHESTRATOR_DETACH_AFTER_MS: '0' });
    emulator.setDefault({ kind: 'ok', text: 'waited for', delayMs: 600 });
    const { s, text } = await ok('spawn_agent', { prompt: 'slow', model: 'gemini-2.5-flash' });
    expect(s.run_id).toBeUndefined();
    expect(s.result).toMatchObject({ status: 'passed', text: 'waited for', immune: { action: 'proceed', risk_score: null, matched_patterns: [], guardrails: [] } });
    expect(text).toContain('waited for');
  });

  it('agent_cancel and agent_result name an unknown run_id as not_found', async () => {
    await start();
    for (const tool of ['agent_cancel', 'agent_result']) {
      const result = await call(tool, { run_id: 'run_nope' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^not_found: .*run_nope/);
    }
  });

  it('a background spawn_agent that finished shows its answer in agent_result text', async () => {
    await start();
    emulator.setDefault({ kind: 'ok', text: 'background answer' });
    const { s: started } = await ok('spawn_agent', { prompt: 'bg', model: 'gemini-2.5-flash', background: true });
    const done = await ok('agent_result', { run_id: started.run_id, wait_ms: 10_000 });
    expect(done.s.status).toBe('done');
    expect(done.text).toContain('background answer');
  });

  it('a task_id that names no task is refused as invalid_input before anything runs', async () => {
    await start();
    const single = await call('spawn_agent', { prompt: 'x', task_id: 999 });
    expect(single.isError).toBe(true);
    expect(textOf(single)).toMatch(/^invalid_input: task_id 999 names no task/);
    const batch = await call('spawn_parallel_agents', { agents: [{ prompt: 'a' }, { prompt: 'b', task_id: 999 }] });
    expect(batch.isError).toBe(true);
    expect(textOf(batch)).toMatch(/^invalid_input: agents\.1: task_id 999/);
    const background = await call('spawn_agent', { prompt: 'x', task_id: 999, background: true });
    expect(background.isError).toBe(true);
    expect(emulator.requests).toHaveLength(0);
    expect((await ok('trials_list', {})).s.total).toBe(0);

    const { s: task } = await ok('tasks_add', { title: 'real task' });
    const { s: spawned } = await ok('spawn_agent', { prompt: 'x', model: 'gemini-2.5-flash', task_id: task.task.id });
    expect(spawned.result.status).toBe('passed');
  });

  it('spawn_parallel_agents text gives short answers in full, and says where long ones are', async () => {
    await start();
    const long = (p: string) => `${p}: ${'word '.repeat(60)}end of ${p}`;
    emulator.setDefault((req) => ({ kind: 'ok', text: promptOf(req).startsWith('huge') ? 'x'.repeat(5_000) : long(promptOf(req)) }));
    const { text } = await ok('spawn_parallel_agents', { agents: [{ prompt: 'a', model: 'gemini-2.5-flash' }, { prompt: 'b', model: 'gemini-2.5-flash' }] });
    expect(text).toContain(long('a'));
    expect(text).toContain(long('b'));
    const big = await ok('spawn_parallel_agents', { agents: [{ prompt: 'huge 1', model: 'gemini-2.5-flash' }, { prompt: 'huge 2', model: 'gemini-2.5-flash' }] });
    expect(big.text).toMatch(/answers shortened; each in full in structuredContent/);
    expect(big.text.length).toBeLessThan(2_000);
  });
});
