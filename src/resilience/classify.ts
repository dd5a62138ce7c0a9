import { AppError, CancelledError, ProviderError, TimeoutError } from '../errors.js';

/**
 * How the self-healing layer treats one failed attempt.
 * - `retry`: another attempt can succeed (408, 429, 500, 502, 503, 504, network, timeout).
 * - `countsAsFailure`: the failure says the (provider, model) is unhealthy, so the breaker counts it.
 * - `dailyQuota`: a 429 whose quota is per day; retrying today is pointless, the breaker opens
 *   until the quota resets.
 */
export interface FailureClass {
  retry: boolean;
  countsAsFailure: boolean;
  cancelled: boolean;
  dailyQuota: { id: string } | undefined;
}

const NEUTRAL: FailureClass = { retry: false, countsAsFailure: false, cancelled: false, dailyQuota: undefined };

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof CancelledError) return { ...NEUTRAL, cancelled: true };
  if (err instanceof ProviderError) {
    if (err.kind === 'aborted') return { ...NEUTRAL, cancelled: true };
    if (err.status === 429 && err.quota?.perDay === true) {
      return { retry: false, countsAsFailure: true, cancelled: false, dailyQuota: { id: err.quota.id } };
    }
    if (err.retryable) return { retry: true, countsAsFailure: true, cancelled: false, dailyQuota: undefined };
    // A malformed body is a provider-side defect (broken proxy, truncated stream): not in the
    // retryable list, so it is not retried, but it does say the endpoint is unhealthy.
    if (err.kind === 'malformed') return { retry: false, countsAsFailure: true, cancelled: false, dailyQuota: undefined };
    // Client errors (400/401/403/404/413/422…) and schema rejections: our request was at fault,
    // the provider answered, so neither a retry nor a breaker failure.
    return NEUTRAL;
  }
  if (err instanceof TimeoutError) {
    // A caller's short deadline on a healthy but slow model must not open the breaker for everyone.
    return err.callerLimit
      ? { retry: false, countsAsFailure: false, cancelled: false, dailyQuota: undefined }
      : { retry: true, countsAsFailure: true, cancelled: false, dailyQuota: undefined };
  }
  // Our own policy errors (budget, invalid input…) raised inside an attempt: not provider health.
  if (err instanceof AppError) return NEUTRAL;
  // A raw error (TypeError, bug, unknown library failure): a failure, never retried.
  return { retry: false, countsAsFailure: true, cancelled: false, dailyQuota: undefined };
}
