import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { promptOf, serverError, startGeminiEmulator, systemOf, type Behaviour, type GeminiEmulator, type RecordedRequest } from '../helpers/geminiEmulator.js';
import { makeTempDir } from '../helpers/paths.js';
import { toolCalls, type Structured } from '../helpers/mcp.js';
import { startServer, type StartedServer } from '../helpers/serverProcess.js';


const JUDGE_MODEL = 'gemini-2.5-pro';
const AGENT_MODEL = 'gemini-2.5-flash-lite';
const AGENT_ANSWER = 'Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.';

/** The judge's system prompt (src/eval/graders/modelGraders.ts) is how the emulator tells judge calls apart. */
const isJudgeRequest = (req: RecordedRequest) => (systemOf(req) ?? '').includes('You are a strict, fair evaluator');

/** Model graders (LLM-as-judge) end to end: spawn_agent -> agent call -> judge call -> trial. */
describe('model graders through spawn_agent against the Gemini emulator', () => {
  let emulator: GeminiEmulator;
  let server: StartedServer;
  /** What the judge answers next (the agent always answers AGENT_ANSWER). */
  let judge: Behaviour;

  const { call, ok } = toolCalls(() => server.client);
  const judgeRequests = () => emulator.requests.filter(isJudgeRequest);
  const agentRequests = () => emulator.requests.filter((r) => !isJudgeRequest(r));

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
    server = await startServer({
      TASK_ORCHESTRATOR_HOME: makeTempDir(),
      GEMINI_API_KEY: 'AIzaSyJUDGEtestKEY0123456789abcdefghij',
      GEMINI_BASE_URL: emulator.url,
      TASK_ORCHESTRATOR_JUDGE_MODEL: JUDGE_MODEL,
      TASK_ORCHESTRATOR_RETRY_MAX: '1',
      TASK_ORCHESTRATOR_RETRY_BASE_MS: '20',
      TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '100',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await emulator?.close();
  });
  beforeEach(() => {
    emulator.reset();
    judge = { kind: 'ok', text: '{"score":0.9,"pass":true,"reasoning":"Directly answers the question."}', usage: { input: 500, output: 30 } };
    emulator.setDefault((req) => (isJudgeRequest(req) ? judge : { kind: 'ok', text: AGENT_ANSWER, usage: { input: 100, output: 20 } }));
  });

  it('a relevance judge grades the answer: judge model, JSON output requested, rubric, task and output in the prompt', async () => {
    const { result } = await ok('spawn_agent', {
      prompt: 'Explain photosynthesis in one sentence.',
      model: AGENT_MODEL,
      graders: [{ type: 'relevance' }],
    });
    expect(result).toMatchObject({ status: 'passed', passed: true, text: AGENT_ANSWER, model: AGENT_MODEL });
    expect(result.graders).toEqual([
      { type: 'relevance', pass: true, score: 0.9, status: 'graded', required: true, reason: expect.stringContaining('Directly answers the question.') },
    ]);

    expect(agentRequests().map((r) => r.model)).toEqual([AGENT_MODEL]);
    expect(judgeRequests()).toHaveLength(1);
    const req = judgeRequests()[0]!;
    expect(req.model).toBe(JUDGE_MODEL);
    expect(req.path).toBe(`/v1beta/models/${JUDGE_MODEL}:generateContent`);
    const config = (req.body as Structured).generationConfig;
    expect(config.responseMimeType).toBe('application/json');
    expect(config.responseJsonSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['score', 'pass', 'reasoning']) });
    expect(config.temperature).toBe(0);
    const prompt = promptOf(req);
    expect(prompt).toMatch(/^RUBRIC\nRelevance:/);
    expect(prompt).toContain('<task>\nExplain photosynthesis in one sentence.\n</task>');
    expect(prompt).toContain(`<output>\n${AGENT_ANSWER}\n</output>`);
  });

  it('the pass line is the threshold, not the judge\'s own "pass"; a failing judge fails the trial', async () => {
    judge = { kind: 'ok', text: '{"score":0.6,"pass":true,"reasoning":"Partly on topic."}' };
    const { result } = await ok('spawn_agent', {
      prompt: 'Explain photosynthesis in one sentence.',
      model: AGENT_MODEL,
      graders: [{ type: 'accuracy', threshold: 0.8 }],
    });
    expect(result.status).toBe('failed');
    expect(result.passed).toBe(false);
    expect(result.graders[0]).toMatchObject({ type: 'accuracy', pass: false, score: 0.6, status: 'graded' });
    expect(result.graders[0].reason).toMatch(/threshold 0\.8/);
    expect(promptOf(judgeRequests()[0]!)).toMatch(/^RUBRIC\nAccuracy:/);
  });

  it.each([
    ['broken JSON', { kind: 'ok', text: '{"score": 0.9, "pass": tru' } as Behaviour, /valid JSON/],
    ['a score outside 0..1', { kind: 'ok', text: '{"score": 9, "pass": true, "reasoning": "great"}' } as Behaviour, /outside 0\.\.1/],
    ['an unavailable judge', serverError(503), /judge call failed/],
  ])('a judge answering %s: could_not_grade, and the trial is not failed because of it', async (_label, behaviour, reason) => {
    judge = behaviour;
    const { result } = await ok('spawn_agent', {
      prompt: 'Explain photosynthesis in one sentence.',
      model: AGENT_MODEL,
      graders: [{ type: 'relevance' }, { type: 'contains', values: ['oxygen'] }],
    });
    // The answer itself is returned and judged by the graders that could run.
    expect(result).toMatchObject({ status: 'passed', passed: true, text: AGENT_ANSWER, grading_incomplete: true });
    expect(result.graders).toEqual([
      expect.objectContaining({ type: 'relevance', status: 'could_not_grade', pass: null, score: null, reason: expect.stringMatching(reason) }),
      expect.objectContaining({ type: 'contains', status: 'graded', pass: true }),
    ]);
    // Only the agent call is a provider call; the judge was asked (and not more than the retry policy allows).
    expect(agentRequests()).toHaveLength(1);
    expect(judgeRequests().length).toBeGreaterThanOrEqual(1);

    // ... and the trial says its grading was incomplete.
    const trial = await ok('trials_get', { id: result.trial_id });
    expect(trial).toMatchObject({ status: 'passed', grading_incomplete: true });
  });

  it('trials_get returns the graded trial: status, grader results, model, tokens, output', async () => {
    const { result } = await ok('spawn_agent', {
      prompt: 'Explain photosynthesis in one sentence.',
      system: 'Be concise.',
      model: AGENT_MODEL,
      graders: [{ type: 'relevance' }, { type: 'completeness', required: false }],
      tags: ['bio'],
    });
    const trial = await ok('trials_get', { id: result.trial_id });
    expect(trial).toMatchObject({
      id: result.trial_id,
      status: 'passed',
      prompt: 'Explain photosynthesis in one sentence.',
      system: 'Be concise.',
      output: AGENT_ANSWER,
      provider: 'google_gemini',
      model: AGENT_MODEL,
      input_tokens: 100,
      output_tokens: 20,
      attempts: 1,
      grading_incomplete: false,
      score: 0.9,
      tags: ['bio'],
      error_code: null,
    });
    expect(trial.grader_results).toEqual([
      expect.objectContaining({ type: 'relevance', pass: true, score: 0.9, status: 'graded', required: true }),
      expect.objectContaining({ type: 'completeness', pass: true, score: 0.9, status: 'graded', required: false }),
    ]);
    // Judge tokens are judge spend, not the agent's answer size.
    expect(trial.input_tokens).toBe(result.input_tokens);
    // Two judges ran concurrently, each with its own rubric.
    expect(judgeRequests().map((r) => promptOf(r).split('\n')[1]!.split(':')[0]).sort()).toEqual(['Completeness', 'Relevance']);

    const unknown = await call('trials_get', { id: 'tr_doesnotexist' });
    expect(unknown.isError).toBe(true);
    expect((unknown.content[0] as { text: string }).text).toMatch(/^not_found: /);
  });
});
