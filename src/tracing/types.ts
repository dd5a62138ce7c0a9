import type { Clock } from '../clock.js';
import type { TracingConfig } from '../configSlices.js';
import type { Logger } from '../logger.js';

/**
 * Tracing seam for the agent pipeline: one trace per spawn, one generation per provider call,
 * grader results as scores. Every method returns at once and never throws; exporting happens in
 * the background and failures only reach the logger.
 */
export interface SpawnTracer {
  /** False for the no-op tracer (Langfuse not configured): callers may skip building trace data. */
  readonly enabled: boolean;
  startSpawn(info: SpawnInfo): SpawnTrace;
  /** Flushes what is buffered; resolves within the configured bound (default 2.5 s) even when the endpoint is down. Idempotent. */
  shutdown(): Promise<void>;
}

export interface SpawnInfo {
  trialId: string;
  name: string;
  prompt: string;
  system?: string;
  tags: string[];
  taskId?: number | null;
  parentRunId?: string | null;
}

export interface GenerationInfo {
  provider: string;
  model: string;
  input: string;
  output?: string | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Epoch milliseconds. */
  startedAt: number;
  /** Epoch milliseconds. */
  endedAt: number;
  error?: string | null;
  attempt?: number;
  modelReason?: string;
}

export interface SpawnEndInfo {
  /** Trial status, e.g. 'passed' | 'failed' | 'errored' | 'completed'. 'errored' marks the trace as an error. */
  status: string;
  output?: string | null;
  costUsd: number;
  latencyMs: number;
}

export interface SpawnTrace {
  /** The Langfuse/OpenTelemetry trace id (32 hex chars), or '' for the no-op tracer. */
  readonly traceId: string;
  generation(info: GenerationInfo): void;
  /** A grader result, recorded as a Langfuse score on the trace. */
  score(name: string, value: number, comment?: string): void;
  /** Ends the trace. Later calls are ignored. */
  end(info: SpawnEndInfo): void;
}

export interface SpawnTracerDeps {
  config: TracingConfig;
  logger: Logger;
  clock?: Clock;
  /** Per-request timeout of an export or score call. Default 2000 ms. */
  exportTimeoutMs?: number;
  /** Upper bound on shutdown(). Default 2500 ms. */
  shutdownTimeoutMs?: number;
  /** Batch flush interval. Default 1000 ms. */
  flushIntervalMs?: number;
}

const NOOP_TRACE: SpawnTrace = {
  traceId: '',
  generation: () => {},
  score: () => {},
  end: () => {},
};

/** A tracer that records nothing (Langfuse not configured). */
export const noopSpawnTracer: SpawnTracer = {
  enabled: false,
  startSpawn: () => NOOP_TRACE,
  shutdown: () => Promise.resolve(),
};
