import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { runParallel } from '../../../src/agents/parallel.js';
import { agentSpecSchema, type AgentSpec } from '../../../src/agents/spawnSchema.js';
import { loadConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { emulatedAppEnv, promptOf, serverError, startGeminiEmulator, type GeminiEmulator } from '../../helpers/geminiEmulator.js';
import { gate } from '../../helpers/wait.js';

const spec = (input: Record<string, unknown>): AgentSpec => agentSpecSchema.parse(input);

describe('agent pipeline in-process (real stores, real Gemini client, emulator)', () => {
  let emulator: GeminiEmulator;
  let app: App;

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(async () => {
    emulator.reset();
    emulator.setDefault(undefined);
    app = await createApp({ config: loadConfig(emulatedAppEnv(emulator)), logger: silentLogger });
  });
  afterEach(async () => {
    await app.close();
  });

  const ctx = () => ({ signal: new AbortController().signal });

  it('records a trial with the graded outcome and books the call', async () => {
    emulator.enqueue({ kind: 'ok', text: 'hello world', usage: { input: 10, output: 5 } });
    const finished: unknown[] = [];
    app.services.events.on('trial.finished', (e) => finished.push(e));
    const result = await app.services.agents.spawn(spec({ prompt: 'say hello', model: 'gemini-2.5-flash', tags: ['t1'], graders: [{ type: 'regex', pattern: 'hello' }] }), ctx());
    expect(result.status).toBe('passed');
    const trial = app.services.trials.get(result.trial_id);
    expect(trial).toMatchObject({ status: 'passed', output: 'hello world', model: 'gemini-2.5-flash', input_tokens: 10, output_tokens: 5, attempts: 1, tags: ['t1'] });
    expect(finished).toEqual([expect.objectContaining({ trialId: result.trial_id, status: 'passed', prompt: 'say hello', tags: ['t1'] })]);
    const summary = app.services.cost.summary({ period: 'all' });
    expect(summary.totals.calls).toBe(1);
    expect(summary.totals.usd).toBeCloseTo(result.cost_usd, 10);
  });

  it('each agent starts an fsync of what it wrote without waiting for it (group commit)', async () => {
    const pending: Array<() => void> = [];
    const own = await createApp({
      config: app.services.config,
      logger: silentLogger,
      fsync: () => new Promise<void>((resolve) => pending.push(resolve)),
    });
    try {
      const result = await own.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash' }), ctx());
      expect(result.status).toBe('passed');
      // spawn() answered while its fsync is still in flight: the main thread never waits on the disk.
      expect(pending).toHaveLength(1);
    } finally {
      const closing = own.close();
      for (;;) {
        pending.splice(0).forEach((resolve) => resolve());
        if (await Promise.race([closing.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5))])) break;
      }
    }
  });

  it('a failed grade is a failed trial, not an error; without escalation it is not retried', async () => {
    emulator.setDefault({ kind: 'ok', text: 'nope' });
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash', graders: [{ type: 'contains', values: ['yes'] }] }), ctx());
    expect(result).toMatchObject({ status: 'failed', passed: false, escalated: false });
    expect(emulator.requests).toHaveLength(1);
    expect(app.services.trials.get(result.trial_id).status).toBe('failed');
  });

  it('does not "escalate" to the tier that just failed when the budget pulls the choice back down', async () => {
    emulator.setDefault({ kind: 'ok', text: 'nope', usage: { input: 10, output: 5 } });
    // Room for flash-lite's worst case (8192 output tokens), not for flash's.
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.01 });
    const result = await app.services.agents.spawn(spec({ prompt: 'Summarize this.', graders: [{ type: 'contains', values: ['yes'] }] }), ctx());
    expect(result).toMatchObject({ status: 'failed', escalated: false, model: 'gemini-2.5-flash-lite' });
    expect(emulator.requests).toHaveLength(1);
  });

  it('auto steps down past a model whose own budget is spent', async () => {
    emulator.setDefault((req) => ({ kind: 'ok', text: `from ${req.model}` }));
    app.services.cost.setBudget({ provider: 'google_gemini', model: 'gemini-2.5-pro', dailyLimitUsd: 0 });
    const result = await app.services.agents.spawn(spec({ prompt: 'Prove, rigorously, that the distributed protocol is safe.' }), ctx());
    expect(result).toMatchObject({ status: 'passed', model: 'gemini-2.5-flash' });
    expect(result.model_reason).toMatch(/budget left for gemini-2\.5-pro \$0\.0000 → gemini-2\.5-flash/);
  });

  it('a failed escalation keeps the answer already paid for', async () => {
    emulator.setDefault((req) => (req.model === 'gemini-2.5-flash-lite' ? { kind: 'ok', text: 'cheap answer' } : serverError(500)));
    const result = await app.services.agents.spawn(spec({ prompt: 'hi', graders: [{ type: 'contains', values: ['zzz'] }] }), ctx());
    expect(result).toMatchObject({ status: 'failed', text: 'cheap answer', model: 'gemini-2.5-flash-lite', escalated: false });
    expect(result.model_reason).toMatch(/escalation to gemini-2\.5-flash failed \((provider_error|circuit_open)\)/);
    expect(result.cost_usd).toBeGreaterThan(0);
    expect(app.services.trials.get(result.trial_id)).toMatchObject({ status: 'failed', output: 'cheap answer' });
  });

  it('an errored call books one ledger row per attempt and releases the reservation', async () => {
    emulator.setDefault(serverError(503));
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-pro' }), ctx());
    expect(result.status).toBe('errored');
    expect(result.error?.code).toMatch(/provider_error|circuit_open/);
    const summary = app.services.cost.summary({ period: 'all' });
    expect(summary.totals.calls).toBe(emulator.requests.length);
    expect(result.attempts).toBe(emulator.requests.length);
    expect(app.services.trials.get(result.trial_id).attempts).toBe(emulator.requests.length);
    expect(summary.totals.usd).toBe(0);
    expect(app.services.trials.get(result.trial_id)).toMatchObject({ status: 'errored' });
  });

  it('an empty answer the provider billed (thinking tokens, no text) is booked at its cost', async () => {
    emulator.setDefault({
      kind: 'raw',
      body: {
        candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 150_000, candidatesTokenCount: 0, thoughtsTokenCount: 8_000, totalTokenCount: 158_000 },
      },
    });
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-pro' }), ctx());
    expect(result).toMatchObject({ status: 'errored', error: { code: 'provider_error' } });
    expect(result.error?.message).toMatch(/no text/);
    const expected = app.services.cost.costOf('google_gemini', 'gemini-2.5-pro', { inputTokens: 150_000, outputTokens: 8_000 }).usd;
    expect(expected).toBeGreaterThan(0.2);
    const summary = app.services.cost.summary({ period: 'all' });
    expect(summary.totals.calls).toBe(emulator.requests.length);
    expect(summary.totals.usd).toBeCloseTo(expected * emulator.requests.length, 8);
    expect(result.cost_usd).toBeCloseTo(summary.totals.usd, 8);
    expect(app.services.trials.get(result.trial_id).cost_usd).toBeCloseTo(summary.totals.usd, 8);
  });

  it('odd usage numbers from the provider still give a result and a booked call', async () => {
    emulator.enqueue({
      kind: 'raw',
      body: {
        candidates: [{ content: { role: 'model', parts: [{ text: 'hello' }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: '7', candidatesTokenCount: 2.6 },
        modelVersion: 12,
      },
    });
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash' }), ctx());
    expect(result).toMatchObject({ status: 'passed', model: 'gemini-2.5-flash', input_tokens: 7, output_tokens: 3 });
    const summary = app.services.cost.summary({ period: 'all' });
    expect(summary.totals).toMatchObject({ calls: 1, input_tokens: 7, output_tokens: 3 });
    expect(summary.totals.usd).toBeCloseTo(result.cost_usd, 10);
    expect(app.services.trials.get(result.trial_id)).toMatchObject({ status: 'passed', input_tokens: 7, output_tokens: 3 });
  });

  it('says how the answer ended: stop, or length when it was cut off at the token limit', async () => {
    emulator.enqueue({ kind: 'ok', text: 'complete answer' }, { kind: 'ok', text: 'an answer cut o', finishReason: 'MAX_TOKENS' });
    const whole = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash' }), ctx());
    expect(whole).toMatchObject({ status: 'passed', finish_reason: 'stop' });
    const cut = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash', max_output_tokens: 5 }), ctx());
    expect(cut).toMatchObject({ status: 'passed', finish_reason: 'length', text: 'an answer cut o' });
    expect(app.services.trials.get(cut.trial_id)).toMatchObject({ status: 'passed', finish_reason: 'length' });
  });

  it('a prompt the provider blocked fails with the reason, not only "Output is empty"', async () => {
    emulator.enqueue({ kind: 'raw', body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 9 } } });
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash' }), ctx());
    expect(result).toMatchObject({ status: 'failed', finish_reason: 'safety' });
    expect(result.error?.message).toMatch(/blocked by the provider's safety filter \(SAFETY\)/);
    expect(app.services.trials.get(result.trial_id)).toMatchObject({ status: 'failed', finish_reason: 'safety' });
  });

  it('thinking that used the whole output budget fails with the reason', async () => {
    emulator.enqueue({
      kind: 'raw',
      body: { candidates: [{ content: { role: 'model' }, finishReason: 'MAX_TOKENS' }], usageMetadata: { promptTokenCount: 5, thoughtsTokenCount: 64 } },
    });
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash', max_output_tokens: 64 }), ctx());
    expect(result).toMatchObject({ status: 'failed', finish_reason: 'length', output_tokens: 64 });
    expect(result.error?.message).toMatch(/output budget was used up before any text \(MAX_TOKENS\)/);
  });

  it('a budget refusal is an errored trial with the refusal, and nothing is booked', async () => {
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.000001 });
    const result = await app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-pro' }), ctx());
    expect(result).toMatchObject({ status: 'errored', attempts: 0, error: { code: 'budget_exceeded' } });
    expect(result).not.toHaveProperty('finish_reason');
    expect(app.services.trials.get(result.trial_id)).toMatchObject({ status: 'errored', error_code: 'budget_exceeded' });
    expect(emulator.requests).toHaveLength(0);
  });

  it('LLM judges are budgeted like agents: a judge the budget cannot pay for is never sent', async () => {
    app.services.cost.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.00001 });
    emulator.setDefault({ kind: 'ok', text: 'short answer', usage: { input: 5, output: 3 } });
    const result = await app.services.agents.spawn(
      spec({ prompt: 'x', model: 'gemini-2.5-flash-lite', max_output_tokens: 10, graders: [{ type: 'relevance' }] }),
      ctx(),
    );
    expect(emulator.requests).toHaveLength(1);
    expect(result.graders[0]).toMatchObject({ type: 'relevance', status: 'could_not_grade' });
    expect(result.graders[0]!.reason).toMatch(/budget/);
    expect(app.services.cost.summary({ period: 'all' }).totals.usd).toBeLessThanOrEqual(0.00001);
  });

  it('cancellation mid-call ends as cancelled and books nothing', async () => {
    emulator.setDefault({ kind: 'hang' });
    const controller = new AbortController();
    const pending = app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash' }), { signal: controller.signal });
    await expect.poll(() => emulator.inFlight).toBe(1);
    controller.abort();
    const result = await pending;
    expect(result.status).toBe('cancelled');
    await expect.poll(() => emulator.closedEarly).toBe(1);
    expect(app.services.cost.summary({ period: 'all' }).totals.usd).toBe(0);
  });

  it('first_success cancels the rest once one passes', async () => {
    // The slow ones never answer (no timing guess): the batch ends only if the winner cuts them.
    // The winner answers once all three are in flight, so two are cut off on the wire.
    const winner = gate();
    emulator.setDefault((req) => (promptOf(req).includes('fast') ? { kind: 'ok', text: 'fast', release: winner.promise } : { kind: 'hang' }));
    const specs = [spec({ prompt: 'slow 1', model: 'gemini-2.5-flash' }), spec({ prompt: 'fast', model: 'gemini-2.5-flash' }), spec({ prompt: 'slow 2', model: 'gemini-2.5-flash' }), spec({ prompt: 'slow 3', model: 'gemini-2.5-flash' })];
    const running = runParallel(app.services.agents, specs, { maxConcurrency: 3, mode: 'first_success' }, ctx(), Date.now);
    try {
      await expect.poll(() => emulator.inFlight).toBe(3);
    } finally {
      winner.open();
    }
    const outcome = await running;
    await expect.poll(() => emulator.closedEarly).toBe(2);
    expect(outcome.winner_index).toBe(1);
    expect(outcome.results.map((r) => r.status)).toEqual(['cancelled', 'passed', 'cancelled', 'cancelled']);
    // Agent 3 never started: it has no trial; the ones cut off in flight have theirs.
    expect(outcome.results.map((r) => r.trial_id === null)).toEqual([false, false, false, true]);
  });

  it('best_score picks the passing agent with the best grader score', async () => {
    emulator.setDefault((req) => ({ kind: 'ok', text: promptOf(req) }));
    const graders = [{ type: 'contains', values: ['a', 'b', 'c'], mode: 'any', required: false }, { type: 'non_empty' }];
    const specs = ['a', 'a b c', 'zzz'].map((p) => spec({ prompt: p, model: 'gemini-2.5-flash', graders }));
    const outcome = await runParallel(app.services.agents, specs, { maxConcurrency: 2, mode: 'best_score' }, ctx(), Date.now);
    expect(outcome.results.every((r) => r.status === 'passed')).toBe(true);
    // 'any' scores 'a' and 'a b c' alike (1), 'zzz' only on non_empty: the first best wins. The
    // winner is asserted (not.toBe(2) also passed when no winner was chosen at all).
    expect(outcome.results.map((r) => r.score)).toEqual([1, 1, 0.5]);
    expect(outcome.winner_index).toBe(0);
  });

  it('best_score ranks by the weighted grader score', async () => {
    emulator.setDefault((req) => ({ kind: 'ok', text: promptOf(req) }));
    const graders = [
      { type: 'contains', values: ['heavy'], required: false, weight: 10 },
      { type: 'contains', values: ['light'], required: false, weight: 1 },
    ];
    const specs = ['light', 'heavy'].map((p) => spec({ prompt: p, model: 'gemini-2.5-flash', graders }));
    const outcome = await runParallel(app.services.agents, specs, { maxConcurrency: 2, mode: 'best_score' }, ctx(), Date.now);
    // Unweighted, both would score 0.5 and the first would win.
    expect(outcome.results.map((r) => r.score)).toEqual([0.0909, 0.9091]);
    expect(outcome.winner_index).toBe(1);
  });

  it('a batch deadline cancels agents still running', async () => {
    emulator.setDefault({ kind: 'hang' });
    const outcome = await runParallel(app.services.agents, [spec({ prompt: 'a', model: 'gemini-2.5-flash' })], { maxConcurrency: 1, mode: 'all', deadline: Date.now() + 200 }, ctx(), Date.now);
    expect(outcome.results[0]).toMatchObject({ status: 'cancelled', error: { code: 'timeout', message: expect.stringMatching(/batch timeout/) } });
  });

  it('an invalid response_schema is refused before anything is sent or spent', async () => {
    await expect(app.services.agents.spawn(spec({ prompt: 'x', response_schema: { type: 'nope' } }), ctx())).rejects.toThrow(
      /response_schema is not a valid JSON Schema .*nothing was sent or spent/,
    );
    expect(emulator.requests).toHaveLength(0);
    expect(app.services.cost.summary({ period: 'all' }).totals.calls).toBe(0);
  });

  it('an invalid grader spec in one agent of a batch fails only that agent', async () => {
    emulator.setDefault({ kind: 'ok', text: 'fine' });
    const specs = [spec({ prompt: 'a', model: 'gemini-2.5-flash' }), spec({ prompt: 'b', graders: [{ type: 'regex', pattern: 'a(?=b)' }] })];
    const outcome = await runParallel(app.services.agents, specs, { maxConcurrency: 2, mode: 'all' }, ctx(), Date.now);
    expect(outcome.results[0]!.status).toBe('passed');
    expect(outcome.results[1]).toMatchObject({ status: 'errored', error: { code: 'invalid_input' } });
  });
});
