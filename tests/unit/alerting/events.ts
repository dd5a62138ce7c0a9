import type { OrchestratorEvents, TrialFinishedEvent } from '../../../src/events.js';

/** Event builders for the alerting tests. */
export function trial(status: TrialFinishedEvent['status'], over: Partial<TrialFinishedEvent> = {}): TrialFinishedEvent {
  return {
    trialId: `t${Math.random().toString(36).slice(2)}`,
    status,
    operation: 'agent',
    provider: 'google_gemini',
    model: 'gemini-2.5-flash',
    modelReason: 'test',
    escalated: false,
    prompt: 'p',
    processedPrompt: 'p',
    system: null,
    hasSystem: false,
    hasResponseSchema: false,
    output: null,
    finishReason: null,
    error: status === 'errored' ? { code: 'provider_error', message: 'HTTP 500' } : null,
    attempts: 1,
    inputTokens: 1,
    outputTokens: 1,
    costUsd: 0,
    latencyMs: 1,
    taskId: null,
    tags: [],
    batchId: null,
    graderSpecs: [],
    graderResults: [],
    guardrails: [],
    at: 0,
    ...over,
  };
}

export const breakerOpened = (model = 'gemini-2.5-flash'): OrchestratorEvents['breaker.opened'] => ({ provider: 'google_gemini', model, at: 0, retryAt: 30_000, reason: 'HTTP 503' });

export const risk = (riskScore: number, threshold = 0.7): OrchestratorEvents['risk.assessed'] => ({
  provider: 'google_gemini',
  model: 'gemini-2.5-flash',
  riskScore,
  threshold,
  isHighRisk: riskScore >= threshold,
  modelVersion: 'v1',
  promptPreview: 'secret prompt text',
  at: 0,
});

export const failureRecorded = (patternId: string, isNewPattern: boolean, model = 'gemini-2.5-flash'): OrchestratorEvents['failure.recorded'] => ({
  trialId: 't',
  patternId,
  isNewPattern,
  failureClass: 'grader:json_valid',
  provider: 'google_gemini',
  model,
  patternCount: 1,
  at: 0,
});

export const budget = (thresholdPercent: number): OrchestratorEvents['budget.threshold'] => ({
  provider: 'google_gemini',
  model: null,
  period: 'daily',
  thresholdPercent,
  spentUsd: thresholdPercent / 10,
  limitUsd: 10,
  at: 0,
});
