import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * Domain errors carry a stable `code` the calling model can branch on and a `retryable` flag.
 * One function (`toToolErrorResult`) turns any error into an MCP tool result, so no tool ever
 * answers with a stack trace.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'not_configured'
  | 'budget_exceeded'
  | 'provider_error'
  | 'circuit_open'
  | 'quota_exhausted'
  | 'timeout'
  | 'cancelled'
  | 'blocked'
  /** The data directory or database cannot be used (the message names path, cause and fix). */
  | 'storage_unavailable'
  | 'internal';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** Extra machine-readable facts for structuredContent (never secrets). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }
}

export class InvalidInputError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid_input', message, { details });
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super('not_found', message);
  }
}

export class NotConfiguredError extends AppError {
  constructor(message: string) {
    super('not_configured', message);
  }
}

export class BudgetExceededError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('budget_exceeded', message, { details });
  }
}

export class CancelledError extends AppError {
  constructor(message = 'The call was cancelled.') {
    super('cancelled', message);
  }
}

/** A pre-check (e.g. the immune system) refused the call before anything was reserved or sent. */
export class BlockedError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('blocked', message, { details });
  }
}

export class TimeoutError extends AppError {
  /**
   * True when the caller's own time limit stopped the call (timeout_ms): not a sign of an
   * unhealthy provider, so it neither counts toward the breaker nor is retried.
   */
  readonly callerLimit: boolean;

  constructor(message: string, opts: { callerLimit?: boolean } = {}) {
    super('timeout', message, { retryable: !opts.callerLimit });
    this.callerLimit = opts.callerLimit ?? false;
  }
}

export type ProviderErrorKind = 'http' | 'network' | 'timeout' | 'malformed' | 'aborted' | 'schema';

export interface QuotaInfo {
  /** Quota id as the provider names it, e.g. "GenerateRequestsPerDayPerProjectPerModel-FreeTier". */
  id: string;
  perDay: boolean;
}

/** An error from a model provider, normalised so the resilience layer can classify it. */
export class ProviderError extends AppError {
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  /** The provider's own requested delay (Retry-After header or google.rpc.RetryInfo). */
  readonly retryAfterMs: number | undefined;
  readonly quota: QuotaInfo | undefined;
  readonly provider: string;
  readonly model: string;
  /** Tokens the provider billed for this failed request (an answer it charged for but we could not use). */
  readonly billedUsage: { inputTokens: number; outputTokens: number } | undefined;

  constructor(opts: {
    provider: string;
    model: string;
    kind: ProviderErrorKind;
    message: string;
    status?: number;
    retryAfterMs?: number;
    quota?: QuotaInfo;
    billedUsage?: { inputTokens: number; outputTokens: number };
    cause?: unknown;
  }) {
    super('provider_error', opts.message, {
      retryable: isRetryableProviderFailure(opts.kind, opts.status),
      cause: opts.cause,
      details: { provider: opts.provider, model: opts.model, status: opts.status, kind: opts.kind },
    });
    this.kind = opts.kind;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.quota = opts.quota;
    this.provider = opts.provider;
    this.model = opts.model;
    this.billedUsage = opts.billedUsage;
  }
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Only what can succeed on a second try: 408, 429, 5xx gateway/overload, network and timeouts. */
export function isRetryableProviderFailure(kind: ProviderErrorKind, status: number | undefined): boolean {
  if (kind === 'network' || kind === 'timeout') return true;
  if (kind === 'http' && status !== undefined) return RETRYABLE_STATUS.has(status);
  return false;
}

/** Patterns of secrets we must never echo: API keys, bearer tokens, JWTs, key query params. */
const SECRET_PATTERNS: RegExp[] = [
  /AIza[0-9A-Za-z_-]{20,}/g,
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  /\b(pk|sk)-lf-[A-Za-z0-9-]{8,}/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  /(Bearer\s+)[A-Za-z0-9._~+/-]+=*/gi,
  /([?&](?:key|api_key|apikey|access_token)=)[^&\s"']+/gi,
  /((?:x-goog-api-key|authorization|api[-_]?key)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
];

/** Extra literal secrets (configured keys) registered at start-up; redacted wherever they appear. */
export function redactSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of knownSecrets) {
    if (secret.length >= 6) out = out.split(secret).join('[REDACTED]');
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix: unknown) =>
      typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}[REDACTED]` : '[REDACTED]',
    );
  }
  return out;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The one place any failure becomes a tool result the calling model can read and act on. */
export function toToolErrorResult(err: unknown, knownSecrets: readonly string[] = []): CallToolResult {
  const appError = err instanceof AppError ? err : undefined;
  const code: ErrorCode = appError?.code ?? 'internal';
  const message = redactSecrets(
    appError ? appError.message : `Internal error: ${errorMessage(err)}`,
    knownSecrets,
  );
  // The facts a model or client acts on (retry in, resets at, …) travel with the text, redacted alike.
  const details = appError?.details ? (redactValue(appError.details, knownSecrets) as Record<string, unknown>) : undefined;
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}` }],
    structuredContent: { error: { code, message, retryable: appError?.retryable ?? false, ...(details && { details }) } },
  };
}

function redactValue(value: unknown, knownSecrets: readonly string[]): unknown {
  if (typeof value === 'string') return redactSecrets(value, knownSecrets);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, knownSecrets));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, redactValue(v, knownSecrets)]));
}
