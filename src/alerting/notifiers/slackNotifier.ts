import { postJson, type FetchFn } from './http.js';
import { slackBody } from './payload.js';
import type { AlertMessage, DeliveryOutcome, Notifier } from './types.js';
import { receiverKey } from './webhookNotifier.js';

/** Slack incoming webhook: Block Kit with a text fallback, at most one message a second. */
export class SlackNotifier implements Notifier {
  readonly channel = 'slack' as const;
  readonly receiver: string;
  readonly minIntervalMs = 1_000;

  constructor(private readonly opts: { url: string; timeoutMs: number; fetch: FetchFn }) {
    this.receiver = receiverKey('slack', opts.url);
  }

  deliver(message: AlertMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    return postJson(this.opts.fetch, this.opts.url, slackBody(message), {}, this.opts.timeoutMs, signal);
  }
}
