import type { BreakerState } from './circuitBreaker.js';

/** What `healing_status` shows: one snapshot per (provider, model) called so far. */
export interface BreakerSnapshot {
  provider: string;
  model: string;
  state: BreakerState;
  /** False while OPEN before its retry time, or while a half-open probe is in flight. */
  available: boolean;
  consecutiveFailures: number;
  totalFailures: number;
  totalSuccesses: number;
  /** Attempts that failed and were retried (rate-limit waits included). */
  retried: number;
  /** Calls whose retries were given up (exhausted, deadline, or the breaker opened mid-retry). */
  gaveUp: number;
  lastError: { code: string; message: string; at: string } | null;
  /** When the breaker last opened (ISO), null while closed. */
  openedAt: string | null;
  /** When it lets a test call through (ISO), null while closed. */
  halfOpenAt: string | null;
  /** Why it opened. */
  reason: string | null;
  /** Set while a per-day quota is exhausted. */
  quota: { id: string; resetsAt: string } | null;
  /** Attempts this model may have in flight (adapted to its rate limit); null = no limit yet. */
  concurrencyLimit: number | null;
  inFlight: number;
  rateLimit: RateLimitSnapshot;
}

export interface RateLimitSnapshot {
  /** Requests per second the model's calls are spaced to (learned from its rate limits); null = no limit. */
  requestsPerSecond: number | null;
  /** Rate-limit answers (429/503 naming a delay) received. */
  hits: number;
  /** Calls that waited behind the gate or for a slot, and for how long in all. */
  waits: number;
  totalWaitMs: number;
  /** While the gate is closed: when it opens (ISO). */
  gateUntil: string | null;
}

export type RecoveryEventType = 'opened' | 'half_open' | 'closed' | 'retry_gave_up';

export interface RecoveryEvent {
  type: RecoveryEventType;
  provider: string;
  model: string;
  at: string;
  detail: string;
}

export interface HealingStatus {
  breakers: BreakerSnapshot[];
  retries: { retried: number; gaveUp: number };
  recentEvents: RecoveryEvent[];
}

/** How many recovery events `status()` keeps. */
export const RECENT_EVENT_LIMIT = 50;

export const iso = (ms: number): string => new Date(ms).toISOString();
