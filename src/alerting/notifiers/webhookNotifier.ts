import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { postJson, type FetchFn } from './http.js';
import { webhookBody } from './payload.js';
import { signWebhook } from './standardWebhooks.js';
import type { AlertMessage, DeliveryOutcome, Notifier } from './types.js';

export function receiverKey(channel: string, url: string): string {
  return `${channel}:${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

/** Standard Webhooks POST: webhook-id (the notification id), webhook-timestamp, webhook-signature. */
export class WebhookNotifier implements Notifier {
  readonly channel = 'webhook' as const;
  readonly receiver: string;
  readonly minIntervalMs = 0;

  constructor(
    private readonly opts: { url: string; secret: string; timeoutMs: number; clock: Clock; fetch: FetchFn },
  ) {
    this.receiver = receiverKey('webhook', opts.url);
  }

  deliver(message: AlertMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    const body = webhookBody(message);
    const timestamp = Math.floor(this.opts.clock.now() / 1000);
    const headers = {
      'webhook-id': message.notificationId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(this.opts.secret, message.notificationId, timestamp, body),
    };
    return postJson(this.opts.fetch, this.opts.url, body, headers, this.opts.timeoutMs, signal);
  }
}
