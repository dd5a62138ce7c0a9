import { createHash } from 'node:crypto';
import { maskVariables } from './text/mask.js';

/** What a failed or errored call looked like, from a trial event or a stored trial row. */
export interface FailureFacts {
  status: 'failed' | 'errored';
  operation: string;
  prompt: string;
  finishReason: string | null;
  errorCode: string | null;
  graderResults: ReadonlyArray<{ type: string; pass: boolean | null; required: boolean }>;
}

export interface FailureIdentity {
  /** "grader:json_valid", "finish:length", "error:timeout", ... */
  failureClass: string;
  /** The grader that failed (the first required one), if a grader decided it. */
  grader: string | null;
  errorCode: string | null;
  maskedPrompt: string;
  /** Hash of class + grader/error code + masked prompt: equal for the same failure with other values. */
  fingerprint: string;
}

export function identifyFailure(f: FailureFacts): FailureIdentity {
  const failedGrader = f.graderResults.find((g) => g.required && g.pass === false) ?? f.graderResults.find((g) => g.pass === false);
  const grader = failedGrader?.type ?? null;
  let failureClass: string;
  if (f.status === 'errored') failureClass = `error:${f.errorCode ?? 'unknown'}`;
  else if (f.finishReason === 'length' || f.finishReason === 'safety') failureClass = `finish:${f.finishReason}`;
  else failureClass = grader ? `grader:${grader}` : 'grader:unknown';
  const maskedPrompt = maskVariables(f.prompt).toLowerCase();
  const key = [f.operation, failureClass, grader ?? f.errorCode ?? '', maskedPrompt].join('\u0000');
  const fingerprint = createHash('sha256').update(key).digest('base64url').slice(0, 16);
  return { failureClass, grader, errorCode: f.errorCode, maskedPrompt, fingerprint };
}

/** Severity from how often and how recently a pattern recurs. */
export function severityOf(count: number, failureClass: string): 'low' | 'medium' | 'high' {
  if (count >= 5 || (failureClass.startsWith('error:') && count >= 3)) return 'high';
  if (count >= 2) return 'medium';
  return 'low';
}

/** Errors that say nothing about the prompt: not learned from (our own refusals, spent budgets, bad input). */
export const UNLEARNABLE_ERRORS: ReadonlySet<string> = new Set(['blocked', 'budget_exceeded', 'invalid_input', 'not_configured', 'cancelled']);
