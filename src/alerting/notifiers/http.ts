import type { DeliveryOutcome } from './types.js';

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

/**
 * One POST with a hard timeout; redirects are not followed (a 3xx is a failed attempt). What
 * failed is described without the URL (a Slack URL is a credential).
 */
export async function postJson(
  fetchFn: FetchFn,
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'task-orchestrator-alerts', ...headers },
      redirect: 'manual',
      signal: AbortSignal.any([signal, timeout]),
    });
  } catch (err) {
    if (signal.aborted) return { kind: 'aborted' };
    if (timeout.aborted) return { kind: 'retry', error: `no answer within ${timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { kind: 'retry', error: `network error${cause ? ` (${cause})` : ''}` };
  }
  // Read nothing of the answer: free the connection.
  await response.body?.cancel().catch(() => {});
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 410) return { kind: 'gone', status, error: 'HTTP 410 Gone: the endpoint is disabled' };
  if (status >= 300 && status < 400) return { kind: 'retry', status, error: `HTTP ${status}: redirects are not followed` };
  const retryAfter = Number(response.headers.get('retry-after'));
  return { kind: 'retry', status, error: `HTTP ${status}`, ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterMs: retryAfter * 1000 }) };
}
