import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PreCheckOutcome } from './preCheckRunner.js';
import type { SpawnPlan } from './spawnPlan.js';
import type { AgentResult } from './spawnSchema.js';

/**
 * What watches agent calls without being part of them: tracing, the trial.finished event,
 * durability, and whatever comes next (the immune system learning from every generation). The
 * pipeline calls each observer at four points and ignores what they do: a throwing observer is
 * logged, never seen by the call. Observers must not block: they return at once.
 */
export interface SpawnObserver {
  /** The call started (before pre-checks; nothing is reserved yet). */
  onStart?(e: SpawnStarted): void;
  /** One provider request ended, answered or failed. */
  onGeneration?(e: SpawnGeneration): void;
  /** A grader scored the answer. */
  onScore?(e: SpawnScore): void;
  /** The call is over and its trial is committed in its final state. */
  onFinish?(e: SpawnFinished): void;
}

export interface SpawnStarted {
  trialId: string;
  plan: SpawnPlan;
  batchId: string | null;
  at: number;
}

export interface SpawnGeneration {
  trialId: string;
  provider: string;
  model: string;
  /** The prompt as sent. */
  input: string;
  output: string | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  startedAt: number;
  endedAt: number;
  attempt: number;
  modelReason: string;
  /** Set when the request failed. */
  error?: string | undefined;
}

export interface SpawnScore {
  trialId: string;
  grader: string;
  score: number;
  reason: string;
}

export interface SpawnFinished {
  trialId: string;
  plan: SpawnPlan;
  result: AgentResult;
  /** What the pre-checks did (the prompt as sent included). */
  preCheck: PreCheckOutcome;
  batchId: string | null;
  at: number;
}

/** Calls every observer; one that throws is logged and skipped. */
export class SpawnObservers implements Required<SpawnObserver> {
  constructor(
    private readonly observers: readonly SpawnObserver[],
    private readonly logger: Logger,
  ) {}

  onStart(e: SpawnStarted): void {
    this.each('onStart', (o) => o.onStart?.(e));
  }

  onGeneration(e: SpawnGeneration): void {
    this.each('onGeneration', (o) => o.onGeneration?.(e));
  }

  onScore(e: SpawnScore): void {
    this.each('onScore', (o) => o.onScore?.(e));
  }

  onFinish(e: SpawnFinished): void {
    this.each('onFinish', (o) => o.onFinish?.(e));
  }

  private each(point: string, call: (o: SpawnObserver) => void): void {
    for (const observer of this.observers) {
      try {
        call(observer);
      } catch (err) {
        this.logger.error(`a spawn observer failed in ${point}: ${errorMessage(err)}`);
      }
    }
  }
}
