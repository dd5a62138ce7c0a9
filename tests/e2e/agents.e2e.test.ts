import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { promptOf, rateLimited, serverError, startGeminiEmulator, systemOf, type GeminiEmulator } from '../helpers/geminiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';
import { TEST_API_KEY } from '../helpers/keys.js';
import { gate } from '../helpers/wait.js';

const API_KEY = TEST_API_KEY;


describe('agent tools over stdio against the Gemini emulator', () => {
  let emulator: GeminiEmulator;
  let server: StartedServer;
  let home: string;

  const env = (extra: Record<string, string> = {}) => ({
    TASK_ORCHESTRATOR_HOME: home,
    GEMINI_API_KEY: API_KEY,
    GEMINI_BASE_URL: emulator.url,
    TASK_ORCHESTRATOR_RETRY_BASE_MS: '20',
    TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '100',
    TASK_ORCHESTRATOR_PROGRESS_INTERVAL_MS: '100',
    ...extra,
  });
  const { call, ok } = toolCalls(() => server.client);

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(async () => {
    emulator.reset();
    emulator.setDefault(undefined);
    home = makeTempDir();
    server = await startServer(env());
  });
  afterEach(async () => {
    await server.stop();
  });

  it('spawn_agent sends the right request and returns a graded, costed answer', async () => {
    emulator.enqueue({ kind: 'ok', text: 'Paris is the capital of France.', usage: { input: 1000, output: 200 } });
    const { result } = await ok('spawn_agent', {
      prompt: 'Summarize: the capital of France',
      system: 'Be brief.',
      temperature: 0.2,
      max_output_tokens: 256,
      graders: [{ type: 'contains', values: ['Paris'] }],
      tags: ['geo'],
    });
    expect(result).toMatchObject({ status: 'passed', passed: true, text: 'Paris is the capital of France.', model: 'gemini-2.5-flash-lite', input_tokens: 1000, output_tokens: 200, attempts: 1 });
    expect(result.model_reason).toMatch(/summary/);
    // flash-lite list price: $0.10 / $0.40 per million tokens.
    expect(result.cost_usd).toBeCloseTo((1000 * 0.1 + 200 * 0.4) / 1e6, 10);
    expect(result.graders).toEqual([expect.objectContaining({ type: 'contains', pass: true })]);
    expect(result.trial_id).toMatch(/\w+/);

    const req = emulator.requests[0]!;
    expect(req.path).toBe('/v1beta/models/gemini-2.5-flash-lite:generateContent');
    expect(req.headers['x-goog-api-key']).toBe(API_KEY);
    expect(promptOf(req)).toBe('Summarize: the capital of France');
    expect(systemOf(req)).toBe('Be brief.');
    expect((req.body as Structured).generationConfig).toMatchObject({ temperature: 0.2, maxOutputTokens: 256 });
  });

  it('structured output: sends the schema and returns parsed JSON', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    emulator.enqueue({ kind: 'ok', text: '{"city":"Paris"}' });
    const { result } = await ok('spawn_agent', { prompt: 'Extract the city from: I live in Paris', response_schema: schema });
    expect(result.json).toEqual({ city: 'Paris' });
    expect(result.graders.map((g: Structured) => [g.type, g.pass])).toEqual([
      ['non_empty', true],
      ['json_schema', true],
    ]);
    const config = (emulator.requests[0]!.body as Structured).generationConfig;
    expect(config.responseMimeType).toBe('application/json');
    expect(config.responseJsonSchema).toEqual(schema);
  });

  it('escalates once to the next tier when graders fail on auto', async () => {
    emulator.enqueue({ kind: 'ok', text: 'no idea' }, { kind: 'ok', text: 'The answer is 42.' });
    const { result } = await ok('spawn_agent', { prompt: 'Summarize the answer', graders: [{ type: 'contains', values: ['42'] }] });
    expect(result).toMatchObject({ status: 'passed', escalated: true, model: 'gemini-2.5-flash', attempts: 2 });
    expect(emulator.requests.map((r) => r.model)).toEqual(['gemini-2.5-flash-lite', 'gemini-2.5-flash']);
  });

  it('retries a 429 and then answers; a 400 is an error result that names the problem, never a stack trace', async () => {
    emulator.enqueue(rateLimited(0.05), { kind: 'ok', text: 'ok after retry' });
    const { result } = await ok('spawn_agent', { prompt: 'hello', model: 'gemini-2.5-flash' });
    expect(result).toMatchObject({ attempts: 2, model: 'gemini-2.5-flash', model_reason: 'requested by the caller' });
    expect(emulator.requests.map((r) => r.model)).toEqual(['gemini-2.5-flash', 'gemini-2.5-flash']);
    emulator.enqueue({ kind: 'error', status: 400, body: { error: { code: 400, message: 'Invalid argument: bad field', status: 'INVALID_ARGUMENT' } } });
    const failed = await call('spawn_agent', { prompt: 'hello', model: 'gemini-2.5-flash' });
    expect(failed.isError).toBe(true);
    const text = (failed.content[0] as { text: string }).text;
    expect(text).toMatch(/400/);
    expect(text).toMatch(/Invalid argument/);
    expect(text).not.toMatch(/\n\s+at /);
    // A misspelt argument, even inside one agent of a batch, is refused before anything is sent.
    const before = emulator.requests.length;
    const typo = await call('spawn_parallel_agents', { agents: [{ prompt: 'x', modle: 'gemini-2.5-pro' }] });
    expect(typo.isError).toBe(true);
    expect((typo.content[0] as { text: string }).text).toMatch(/^invalid_input: agents\.0: unknown argument "modle"; allowed: prompt, /);
    expect(emulator.requests.length).toBe(before);
    expect(text).not.toContain(API_KEY);
  });

  it('says when an answer was truncated, and why an empty one failed', async () => {
    emulator.enqueue({ kind: 'ok', text: 'The answer begins and th', finishReason: 'MAX_TOKENS' });
    const cut = await call('spawn_agent', { prompt: 'Explain at length', model: 'gemini-2.5-flash', max_output_tokens: 8 });
    expect(cut.isError).toBeFalsy();
    expect((cut.structuredContent as Structured).result).toMatchObject({ status: 'passed', finish_reason: 'length' });
    expect((cut.content[0] as { text: string }).text).toContain('truncated at max_output_tokens');
    const trial = await call('trials_get', { id: (cut.structuredContent as Structured).result.trial_id });
    expect(trial.structuredContent).toMatchObject({ finish_reason: 'length' });

    emulator.enqueue({ kind: 'ok', text: 'fine' }, { kind: 'raw', body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3 } } });
    const batch = await call('spawn_parallel_agents', { agents: [{ prompt: 'a', model: 'gemini-2.5-flash' }, { prompt: 'b', model: 'gemini-2.5-flash' }], max_concurrency: 1 });
    const { outcome } = batch.structuredContent as Structured;
    expect(outcome.results[1]).toMatchObject({ status: 'failed', finish_reason: 'safety' });
    expect((batch.content[0] as { text: string }).text).toMatch(/#1 .*blocked by the provider's safety filter \(SAFETY\)/);
  });

  it('spawn_parallel_agents: input order, partial failures, concurrency cap, progress in order', async () => {
    // The answers wait until the first three agents are in flight together, then flow freely.
    const firstThree = gate();
    emulator.setDefault((req) => {
      const prompt = promptOf(req);
      if (prompt.includes('fail')) return { kind: 'error', status: 400, body: { error: { code: 400, message: 'bad', status: 'INVALID_ARGUMENT' } } };
      return { kind: 'ok', text: `answer to ${prompt}`, release: firstThree.promise };
    });
    const progress: number[] = [];
    const agents = Array.from({ length: 8 }, (_, i) => ({ prompt: i === 3 ? `please fail ${i}` : `question ${i}`, model: 'gemini-2.5-flash' }));
    const pending = server.client.callTool({ name: 'spawn_parallel_agents', arguments: { agents, max_concurrency: 3 } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p.progress),
    });
    try {
      await expect.poll(() => emulator.inFlight).toBe(3);
    } finally {
      firstThree.open();
    }
    const result = (await pending) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const { outcome } = result.structuredContent as Structured;
    expect(outcome.results.map((r: Structured) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(outcome.results[3].status).toBe('errored');
    expect(outcome.results[3].error.message).toMatch(/400/);
    expect(outcome.results[5]).toMatchObject({ status: 'passed', text: 'answer to question 5' });
    expect(outcome.totals).toMatchObject({ agents: 8, passed: 7, errored: 1 });
    expect(emulator.maxInFlight).toBe(3); // the cap, reached and never passed
    expect(progress.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThan(progress[i - 1]!);
    // The batch's trials can be found again by its id.
    expect(outcome.batch_id).toMatch(/^batch_/);
    const trials = await ok('trials_list', { parent_run_id: outcome.batch_id, limit: 50 });
    expect(trials.total).toBe(8);
  });

  it('sends progress heartbeats while one slow call is in flight', async () => {
    // The answer is held until four heartbeats (100 ms apart) have arrived: a call that sent none
    // would time the test out, and a loaded machine cannot make it too short to see them.
    const answer = gate();
    emulator.enqueue({ kind: 'ok', text: 'slow answer', release: answer.promise });
    const progress: number[] = [];
    const pending = server.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'slow one' } }, CallToolResultSchema, {
      onprogress: (p) => progress.push(p.progress),
    });
    await expect.poll(() => progress.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    expect(emulator.inFlight).toBe(1);
    answer.open();
    expect((await pending).isError).toBeFalsy();
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThan(progress[i - 1]!);
  });

  it('cancellation aborts the in-flight HTTP request', async () => {
    emulator.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = server.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'never answered' } }, CallToolResultSchema, { signal: controller.signal });
    await expect.poll(() => emulator.inFlight).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expect.poll(() => emulator.closedEarly, { timeout: 5_000 }).toBe(1);
    // The server is still fine afterwards.
    emulator.enqueue({ kind: 'ok', text: 'still here' });
    expect((await ok('spawn_agent', { prompt: 'hello again' })).result.text).toBe('still here');
  });

  it('background runs: run_id at once, agent_result waits for the result', async () => {
    const answers = gate();
    emulator.setDefault({ kind: 'ok', text: 'bg answer', release: answers.promise });
    const started = await ok('spawn_parallel_agents', { agents: [{ prompt: 'a' }, { prompt: 'b' }], background: true });
    expect(started.run_id).toMatch(/^run_/);
    const running = await ok('agent_result', { run_id: started.run_id });
    expect(running.status).toBe('running');
    answers.open();
    const done = await ok('agent_result', { run_id: started.run_id, wait_ms: 10_000 });
    expect(done.status).toBe('done');
    expect(done.result.results.map((r: Structured) => r.text)).toEqual(['bg answer', 'bg answer']);
    expect(done.result.batch_id).toBe(started.run_id);
    expect((await ok('trials_list', { parent_run_id: started.run_id })).total).toBe(2);
    const unknown = await call('agent_result', { run_id: 'run_nope' });
    expect(unknown.isError).toBe(true);
  });

  it('a restart reports a background run cut off by it as interrupted', async () => {
    emulator.setDefault({ kind: 'hang' });
    const started = await ok('spawn_agent', { prompt: 'long job', background: true });
    await expect.poll(() => emulator.inFlight).toBe(1);
    server.transport.child!.kill('SIGKILL');
    await server.transport.exited;
    server = await startServer(env());
    const after = await ok('agent_result', { run_id: started.run_id });
    expect(after.status).toBe('interrupted');
    expect(after.error).toMatch(/restarted/);
    // Its trial is not left running forever either.
    const { trials } = await ok('trials_list', {});
    expect(trials.map((t: Structured) => [t.status, t.error_code])).toEqual([['errored', 'interrupted']]);
  });

  it('a graceful shutdown reports a background run it cut off as interrupted, keeping what finished', async () => {
    emulator.setDefault((req) => (promptOf(req) === 'quick' ? { kind: 'ok', text: 'quick answer' } : { kind: 'hang' }));
    const started = await ok('spawn_parallel_agents', { agents: [{ prompt: 'quick' }, { prompt: 'long job' }], background: true });
    // Stopped once the quick agent's result is recorded (not merely answered by the emulator).
    await expect.poll(async () => ((await ok('agent_result', { run_id: started.run_id })).partial ?? []).length).toBe(1);
    await expect.poll(() => emulator.inFlight).toBe(1);
    server.transport.child!.kill('SIGTERM');
    await server.transport.exited;
    server = await startServer(env());
    const after = await ok('agent_result', { run_id: started.run_id });
    expect(after.status).toBe('interrupted');
    expect(after.error).toMatch(/shut down/);
    expect(after.result.results.map((r: Structured) => r.status)).toEqual(['passed', 'cancelled']);
    expect(after.result.results[0].text).toBe('quick answer');
  });

  it('rejects bad grader specs with a message naming the field', async () => {
    const result = await call('spawn_agent', { prompt: 'x', graders: [{ type: 'regex' }] });
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/graders\.0\.pattern/);
    expect(emulator.requests).toHaveLength(0);
  });

  it('timeout_ms bounds the whole call, is not retried, and does not count against the model', async () => {
    // The first request never answers (no elapsed-time bound to flake): only the 1 s deadline can end it.
    emulator.enqueue({ kind: 'hang' });
    emulator.setDefault({ kind: 'ok', text: 'slow but fine', delayMs: 2_500 });
    const result = await call('spawn_agent', { prompt: 'hi', model: 'gemini-2.5-flash', timeout_ms: 1_000 });
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/timeout: .*stopped at the call's deadline/);
    expect(emulator.requests).toHaveLength(1);
    const status = await ok('healing_status', {});
    const flash = status.breakers.find((b: Structured) => b.model === 'gemini-2.5-flash');
    expect(flash?.state ?? 'closed').toBe('closed');
    expect(flash?.total_failures ?? 0).toBe(0);
    // The next caller, with time to wait, is served by the same model.
    expect((await ok('spawn_agent', { prompt: 'hi', model: 'gemini-2.5-flash' })).result.text).toBe('slow but fine');
  });

  it('a misspelt grader parameter is an error naming it, not a silent default', async () => {
    for (const [grader, key] of [
      [{ type: 'relevance', treshold: 0.99 }, 'treshold'],
      [{ type: 'regex', pattern: '^a', flag: 'i' }, 'flag'],
      [{ type: 'length', min: 1, maxx: 5 }, 'maxx'],
      [{ type: 'contains', values: ['a'], case_sensitve: true }, 'case_sensitve'],
      [{ type: 'non_empty', requred: false }, 'requred'],
    ] as const) {
      const result = await call('spawn_agent', { prompt: 'x', graders: [grader] });
      expect(result.isError, key).toBe(true);
      expect((result.content[0] as { text: string }).text).toMatch(new RegExp(`graders\\.0.*${key}`));
    }
    const period = await call('cost_summary', { period: { from: '2026-01-01', to: '2026-01-31', form: 'x' } });
    expect(period.isError).toBe(true);
    expect((period.content[0] as { text: string }).text).toMatch(/form/);
    expect(emulator.requests).toHaveLength(0);
  });

  it('spawn_parallel_agents checks every agent before running any', async () => {
    for (const background of [false, true]) {
      const result = await call('spawn_parallel_agents', {
        agents: [{ prompt: 'fine' }, { prompt: 'also fine' }, { prompt: 'bad', graders: [{ type: 'regex', pattern: '(?<=a)b' }] }],
        background,
      });
      expect(result.isError).toBe(true);
      expect((result.content[0] as { text: string }).text).toMatch(/^invalid_input: agents\.2: graders\.0\.pattern: .*RE2/);
    }
    expect(emulator.requests).toHaveLength(0);
    expect((await ok('trials_list', {})).total).toBe(0);
  });

  it('a provider outage opens the breaker and is reported, then auto routes around it', async () => {
    emulator.setDefault((req) => (req.model === 'gemini-2.5-flash-lite' ? serverError(503) : { kind: 'ok', text: `from ${req.model}` }));
    const first = await call('spawn_agent', { prompt: 'hi', model: 'gemini-2.5-flash-lite' });
    expect(first.isError).toBe(true);
    const open = await call('spawn_agent', { prompt: 'hi', model: 'gemini-2.5-flash-lite' });
    expect((open.content[0] as { text: string }).text).toMatch(/circuit_open.*gemini-2\.5-flash-lite/s);
    const { result } = await ok('spawn_agent', { prompt: 'Summarize this' });
    expect(result.model).toBe('gemini-2.5-flash');
    expect(result.model_reason).toMatch(/unavailable/);
    const status = await ok('healing_status', {});
    expect(status.breakers.find((b: Structured) => b.model === 'gemini-2.5-flash-lite').state).toBe('open');
  });
});

describe('agent tools without a key', () => {
  it('answer with an error that says what to set; other tools keep working', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir() });
    const result = (await server.client.callTool({ name: 'spawn_agent', arguments: { prompt: 'hi' } })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/GEMINI_API_KEY/);
    const added = await server.client.callTool({ name: 'tasks_add', arguments: { title: 'works' } });
    expect(added.isError).toBeFalsy();
    await server.stop();
  });
});
