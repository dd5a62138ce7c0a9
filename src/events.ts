import { EventEmitter } from 'node:events';

/**
 * The seam between the agent pipeline and what watches it (alerting, the immune system, failure
 * learning, tracing). One bus per server instance; emitters never wait on listeners, and a
 * throwing listener is logged by the bus owner, never propagated to the call.
 */
export interface OrchestratorEvents {
  'trial.finished': [TrialFinishedEvent];
  'breaker.opened': [BreakerEvent];
  'breaker.half_open': [BreakerEvent];
  'breaker.closed': [BreakerEvent];
  'retry.attempt': [RetryEvent];
  'retry.gave_up': [RetryEvent];
  'budget.threshold': [BudgetThresholdEvent];
  'price.unknown': [{ provider: string; model: string }];
}

export interface TrialFinishedEvent {
  trialId: string;
  status: 'passed' | 'failed' | 'errored' | 'completed';
  provider: string;
  model: string;
  prompt: string;
  output: string | null;
  error: { code: string; message: string } | null;
  costUsd: number;
  latencyMs: number;
  taskId: number | null;
  tags: string[];
  graderResults: Array<{ type: string; pass: boolean | null; score: number | null; reason: string }>;
}

export interface BreakerEvent {
  provider: string;
  model: string;
  at: number;
  /** When the breaker will let a probe through (OPEN only). */
  retryAt?: number;
  reason?: string;
}

export interface RetryEvent {
  provider: string;
  model: string;
  attempt: number;
  delayMs?: number;
  error: string;
  at: number;
}

export interface BudgetThresholdEvent {
  provider: string;
  model: string | null;
  period: 'daily' | 'monthly';
  /** 50, 80 or 100. */
  thresholdPercent: number;
  spentUsd: number;
  limitUsd: number;
  at: number;
}

export class EventBus extends EventEmitter<OrchestratorEvents> {}
