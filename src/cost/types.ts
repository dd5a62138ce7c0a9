import type { Budget } from './budgetStore.js';
import type { CallStatus, GroupBy } from './ledgerStore.js';

export interface Reservation {
  id: string;
  provider: string;
  model: string;
  /** Canonical model name budgets group by. */
  modelKey: string;
  maxCostUsd: number;
  priceKnown: boolean;
  expiresAt: string;
}

export interface ReserveRequest {
  provider: string;
  model: string;
  maxCostUsd: number;
  trialId?: string | undefined;
  taskId?: number | null | undefined;
}

export interface CallUsage {
  inputTokens: number;
  outputTokens: number;
  status: CallStatus;
  trialId?: string | null | undefined;
  taskId?: number | null | undefined;
  tags?: readonly string[] | undefined;
}

export interface RecordCall extends CallUsage {
  provider: string;
  model: string;
}

export type SummaryPeriod = 'today' | 'month' | 'all' | { from: string; to: string };

export interface SummaryQuery {
  period?: SummaryPeriod | undefined;
  groupBy?: GroupBy | undefined;
}

export interface PeriodStatus {
  limit_usd: number;
  spent_usd: number;
  reserved_usd: number;
  remaining_usd: number;
  percent_used: number;
  /** When the period ends (ISO, UTC). */
  resets_at: string;
}

export interface BudgetStatus extends Budget {
  daily: PeriodStatus | null;
  monthly: PeriodStatus | null;
}

export interface CostAmounts {
  usd: number;
  calls: number;
  input_tokens: number;
  output_tokens: number;
}

/** Calls of one model in the period that cost more than their reservation. */
export interface OverrunSummary {
  provider: string;
  model: string;
  calls: number;
  reserved_usd: number;
  cost_usd: number;
  /** The largest cost / reservation seen in the period. */
  max_ratio: number;
  /** What this model's reservations are multiplied by now (learned; 1 = none). */
  reserve_ratio: number;
}

export interface CostSummary {
  period: { name: 'today' | 'month' | 'all' | 'range'; from: string | null; to: string | null; time_zone: string };
  totals: CostAmounts;
  group_by: GroupBy;
  breakdown: Array<CostAmounts & { key: string }>;
  /** Groups left out of `breakdown` (it holds at most 100). */
  breakdown_omitted: number;
  budgets: BudgetStatus[];
  top_calls: Array<{
    id: number;
    time: string;
    provider: string;
    model: string;
    usd: number;
    input_tokens: number;
    output_tokens: number;
    status: CallStatus;
    trial_id: string | null;
    task_id: number | null;
  }>;
  overruns: OverrunSummary[];
  warnings: string[];
}

export interface SetBudgetRequest {
  provider: string;
  model?: string | null | undefined;
  /** undefined: keep; null: remove this limit. */
  dailyLimitUsd?: number | null | undefined;
  monthlyLimitUsd?: number | null | undefined;
}
