import { randomUUID } from 'node:crypto';
import { atomicRunner, cachedPrepare, type Atomic, type Db, type Migration } from '../db/database.js';
import type { Severity } from './config.js';

/**
 * The alert history, its notifications and the delivery outbox, in the shared SQLite file. Every
 * decision that must hold across server processes (is this alert new? is this row mine to send?)
 * is one IMMEDIATE transaction, so two servers on one database send an alert once.
 */
export const alertingMigrations: readonly Migration[] = [
  {
    id: 'alerting/001-alerts-outbox',
    sql: `
      CREATE TABLE alert_notifications (
        id TEXT PRIMARY KEY,
        group_key TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        due_ms INTEGER NOT NULL,
        sealed INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX alert_notifications_group ON alert_notifications (group_key, due_ms);
      CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        subject TEXT NOT NULL,
        group_key TEXT NOT NULL,
        message TEXT NOT NULL,
        details TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'firing' CHECK (status IN ('firing', 'acked')),
        occurrences INTEGER NOT NULL DEFAULT 1,
        fired_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        cooldown_until_ms INTEGER NOT NULL,
        acked_ms INTEGER,
        notification_id TEXT REFERENCES alert_notifications (id)
      );
      -- One alert per fingerprint and firing time: the cool-down check and this insert share a transaction.
      CREATE UNIQUE INDEX alerts_fingerprint ON alerts (fingerprint, fired_ms);
      CREATE INDEX alerts_fired ON alerts (fired_ms);
      CREATE INDEX alerts_notification ON alerts (notification_id);
      CREATE TABLE alert_outbox (
        notification_id TEXT NOT NULL REFERENCES alert_notifications (id),
        receiver TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead', 'disabled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until_ms INTEGER,
        last_status INTEGER,
        last_error TEXT,
        delivered_ms INTEGER,
        PRIMARY KEY (notification_id, receiver)
      ) WITHOUT ROWID;
      CREATE INDEX alert_outbox_due ON alert_outbox (receiver, status, next_attempt_ms);
      CREATE TABLE alert_receivers (
        receiver TEXT PRIMARY KEY,
        delivered INTEGER NOT NULL DEFAULT 0,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        dead INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        last_error_ms INTEGER,
        last_delivered_ms INTEGER,
        disabled_ms INTEGER,
        disabled_reason TEXT
      ) WITHOUT ROWID;
    `,
  },
];

export interface AlertRow {
  id: string;
  fingerprint: string;
  rule: string;
  severity: Severity;
  subject: string;
  group_key: string;
  message: string;
  details: string;
  status: 'firing' | 'acked';
  occurrences: number;
  fired_ms: number;
  last_seen_ms: number;
  cooldown_until_ms: number;
  acked_ms: number | null;
  notification_id: string | null;
}

export interface NewAlert {
  fingerprint: string;
  rule: string;
  severity: Severity;
  subject: string;
  groupKey: string;
  message: string;
  details: string;
  cooldownMs: number;
  groupIntervalMs: number;
}

export type RecordResult =
  | { kind: 'fired'; alert: AlertRow; notificationId: string | null; dueMs: number }
  | { kind: 'deduplicated'; alertId: string; occurrences: number };

export interface ClaimedDelivery {
  notificationId: string;
  receiver: string;
  attempts: number;
  createdMs: number;
  alerts: AlertRow[];
}

export interface ReceiverStatusRow {
  receiver: string;
  delivered: number;
  failed_attempts: number;
  dead: number;
  pending: number;
  last_error: string | null;
  last_error_ms: number | null;
  last_delivered_ms: number | null;
  disabled_ms: number | null;
  disabled_reason: string | null;
}

export interface AlertFilter {
  status?: 'firing' | 'acked' | undefined;
  rule?: string | undefined;
  sinceMs?: number | undefined;
  limit: number;
}

export class AlertStore {
  private readonly sql: ReturnType<typeof cachedPrepare>;

  private readonly atomic: Atomic;

  constructor(db: Db) {
    this.sql = cachedPrepare(db);
    this.atomic = atomicRunner(db);
  }

  /**
   * New alert or repeat: within the cool-down of the same fingerprint it only counts; otherwise it
   * is stored and joins its group's notification (the pending follow-up, or a new one due now, or
   * one group interval after the group's last), with an outbox row per live receiver.
   */
  record(a: NewAlert, receivers: readonly string[], now: number): RecordResult {
    return this.atomic(() => {
      const latest = this.sql(`SELECT id, occurrences, fired_ms, cooldown_until_ms FROM alerts WHERE fingerprint = ? ORDER BY fired_ms DESC LIMIT 1`).get(a.fingerprint) as
        | { id: string; occurrences: number; fired_ms: number; cooldown_until_ms: number }
        | undefined;
      // Same millisecond counts as a repeat even with no cool-down (one alert per fingerprint and time).
      if (latest && (now < latest.cooldown_until_ms || now === latest.fired_ms)) {
        this.sql(`UPDATE alerts SET occurrences = occurrences + 1, last_seen_ms = ? WHERE id = ?`).run(now, latest.id);
        return { kind: 'deduplicated', alertId: latest.id, occurrences: latest.occurrences + 1 };
      }
      const live = receivers.filter((r) => !this.isDisabled(r));
      let notificationId: string | null = null;
      let dueMs = now;
      if (live.length > 0) {
        const open = this.sql(`SELECT id, due_ms FROM alert_notifications WHERE group_key = ? AND sealed = 0 AND due_ms > ? ORDER BY due_ms DESC LIMIT 1`).get(a.groupKey, now) as
          | { id: string; due_ms: number }
          | undefined;
        if (open) {
          notificationId = open.id;
          dueMs = open.due_ms;
        } else {
          const last = this.sql(`SELECT MAX(due_ms) AS due FROM alert_notifications WHERE group_key = ?`).get(a.groupKey) as { due: number | null };
          if (last.due !== null && last.due + a.groupIntervalMs > now) dueMs = last.due + a.groupIntervalMs;
          notificationId = `msg_${randomUUID().replaceAll('-', '')}`;
          this.sql(`INSERT INTO alert_notifications (id, group_key, created_ms, due_ms) VALUES (?, ?, ?, ?)`).run(notificationId, a.groupKey, now, dueMs);
          const enqueue = this.sql(`INSERT INTO alert_outbox (notification_id, receiver, next_attempt_ms) VALUES (?, ?, ?)`);
          for (const receiver of live) enqueue.run(notificationId, receiver, dueMs);
        }
      }
      const alert: AlertRow = {
        id: `alt_${randomUUID().replaceAll('-', '')}`,
        fingerprint: a.fingerprint,
        rule: a.rule,
        severity: a.severity,
        subject: a.subject,
        group_key: a.groupKey,
        message: a.message,
        details: a.details,
        status: 'firing',
        occurrences: 1,
        fired_ms: now,
        last_seen_ms: now,
        cooldown_until_ms: now + a.cooldownMs,
        acked_ms: null,
        notification_id: notificationId,
      };
      this.sql(
        `INSERT INTO alerts (id, fingerprint, rule, severity, subject, group_key, message, details, fired_ms, last_seen_ms, cooldown_until_ms, notification_id)
         VALUES (@id, @fingerprint, @rule, @severity, @subject, @group_key, @message, @details, @fired_ms, @last_seen_ms, @cooldown_until_ms, @notification_id)`,
      ).run(alert);
      return { kind: 'fired', alert, notificationId, dueMs };
    });
  }

  /** Takes the oldest due row of `receiver` under a lease, sealing its notification (its alerts are final). */
  claim(receiver: string, owner: string, now: number, leaseMs: number): ClaimedDelivery | undefined {
    return this.atomic(() => {
      const row = this.sql(
        `SELECT o.notification_id, o.attempts, n.created_ms FROM alert_outbox o JOIN alert_notifications n ON n.id = o.notification_id
         WHERE o.receiver = ? AND o.status = 'pending' AND o.next_attempt_ms <= ? AND n.due_ms <= ? AND (o.lease_until_ms IS NULL OR o.lease_until_ms < ?)
         ORDER BY n.due_ms LIMIT 1`,
      ).get(receiver, now, now, now) as { notification_id: string; attempts: number; created_ms: number } | undefined;
      if (!row) return undefined;
      this.sql(`UPDATE alert_outbox SET lease_owner = ?, lease_until_ms = ?, attempts = attempts + 1 WHERE notification_id = ? AND receiver = ?`).run(
        owner,
        now + leaseMs,
        row.notification_id,
        receiver,
      );
      this.sql(`UPDATE alert_notifications SET sealed = 1 WHERE id = ?`).run(row.notification_id);
      const alerts = this.sql(`SELECT * FROM alerts WHERE notification_id = ? ORDER BY fired_ms, rowid`).all(row.notification_id) as AlertRow[];
      return { notificationId: row.notification_id, receiver, attempts: row.attempts + 1, createdMs: row.created_ms, alerts };
    });
  }

  delivered(d: ClaimedDelivery, owner: string, status: number, now: number): void {
    this.atomic(() => {
      const changed = this.sql(
        `UPDATE alert_outbox SET status = 'delivered', delivered_ms = ?, last_status = ?, lease_owner = NULL, lease_until_ms = NULL
         WHERE notification_id = ? AND receiver = ? AND lease_owner = ? AND status = 'pending'`,
      ).run(now, status, d.notificationId, d.receiver, owner).changes;
      if (changed > 0) this.bumpReceiver(d.receiver, { delivered: 1, lastDeliveredMs: now });
    });
  }

  /** A failed attempt: retried at `nextMs`, or dead when out of attempts. */
  failed(d: ClaimedDelivery, owner: string, error: string, status: number | null, nextMs: number | null, now: number): void {
    this.atomic(() => {
      const dead = nextMs === null;
      const changed = this.sql(
        `UPDATE alert_outbox SET status = ?, next_attempt_ms = COALESCE(?, next_attempt_ms), last_status = ?, last_error = ?, lease_owner = NULL, lease_until_ms = NULL
         WHERE notification_id = ? AND receiver = ? AND lease_owner = ? AND status = 'pending'`,
      ).run(dead ? 'dead' : 'pending', nextMs, status, error, d.notificationId, d.receiver, owner).changes;
      if (changed > 0) this.bumpReceiver(d.receiver, { failed: 1, dead: dead ? 1 : 0, lastError: error, lastErrorMs: now });
    });
  }

  /** The attempt was stopped by our own shutdown: give the row back untouched. */
  release(d: ClaimedDelivery, owner: string): void {
    this.sql(
      `UPDATE alert_outbox SET lease_owner = NULL, lease_until_ms = NULL, attempts = MAX(0, attempts - 1) WHERE notification_id = ? AND receiver = ? AND lease_owner = ? AND status = 'pending'`,
    ).run(d.notificationId, d.receiver, owner);
  }

  /** The receiver answered 410 Gone: stop sending to it, and drop what was queued for it. */
  disable(receiver: string, reason: string, now: number): void {
    this.atomic(() => {
      this.bumpReceiver(receiver, { lastError: reason, lastErrorMs: now });
      this.sql(`UPDATE alert_receivers SET disabled_ms = ?, disabled_reason = ? WHERE receiver = ?`).run(now, reason, receiver);
      this.sql(`UPDATE alert_outbox SET status = 'disabled', lease_owner = NULL, lease_until_ms = NULL WHERE receiver = ? AND status = 'pending'`).run(receiver);
    });
  }

  outboxRow(notificationId: string, receiver: string): { status: string; attempts: number; last_status: number | null; last_error: string | null } | undefined {
    return this.sql(`SELECT status, attempts, last_status, last_error FROM alert_outbox WHERE notification_id = ? AND receiver = ?`).get(notificationId, receiver) as
      | { status: string; attempts: number; last_status: number | null; last_error: string | null }
      | undefined;
  }

  isDisabled(receiver: string): boolean {
    const row = this.sql(`SELECT disabled_ms FROM alert_receivers WHERE receiver = ?`).get(receiver) as { disabled_ms: number | null } | undefined;
    return row?.disabled_ms != null;
  }

  /** When the next row of `receiver` may be claimed (undefined: nothing pending). */
  nextDueMs(receiver: string): number | undefined {
    const row = this.sql(
      `SELECT MIN(MAX(o.next_attempt_ms, n.due_ms, COALESCE(o.lease_until_ms, 0))) AS due FROM alert_outbox o JOIN alert_notifications n ON n.id = o.notification_id
       WHERE o.receiver = ? AND o.status = 'pending'`,
    ).get(receiver) as { due: number | null };
    return row.due ?? undefined;
  }

  receiverStatus(receiver: string): ReceiverStatusRow {
    const r = this.sql(`SELECT * FROM alert_receivers WHERE receiver = ?`).get(receiver) as Omit<ReceiverStatusRow, 'pending'> | undefined;
    const pending = (this.sql(`SELECT COUNT(*) AS n FROM alert_outbox WHERE receiver = ? AND status = 'pending'`).get(receiver) as { n: number }).n;
    return {
      receiver,
      delivered: r?.delivered ?? 0,
      failed_attempts: r?.failed_attempts ?? 0,
      dead: r?.dead ?? 0,
      pending,
      last_error: r?.last_error ?? null,
      last_error_ms: r?.last_error_ms ?? null,
      last_delivered_ms: r?.last_delivered_ms ?? null,
      disabled_ms: r?.disabled_ms ?? null,
      disabled_reason: r?.disabled_reason ?? null,
    };
  }

  /** Newest first. */
  list(filter: AlertFilter): AlertRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status) (where.push('status = ?'), params.push(filter.status));
    if (filter.rule) (where.push('rule = ?'), params.push(filter.rule));
    if (filter.sinceMs !== undefined) (where.push('fired_ms >= ?'), params.push(filter.sinceMs));
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    return this.sql(`SELECT * FROM alerts ${clause} ORDER BY fired_ms DESC, rowid DESC LIMIT ?`).all(...params, filter.limit) as AlertRow[];
  }

  get(id: string): AlertRow | undefined {
    return this.sql(`SELECT * FROM alerts WHERE id = ?`).get(id) as AlertRow | undefined;
  }

  /** Marks an alert acknowledged; returns the row (unchanged when already acked). */
  ack(id: string, now: number): { alert: AlertRow; alreadyAcked: boolean } | undefined {
    return this.atomic(() => {
      const row = this.get(id);
      if (!row) return undefined;
      if (row.status === 'acked') return { alert: row, alreadyAcked: true };
      this.sql(`UPDATE alerts SET status = 'acked', acked_ms = ? WHERE id = ?`).run(now, id);
      return { alert: { ...row, status: 'acked', acked_ms: now }, alreadyAcked: false };
    });
  }

  counts(): { firing: number; acked: number } {
    const rows = this.sql(`SELECT status, COUNT(*) AS n FROM alerts GROUP BY status`).all() as Array<{ status: 'firing' | 'acked'; n: number }>;
    const out = { firing: 0, acked: 0 };
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  private bumpReceiver(receiver: string, d: { delivered?: number; failed?: number; dead?: number; lastError?: string; lastErrorMs?: number; lastDeliveredMs?: number }): void {
    this.sql(`INSERT OR IGNORE INTO alert_receivers (receiver) VALUES (?)`).run(receiver);
    this.sql(
      `UPDATE alert_receivers SET delivered = delivered + ?, failed_attempts = failed_attempts + ?, dead = dead + ?,
         last_error = COALESCE(?, last_error), last_error_ms = COALESCE(?, last_error_ms), last_delivered_ms = COALESCE(?, last_delivered_ms)
       WHERE receiver = ?`,
    ).run(d.delivered ?? 0, d.failed ?? 0, d.dead ?? 0, d.lastError ?? null, d.lastErrorMs ?? null, d.lastDeliveredMs ?? null, receiver);
  }

  /**
   * Deletes the history older than `beforeMs`: alerts last seen before it (unless a delivery of
   * theirs is still pending), then the finished deliveries and notifications nothing refers to.
   * One transaction; returns how many alerts went.
   */
  prune(beforeMs: number): number {
    return this.atomic(() => {
      const alerts = this.sql(
        `DELETE FROM alerts WHERE last_seen_ms < ?
           AND (notification_id IS NULL OR notification_id NOT IN (SELECT notification_id FROM alert_outbox WHERE status = 'pending'))`,
      ).run(beforeMs).changes;
      const orphaned = `SELECT id FROM alert_notifications WHERE created_ms < ? AND id NOT IN (SELECT notification_id FROM alerts WHERE notification_id IS NOT NULL)`;
      this.sql(`DELETE FROM alert_outbox WHERE status != 'pending' AND notification_id IN (${orphaned})`).run(beforeMs);
      this.sql(`DELETE FROM alert_notifications WHERE id IN (${orphaned}) AND id NOT IN (SELECT notification_id FROM alert_outbox)`).run(beforeMs);
      return alerts;
    });
  }
}
