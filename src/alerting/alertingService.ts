import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { NotConfiguredError, NotFoundError, errorMessage } from '../errors.js';
import type { EventBus, EventName } from '../events.js';
import type { Logger } from '../logger.js';
import { AlertManager } from './alertManager.js';
import { AlertStore, type AlertFilter, type AlertRow, type ReceiverStatusRow } from './alertStore.js';
import type { AlertingConfig, Severity } from './config.js';
import { DeliveryWorker } from './deliveryWorker.js';
import { ConsoleNotifier } from './notifiers/consoleNotifier.js';
import type { FetchFn } from './notifiers/http.js';
import { SlackNotifier } from './notifiers/slackNotifier.js';
import type { Notifier } from './notifiers/types.js';
import { WebhookNotifier } from './notifiers/webhookNotifier.js';
import { createRules } from './rules/index.js';
import type { AlertRule, RuleInput } from './types.js';

export interface AlertingDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  config: AlertingConfig;
  /** Literal secrets to scrub from alert text and delivery errors. */
  secrets: readonly string[];
  /** The network edge; tests and benchmarks may pass their own. */
  fetch?: FetchFn;
  pollMs?: number;
}

export type AlertChannel = 'console' | 'webhook' | 'slack';
export const ALERT_CHANNELS: readonly AlertChannel[] = ['console', 'webhook', 'slack'];

export interface ReceiverStatus extends ReceiverStatusRow {
  channel: AlertChannel;
}

export interface AlertingStatus {
  counts: { firing: number; acked: number };
  receivers: ReceiverStatus[];
  /** This process since start. */
  process: { events: number; fired: number; deduplicated: number; rule_errors: number; dropped_events: number };
}

export interface TestResult {
  channel: AlertChannel;
  outcome: 'logged' | 'delivered' | 'failed' | 'queued' | 'disabled';
  http_status: number | null;
  error: string | null;
}

const MAX_QUEUED_EVENTS = 10_000;

/** How often the history is pruned while the server runs (also once at start). */
const PRUNE_INTERVAL_MS = 6 * 3_600_000;

/**
 * Alerting: rules over the event bus → alert manager (dedupe, cool-down, grouping, history) →
 * console at once, and the outbox for webhook and Slack. The bus listener only queues the event;
 * rules and SQLite run on the next turn of the event loop and delivery in the worker, so nothing
 * here can slow or fail an agent call.
 */
export class AlertingService {
  readonly store: AlertStore;
  private readonly manager: AlertManager;
  private readonly worker: DeliveryWorker;
  private readonly rules: AlertRule[];
  private readonly notifiers: Notifier[];
  private readonly console: ConsoleNotifier;
  private queue: RuleInput[] = [];
  private draining: NodeJS.Immediate | undefined;
  private closed = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly counters = { events: 0, fired: 0, deduplicated: 0, rule_errors: 0, dropped_events: 0 };

  constructor(private readonly deps: AlertingDeps) {
    const { config, clock, logger } = deps;
    const fetchFn: FetchFn = deps.fetch ?? ((url, init) => fetch(url, init));
    this.store = new AlertStore(deps.db);
    this.manager = new AlertManager(this.store, deps.secrets);
    this.rules = createRules(config.rules);
    this.console = new ConsoleNotifier(logger);
    this.notifiers = [];
    const timeoutMs = config.delivery.timeoutMs;
    if (config.webhook) this.notifiers.push(new WebhookNotifier({ ...config.webhook, timeoutMs, clock, fetch: fetchFn }));
    if (config.slack) this.notifiers.push(new SlackNotifier({ url: config.slack.url, timeoutMs, fetch: fetchFn }));
    this.worker = new DeliveryWorker({
      store: this.store,
      notifiers: this.notifiers,
      clock,
      logger,
      owner: randomUUID(),
      timeoutMs,
      retryBaseMs: config.delivery.retryBaseMs,
      maxAttempts: config.delivery.maxAttempts,
      secrets: deps.secrets,
      ...(deps.pollMs !== undefined && { pollMs: deps.pollMs }),
    });
  }

  /** Listens to every event a rule reads; returns the function that stops listening. */
  subscribe(events: EventBus): () => void {
    const names = new Set<EventName>(this.rules.flatMap((r) => r.events));
    const offs = [...names].map((name) => events.on(name, (event) => this.enqueue({ name, event } as RuleInput)));
    return () => offs.forEach((off) => off());
  }

  /** Deletes alerts last seen more than retentionDays ago (at start, then every PRUNE_INTERVAL_MS); returns how many. */
  pruneHistory(): number {
    return this.store.prune(this.deps.clock.now() - this.deps.config.retentionDays * 86_400_000);
  }

  /** Starts delivering: what an earlier process left in the outbox goes out now. */
  start(): void {
    this.worker.start();
    this.pruneQuietly();
    this.pruneTimer ??= setInterval(() => this.pruneQuietly(), PRUNE_INTERVAL_MS).unref();
  }

  /** A prune that fails (a locked database) is logged and tried again at the next interval. */
  private pruneQuietly(): void {
    try {
      const pruned = this.pruneHistory();
      if (pruned > 0) this.deps.logger.info(`pruned ${pruned} alert(s) last seen over ${this.deps.config.retentionDays} days ago`);
    } catch (err) {
      this.deps.logger.warn(`could not prune the alert history; trying again later: ${errorMessage(err)}`);
    }
  }

  /** Runs queued events through the rules and sends what is due; resolves when sent (tests). */
  async flush(): Promise<void> {
    this.drain();
    await this.worker.runDue();
  }

  list(filter: AlertFilter): AlertRow[] {
    return this.store.list(filter);
  }

  ack(id: string): { alert: AlertRow; alreadyAcked: boolean } {
    const result = this.store.ack(id, this.deps.clock.now());
    if (!result) throw new NotFoundError(`No alert with id ${id}. alerts_list shows the ids.`);
    return result;
  }

  status(): AlertingStatus {
    return {
      counts: this.store.counts(),
      receivers: this.notifiers.map((n) => ({ channel: n.channel, ...this.store.receiverStatus(n.receiver) })),
      process: { ...this.counters },
    };
  }

  /** Sends a test alert to one channel (or all configured) now, and says what happened. */
  async sendTest(channel: AlertChannel | 'all'): Promise<{ alert: AlertRow; results: TestResult[] }> {
    const wanted: AlertChannel[] = channel === 'all' ? ['console', ...this.notifiers.map((n) => n.channel)] : [channel];
    const targets = wanted.filter((c) => c !== 'console').map((c) => {
      const n = this.notifiers.find((x) => x.channel === c);
      if (!n) throw new NotConfiguredError(`The ${c} channel is not configured: set ${c === 'webhook' ? 'TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL and TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET' : 'TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL'}.`);
      return n;
    });
    const id = randomUUID();
    const severity: Severity = 'info';
    const fired = this.manager.fire(
      { rule: 'alerts_test', severity, subject: `test ${id.slice(0, 8)}`, group: id, message: 'Test alert from alerts_test: if you can read this, the channel works.', details: { test: true } },
      { cooldownMs: 0, groupIntervalMs: 0 },
      targets.map((n) => n.receiver),
      this.deps.clock.now(),
    );
    if (fired.kind !== 'fired') throw new Error('a test alert cannot be a duplicate');
    const results: TestResult[] = [];
    if (wanted.includes('console')) {
      this.console.notify(fired.alert);
      results.push({ channel: 'console', outcome: 'logged', http_status: null, error: null });
    }
    await this.worker.runDue();
    for (const n of targets) {
      const row = fired.notificationId ? this.store.outboxRow(fired.notificationId, n.receiver) : undefined;
      const outcome: TestResult['outcome'] = !row
        ? 'disabled'
        : row.status === 'delivered'
          ? 'delivered'
          : row.status === 'disabled'
            ? 'disabled'
            : row.attempts === 0
              ? 'queued'
              : 'failed';
      results.push({ channel: n.channel, outcome, http_status: row?.last_status ?? null, error: row?.last_error ?? (outcome === 'disabled' ? 'the endpoint answered 410 Gone earlier; configure a new URL' : null) });
    }
    return { alert: fired.alert, results };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.pruneTimer);
    this.drain();
    this.closed = true;
    clearImmediate(this.draining);
    await this.worker.stop();
  }

  private enqueue(input: RuleInput): void {
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.queue.shift();
      this.counters.dropped_events++;
    }
    this.queue.push(input);
    this.draining ??= setImmediate(() => this.drain());
  }

  private drain(): void {
    this.draining = undefined;
    if (this.closed) return;
    const batch = this.queue;
    this.queue = [];
    let due = false;
    for (const input of batch) {
      this.counters.events++;
      const now = this.deps.clock.now();
      for (const rule of this.rules) {
        if (!rule.events.includes(input.name)) continue;
        try {
          for (const candidate of rule.evaluate(input, now)) {
            const result = this.manager.fire(candidate, rule, this.notifiers.map((n) => n.receiver), now);
            if (result.kind === 'deduplicated') {
              this.counters.deduplicated++;
              continue;
            }
            this.counters.fired++;
            this.console.notify(result.alert);
            if (result.notificationId && result.dueMs <= now) due = true;
          }
        } catch (err) {
          this.counters.rule_errors++;
          this.deps.logger.error(`alert rule ${rule.id} failed on ${input.name}: ${errorMessage(err)}`);
        }
      }
    }
    if (due) this.worker.kick();
  }
}
