import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { agentSpecSchema, type AgentSpec } from '../../../src/agents/spawnSchema.js';
import { loadConfig, type Config } from '../../../src/config.js';
import type { EventBus, TrialFinishedEvent } from '../../../src/events.js';
import { createLogger, type LogRecord } from '../../../src/logger.js';
import { startGeminiEmulator, type GeminiEmulator } from '../../helpers/geminiEmulator.js';
import { makeTempDir } from '../../helpers/paths.js';
import { TEST_API_KEY } from '../../helpers/keys.js';

const spec = (input: Record<string, unknown>): AgentSpec => agentSpecSchema.parse(input);

/** A listener of trial.finished can never change a call's answer or take the process down. */
describe('trial.finished listeners that fail', () => {
  let emulator: GeminiEmulator;
  let config: Config;
  let app: App | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    emulator = await startGeminiEmulator();
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await emulator.close();
  });
  beforeEach(() => {
    emulator.reset();
    emulator.setDefault({ kind: 'ok', text: 'hello world', usage: { input: 10, output: 5 } });
    unhandled.length = 0;
    config = loadConfig({
      TASK_ORCHESTRATOR_HOME: makeTempDir(),
      GEMINI_API_KEY: TEST_API_KEY,
      GEMINI_BASE_URL: emulator.url,
    });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const start = async (listener: (events: EventBus) => void) => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'error', write: () => {}, sinks: [(r) => void records.push(r)] });
    app = await createApp({ config, logger, listeners: [listener] });
    return { app, records };
  };
  const ctx = () => ({ signal: new AbortController().signal });
  const paidCall = () => spec({ prompt: 'say hello', model: 'gemini-2.5-flash', graders: [{ type: 'regex', pattern: 'hello' }] });

  it('a throwing listener: the paid, passed call still answers passed with its cost; the failure is counted and logged', async () => {
    const { app, records } = await start((events) =>
      events.on('trial.finished', () => {
        throw new Error('listener exploded');
      }),
    );
    const result = await app.services.agents.spawn(paidCall(), ctx());
    expect(result).toMatchObject({ status: 'passed', text: 'hello world' });
    expect(result.cost_usd).toBeGreaterThan(0);
    expect(result.cost_usd).toBeCloseTo(app.services.cost.summary({ period: 'all' }).totals.usd, 10);
    expect(app.services.trials.get(result.trial_id).status).toBe('passed');
    expect(app.services.events.listenerFailures()).toBe(1);
    expect(records).toEqual([expect.objectContaining({ level: 'error', message: expect.stringMatching(/listener of trial\.finished failed: listener exploded/) })]);
  });

  it('a rejecting async listener: no unhandled rejection, the next call still runs, the failure is counted and logged', async () => {
    let calls = 0;
    const { app, records } = await start((events) =>
      events.on('trial.finished', async () => {
        calls += 1;
        await Promise.resolve();
        throw new Error('async listener rejected');
      }),
    );
    const first = await app.services.agents.spawn(paidCall(), ctx());
    const second = await app.services.agents.spawn(paidCall(), ctx());
    expect([first.status, second.status]).toEqual(['passed', 'passed']);
    expect(first.cost_usd).toBeGreaterThan(0);
    await expect.poll(() => app.services.events.listenerFailures()).toBe(2);
    // Give an unhandled rejection every chance to surface.
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(calls).toBe(2);
    expect(records.filter((r) => /async listener rejected/.test(r.message))).toHaveLength(2);
  });

  it('trial.finished is complete: batch id, resolved graders, finish reason, prompts, guardrails; emitted once the trial is final', async () => {
    const seen: Array<{ event: TrialFinishedEvent; trialStatus: string }> = [];
    const { app } = await start((events) => events.on('trial.finished', (event) => void seen.push({ event, trialStatus: app.services.trials.get(event.trialId).status })));
    const { runParallel } = await import('../../../src/agents/parallel.js');
    const outcome = await runParallel(
      app.services.agents,
      [spec({ prompt: 'a', model: 'gemini-2.5-flash', response_schema: { type: 'object' } })],
      { maxConcurrency: 1, mode: 'all', parentRunId: 'batch_1' },
      ctx(),
      Date.now,
    );
    expect(seen).toHaveLength(1);
    const { event, trialStatus } = seen[0]!;
    // A listener reading the trial sees it in its final state.
    expect(trialStatus).toBe(outcome.results[0]!.status);
    expect(event).toMatchObject({
      batchId: 'batch_1',
      prompt: 'a',
      processedPrompt: 'a',
      guardrails: [],
      finishReason: 'stop',
      hasResponseSchema: true,
      graderSpecs: [expect.objectContaining({ type: 'non_empty' }), expect.objectContaining({ type: 'json_schema' })],
    });
  });

  it('a cancelled call is reported as cancelled, not errored', async () => {
    const events: TrialFinishedEvent[] = [];
    const { app } = await start((bus) => bus.on('trial.finished', (e) => void events.push(e)));
    emulator.setDefault({ kind: 'hang' });
    const controller = new AbortController();
    const pending = app.services.agents.spawn(spec({ prompt: 'x', model: 'gemini-2.5-flash' }), { signal: controller.signal });
    await expect.poll(() => emulator.inFlight).toBe(1);
    controller.abort();
    expect((await pending).status).toBe('cancelled');
    expect(events.map((e) => e.status)).toEqual(['cancelled']);
  });
});
