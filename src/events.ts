import type { Logger } from './logger.js';

/**
 * The seam between the agent pipeline and what watches it (alerting, the immune system, failure
 * learning, tracing). One bus per server instance. Emitters never wait on listeners: `emit` calls
 * each listener, catches what it throws or its promise rejects with, logs and counts it. A
 * listener can never change a call's answer or take the server down.
 */
export interface OrchestratorEvents {
  'trial.finished': TrialFinishedEvent;
  'breaker.opened': BreakerEvent;
  'breaker.half_open': BreakerEvent;
  'breaker.closed': BreakerEvent;
  'retry.attempt': RetryEvent;
  'retry.gave_up': RetryEvent;
  /** A provider said "slower" (429/503 naming a delay): back-pressure, not a failure. */
  'rate_limit.hit': RateLimitEvent;
  /** A ledger row was written for a provider call. */
  'spend.booked': SpendBookedEvent;
  /** A call cost more than its reservation: the budget check let through more than it knew. */
  'cost.overrun': CostOverrunEvent;
  'budget.threshold': BudgetThresholdEvent;
  'price.unknown': { provider: string; model: string };
  /** The failure memory stored a failed or errored trial. */
  'failure.recorded': FailureRecordedEvent;
  /** A pre-call failure risk was assessed for the model about to be called. */
  'risk.assessed': RiskAssessedEvent;
}

export type EventName = keyof OrchestratorEvents;
export type Listener<K extends EventName> = (event: OrchestratorEvents[K]) => unknown;

export interface TrialFinishedEvent {
  trialId: string;
  status: 'passed' | 'failed' | 'errored' | 'cancelled';
  /** "agent" for a spawned agent; judges are booked on the agent's trial and emit nothing. */
  operation: 'agent';
  provider: string;
  model: string;
  modelReason: string;
  escalated: boolean;
  /** The prompt the caller sent, before any pre-check rewrote it. */
  prompt: string;
  /** The prompt that was sent to the model (equal to `prompt` when nothing rewrote it). */
  processedPrompt: string;
  system: string | null;
  hasSystem: boolean;
  hasResponseSchema: boolean;
  output: string | null;
  finishReason: string | null;
  error: { code: string; message: string } | null;
  attempts: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
  taskId: number | null;
  tags: string[];
  /** The batch (spawn_parallel_agents) this agent ran in. */
  batchId: string | null;
  /** The grader specs the caller asked for (the defaults when none). */
  graderSpecs: Array<{ type: string } & Record<string, unknown>>;
  graderResults: Array<{ type: string; pass: boolean | null; score: number | null; reason: string; required: boolean; status: string }>;
  /** What the pre-checks did to this call. */
  guardrails: AppliedGuardrail[];
  at: number;
}

/** One guardrail a pre-check applied to a call, with why. */
export interface AppliedGuardrail {
  id: string;
  kind: 'log' | 'rewrite' | 'reask' | 'route' | 'block';
  reason: string;
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

export interface RateLimitEvent {
  provider: string;
  model: string;
  /** The wait the provider named. */
  delayMs: number;
  /** Epoch ms until which calls to this model wait. */
  until: number;
  /** The model's concurrency limit after this answer. */
  concurrency: number;
  at: number;
}

export interface SpendBookedEvent {
  provider: string;
  model: string;
  costUsd: number;
  /** What the reservation held for this call; null for calls booked without one. */
  reservedUsd: number | null;
  status: 'ok' | 'error' | 'cancelled';
  trialId: string | null;
  taskId: number | null;
  at: number;
}

export interface CostOverrunEvent {
  provider: string;
  model: string;
  reservedUsd: number;
  costUsd: number;
  /** costUsd / reservedUsd. */
  ratio: number;
  trialId: string | null;
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

export interface FailureRecordedEvent {
  trialId: string;
  patternId: string;
  /** True when this failure started a pattern never seen before. */
  isNewPattern: boolean;
  failureClass: string;
  provider: string;
  model: string;
  /** Failures recorded in this pattern so far, this one included. */
  patternCount: number;
  at: number;
}

export interface RiskAssessedEvent {
  provider: string;
  model: string;
  riskScore: number;
  threshold: number;
  isHighRisk: boolean;
  modelVersion: string;
  promptPreview: string;
  at: number;
}

/** A typed, fail-safe event bus; see OrchestratorEvents. */
export class EventBus {
  private readonly listeners = new Map<EventName, Set<Listener<EventName>>>();
  private failures = 0;

  constructor(private readonly logger?: Logger) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends EventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<EventName>);
    return () => this.off(name, listener);
  }

  off<K extends EventName>(name: K, listener: Listener<K>): void {
    this.listeners.get(name)?.delete(listener as Listener<EventName>);
  }

  /** Calls every listener of `name`; never throws, never waits. Returns whether any listened. */
  emit<K extends EventName>(name: K, event: OrchestratorEvents[K]): boolean {
    const set = this.listeners.get(name);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        const returned = listener(event);
        if (returned instanceof Promise || (typeof returned === 'object' && returned !== null && typeof (returned as Promise<void>).then === 'function')) {
          (returned as Promise<void>).then(undefined, (err: unknown) => this.failed(name, err));
        }
      } catch (err) {
        this.failed(name, err);
      }
    }
    return true;
  }

  listenerCount(name: EventName): number {
    return this.listeners.get(name)?.size ?? 0;
  }

  /** Listener throws and rejections since start (a status view shows it). */
  listenerFailures(): number {
    return this.failures;
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  private failed(name: EventName, err: unknown): void {
    this.failures += 1;
    const message = err instanceof Error ? err.message : String(err);
    this.logger?.error(`a listener of ${name} failed: ${message}`);
  }
}
