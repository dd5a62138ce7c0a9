import { AppError, ProviderError, errorMessage } from '../errors.js';
import { iso } from './status.js';
import { formatDuration } from './timing.js';

/**
 * The errors a calling model reads when the resilience layer stops a call: each says what
 * happened, to which model, and what to do (when to retry, or use another model). Error texts
 * pass through `redact` (no key ever reaches them).
 */

export interface CallTarget {
  provider: string;
  model: string;
}

type Redact = (text: string) => string;

export const targetName = (t: CallTarget): string => `${t.provider}/${t.model}`;

const lastErrorText = (last: Error, redact: Redact): string => redact(errorMessage(last)).slice(0, 300);

/** A failed attempt's text for status views: with its HTTP status when the message lacks it. */
export function failureText(err: Error, redact: Redact): string {
  const status = err instanceof ProviderError && err.status !== undefined && !errorMessage(err).includes(`HTTP ${err.status}`) ? `HTTP ${err.status}: ` : '';
  return redact(`${status}${errorMessage(err)}`).slice(0, 500);
}

export function halfOpenBusyError(target: CallTarget, attempts: number): AppError {
  return new AppError(
    'circuit_open',
    `Circuit breaker for ${targetName(target)} is half-open and its one test call is in flight; retry in a few seconds or use another model.`,
    { retryable: true, details: { ...target, state: 'half_open', attempts } },
  );
}

export function circuitOpenError(target: CallTarget, attempts: number, now: number, retryAt: number, reason: string | null): AppError {
  const seconds = Math.max(0, Math.ceil((retryAt - now) / 1000));
  return new AppError(
    'circuit_open',
    `Circuit breaker for ${targetName(target)} is open (${reason ?? 'too many failures'}); it will let a test call through at ` +
      `${iso(retryAt)} (in ${seconds} s). Use another model or retry after that.`,
    { retryable: true, details: { ...target, state: 'open', retryAt: iso(retryAt), retryInSeconds: seconds, attempts } },
  );
}

export function quotaExhaustedError(
  target: CallTarget,
  attempts: number,
  now: number,
  quota: { id: string; resetAt: number },
  cause: Error | undefined,
): AppError {
  return new AppError(
    'quota_exhausted',
    `The daily quota ${quota.id} for ${targetName(target)} is used up; it resets at ${iso(quota.resetAt)} ` +
      `(midnight America/Los_Angeles, in ${formatDuration(quota.resetAt - now)}). Use another model until then.`,
    {
      retryable: false,
      cause,
      details: {
        ...target,
        quotaId: quota.id,
        resetsAt: iso(quota.resetAt),
        resetInSeconds: Math.max(0, Math.ceil((quota.resetAt - now) / 1000)),
        attempts,
      },
    },
  );
}

export function waitTooLongError(target: CallTarget, attempts: number, delayMs: number, capMs: number, last: Error, redact: Redact): AppError {
  const code = last instanceof AppError ? last.code : 'provider_error';
  return new AppError(
    code,
    `${targetName(target)} asked to wait ${formatDuration(delayMs)} before a retry, longer than the ${formatDuration(capMs)} ` +
      `this server waits; gave up after ${attempts} attempt(s). Last error: ${lastErrorText(last, redact)}`,
    { retryable: true, cause: last, details: { ...target, attempts, retryAfterMs: delayMs } },
  );
}

export function rateLimitedTooLongError(target: CallTarget, attempts: number, waitedMs: number, capMs: number, last: Error, redact: Redact): AppError {
  const code = last instanceof AppError ? last.code : 'provider_error';
  return new AppError(
    code,
    `${targetName(target)} kept answering "too many requests": this call waited ${formatDuration(waitedMs)} in all ` +
      `(at most ${formatDuration(capMs)}) over ${attempts} attempt(s) and gave up. Retry later, lower max_concurrency, or use another model. ` +
      `Last error: ${lastErrorText(last, redact)}`,
    { retryable: true, cause: last, details: { ...target, attempts, waitedMs } },
  );
}

export function deadlineError(
  target: CallTarget,
  attempts: number,
  delayMs: number,
  deadline: number,
  last: Error | undefined,
  redact: Redact,
): AppError {
  const lastText = last ? ` Last error: ${lastErrorText(last, redact)}` : '';
  const why =
    attempts === 0 && delayMs > 0
      ? `the model is rate-limited for ${formatDuration(delayMs)}, past the call's deadline ${iso(deadline)}`
      : attempts === 0
        ? `the call's deadline ${iso(deadline)} has already passed`
        : delayMs > 0
          ? `waiting ${formatDuration(delayMs)} for the next retry would pass the call's deadline ${iso(deadline)}`
          : `the call's deadline ${iso(deadline)} has passed`;
  return new AppError('timeout', `Gave up on ${targetName(target)} after ${attempts} attempt(s): ${why}.${lastText}`, {
    retryable: true,
    cause: last,
    details: { ...target, attempts, deadline: iso(deadline), nextDelayMs: delayMs },
  });
}

export function slotDeadlineError(target: CallTarget, attempts: number, deadline: number, limit: number | null, last: Error | undefined, redact: Redact): AppError {
  const lastText = last ? ` Last error: ${lastErrorText(last, redact)}` : '';
  return new AppError(
    'timeout',
    `Gave up on ${targetName(target)} after ${attempts} attempt(s): the call's deadline ${iso(deadline)} passed while it waited for one of ` +
      `the ${limit ?? 'available'} slot(s) this rate-limited model allows at once.${lastText}`,
    { retryable: true, cause: last, details: { ...target, attempts, deadline: iso(deadline), concurrencyLimit: limit } },
  );
}

export function exhaustedError(target: CallTarget, attempts: number, last: Error, redact: Redact): AppError {
  const code = last instanceof AppError ? last.code : 'provider_error';
  const status = last instanceof ProviderError ? last.status : undefined;
  return new AppError(
    code,
    `${targetName(target)} failed ${attempts} time(s) (1 attempt + ${attempts - 1} retries); last error: ` +
      `${lastErrorText(last, redact)}. Try again later or use another model.`,
    { retryable: true, cause: last, details: { ...target, attempts, status } },
  );
}

export const SHUT_DOWN = 'The self-healing layer is shut down; the call was not made.';
