import type { AlertRow } from '../alertStore.js';

/** One notification: a group's alerts (head first), as the outbox hands it to a notifier. */
export interface AlertMessage {
  /** Stable across retries and processes: receivers de-duplicate by it (webhook-id). */
  notificationId: string;
  createdMs: number;
  alerts: AlertRow[];
}

export type DeliveryOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; error: string; status?: number; retryAfterMs?: number }
  /** 410 Gone: the endpoint asked never to be called again. */
  | { kind: 'gone'; error: string; status: number }
  /** Stopped by our own shutdown; not the receiver's fault. */
  | { kind: 'aborted' };

/** A receiver reached over the network, fed from the outbox with retries. */
export interface Notifier {
  /** Outbox key: channel plus a hash of the URL (a new URL is a new receiver). */
  readonly receiver: string;
  readonly channel: 'webhook' | 'slack';
  /** At most one message per this long (Slack: ~1/s). */
  readonly minIntervalMs: number;
  deliver(message: AlertMessage, signal: AbortSignal): Promise<DeliveryOutcome>;
}
