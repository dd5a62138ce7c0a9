import { ManualClock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { EventBus, type FailureRecordedEvent, type TrialFinishedEvent } from '../../../src/events.js';
import { DEFAULT_IMMUNE_CONFIG, type ImmuneConfig } from '../../../src/immune/config.js';
import { immuneMigrations } from '../../../src/immune/migrations.js';
import { ImmuneSystem } from '../../../src/immune/immuneSystem.js';
import type { PreCheckInput } from '../../../src/agents/preCheck.js';
import { silentLogger } from '../../../src/logger.js';
import { trialMigrations } from '../../../src/eval/trialStore.js';

export const TIERS = ['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro'];

export function makeImmune(config: Partial<ImmuneConfig> = {}, db?: Db) {
  const clock = new ManualClock();
  const database = db ?? openDatabase(':memory:', { migrations: [...trialMigrations, ...immuneMigrations] });
  const events = new EventBus(silentLogger);
  const recorded: FailureRecordedEvent[] = [];
  events.on('failure.recorded', (e) => void recorded.push(e));
  const immune = new ImmuneSystem({ db: database, clock, logger: silentLogger, events, config: { ...DEFAULT_IMMUNE_CONFIG, ...config }, secrets: ['literal-configured-secret-123'] });
  immune.subscribe();
  return { immune, db: database, clock, events, recorded };
}

export function input(prompt: string, extra: Partial<PreCheckInput> = {}): PreCheckInput {
  return {
    operation: 'agent',
    prompt,
    system: undefined,
    provider: 'google_gemini',
    model: 'auto',
    tiers: TIERS,
    responseSchema: undefined,
    graders: [{ type: 'non_empty' }],
    maxOutputTokens: 1000,
    taskId: null,
    tags: [],
    ...extra,
  };
}

let seq = 0;
export function finished(over: Partial<TrialFinishedEvent>): TrialFinishedEvent {
  seq += 1;
  return {
    trialId: `tr_${seq}`,
    status: 'failed',
    operation: 'agent',
    provider: 'google_gemini',
    model: TIERS[0]!,
    modelReason: 'test',
    escalated: false,
    prompt: 'x',
    processedPrompt: over.prompt ?? 'x',
    system: null,
    hasSystem: false,
    hasResponseSchema: false,
    output: 'some output',
    finishReason: 'stop',
    error: null,
    attempts: 1,
    inputTokens: 10,
    outputTokens: 10,
    costUsd: 0,
    latencyMs: 5,
    taskId: null,
    tags: [],
    batchId: null,
    graderSpecs: [{ type: 'json_valid' }],
    graderResults: [{ type: 'json_valid', pass: false, score: 0, reason: 'not JSON', required: true, status: 'graded' }],
    guardrails: [],
    at: Date.UTC(2026, 0, 15, 12),
    ...over,
  };
}
