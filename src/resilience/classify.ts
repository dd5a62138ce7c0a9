import { AppError, CancelledError, ProviderError, TimeoutError } from '../errors.js';

/**
 * How the self-healing layer treats one failed attempt.
 * - `retry`: another attempt can succeed (408, 429, 500, 502, 503, 504, network, timeout).
 * - `countsAsFailure`: the failure says the (provider, model) is unhealthy, so the breaker counts it.
 * - `dailyQuota`: a 429 whose quota is per day; retrying today is pointless, the breaker opens
 *   until the quota resets.
 * - `rateLimit`: the provider said "slower" (any other 429, or a 503 naming a delay): back-pressure,
 *   not ill health. The call waits behind the model's gate and retries; the breaker never hears of it.
 */
export interface FailureClass {
  retry: boolean;
  countsAsFailure: boolean;
  cancelled: boolean;
  dailyQuota: { id: string } | undefined;
  rateLimit: boolean;
}

const NEUTRAL: FailureClass = { retry: false, countsAsFailure: false, cancelled: false, dailyQuota: undefined, rateLimit: false };
const FAILURE: FailureClass = { ...NEUTRAL, countsAsFailure: true };

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof CancelledError) return { ...NEUTRAL, cancelled: true };
  if (err instanceof ProviderError) {
    if (err.kind === 'aborted') return { ...NEUTRAL, cancelled: true };
    if (err.status === 429 && err.quota?.perDay === true) {
      return { ...FAILURE, dailyQuota: { id: err.quota.id } };
    }
    const namesDelay = err.retryAfterMs !== undefined && Number.isFinite(err.retryAfterMs);
    if (err.status === 429 || (err.status === 503 && namesDelay)) return { ...NEUTRAL, retry: true, rateLimit: true };
    if (err.retryable) return { ...FAILURE, retry: true };
    // A malformed body is a provider-side defect (broken proxy, truncated stream): not in the
    // retryable list, so it is not retried, but it does say the endpoint is unhealthy.
    if (err.kind === 'malformed') return FAILURE;
    // Client errors (400/401/403/404/413/422…) and schema rejections: our request was at fault,
    // the provider answered, so neither a retry nor a breaker failure.
    return NEUTRAL;
  }
  if (err instanceof TimeoutError) {
    // A caller's short deadline on a healthy but slow model must not open the breaker for everyone.
    return err.callerLimit ? NEUTRAL : { ...FAILURE, retry: true };
  }
  // Our own policy errors (budget, invalid input…) raised inside an attempt: not provider health.
  if (err instanceof AppError) return NEUTRAL;
  // A raw error (TypeError, bug, unknown library failure): a failure, never retried.
  return FAILURE;
}
