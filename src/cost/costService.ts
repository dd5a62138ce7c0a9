import type { Clock } from '../clock.js';
import type { ModelPrice } from '../config.js';
import type { CostConfig } from '../configSlices.js';
import type { Db, Migration } from '../db/database.js';
import type { EventBus } from '../events.js';
import { InstanceIdentity } from '../instance.js';
import type { Logger } from '../logger.js';
import { ZonedCalendar } from '../zonedCalendar.js';
import { BudgetLimits } from './budgetLimits.js';
import { BudgetStore, budgetMigrations } from './budgetStore.js';
import { BudgetService } from './budgets.js';
import { CostRatioStore, costRatioMigrations } from './costRatios.js';
import { LedgerStore, ledgerMigrations, type LedgerEntry } from './ledgerStore.js';
import { formatUsd } from './money.js';
import { nanoToUsd, type PriceTable } from './prices.js';
import { Pricing } from './pricing.js';
import { ReservationBook, type LateLease } from './reservations.js';
import { CostSummaryReader } from './summary.js';
import { ThresholdPolicy } from './thresholdPolicy.js';
import type { BudgetStatus, CallUsage, CostSummary, RecordCall, Reservation, ReserveRequest, SetBudgetRequest, SummaryQuery } from './types.js';

export type { Budget } from './budgetStore.js';
export type { CallStatus, GroupBy, LedgerEntry } from './ledgerStore.js';
export type * from './types.js';
export { formatUsd };

/** Ledger, budgets, then learned cost ratios; add to ALL_MIGRATIONS. */
export const costMigrations: Migration[] = [...ledgerMigrations, ...budgetMigrations, ...costRatioMigrations];

export interface CostServiceDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  config: CostConfig;
  /** This server instance (the composition root's); one of its own by default. */
  instance?: InstanceIdentity;
}

/**
 * The cost subsystem's one entry point, for the composition root, the pipeline (as CostPort) and
 * the cost tools. It only wires and delegates; each job lives in its own module:
 * pricing.ts (prices, estimates), reservations.ts (the reservation protocol, leases, admission),
 * budgets.ts (budget CRUD), budgetLimits.ts (limit logic), thresholdPolicy.ts (50/80/100% alerts),
 * costRatios.ts (what calls really cost against their reservations), summary.ts (cost_summary).
 */
export class CostService {
  readonly prices: PriceTable;
  readonly calendar: ZonedCalendar;
  readonly instance: InstanceIdentity;
  private readonly pricing: Pricing;
  private readonly ratios: CostRatioStore;
  private readonly reservations: ReservationBook;
  private readonly budgetService: BudgetService;
  private readonly summaries: CostSummaryReader;

  constructor(deps: CostServiceDeps) {
    const { db, clock, logger, events, config } = deps;
    this.pricing = new Pricing(config.prices, logger, events);
    this.prices = this.pricing.table;
    this.calendar = new ZonedCalendar(config.budget.timeZone);
    const ledger = new LedgerStore(db, this.calendar, () => clock.now());
    const budgets = new BudgetStore(db);
    const limits = new BudgetLimits(budgets, ledger, this.calendar);
    const thresholds = new ThresholdPolicy(budgets, limits, logger, events);
    this.ratios = new CostRatioStore(db);
    this.instance = deps.instance ?? new InstanceIdentity({ clock });
    this.reservations = new ReservationBook({
      db,
      clock,
      logger,
      events,
      pricing: this.pricing,
      ledger,
      budgets,
      limits,
      thresholds,
      ratios: this.ratios,
      ttlMs: config.budget.reservationTtlMs,
      instance: this.instance,
    });
    this.budgetService = new BudgetService({ db, clock, logger, pricing: this.pricing, budgets, limits, thresholds });
    this.summaries = new CostSummaryReader({
      clock,
      calendar: this.calendar,
      ledger,
      limits,
      ratios: this.ratios,
      pricing: this.pricing,
      lateLeases: () => this.reservations.lateLeases(),
    });
  }

  /** The price a call is booked at; undefined when unknown (mcp_sampling is always 0). */
  priceFor(provider: string, model: string): ModelPrice | undefined {
    return this.pricing.priceFor(provider, model);
  }

  /** Cost of a usage; an unknown price is charged at the most expensive known rates. */
  costOf(provider: string, model: string, usage: { inputTokens: number; outputTokens: number }): { usd: number; priceKnown: boolean } {
    const { nano, known } = this.pricing.costNano(provider, model, usage);
    return { usd: nanoToUsd(nano), priceKnown: known };
  }

  /**
   * What to reserve for a call: its worst case at list price (long-context tier when the prompt
   * crosses it, the thinking reserve where the model bills thinking), times the model's learned
   * cost ratio once one of its calls cost more than reserved.
   */
  estimateMaxCostUsd(provider: string, model: string, promptTokens: number, maxOutputTokens: number): number {
    const base = this.pricing.estimateNano(provider, model, promptTokens, maxOutputTokens);
    const ratio = this.ratios.ratio(provider, this.pricing.canonicalModel(provider, model));
    return nanoToUsd(Math.ceil(base * ratio));
  }

  /** The multiplier this model's reservations are taken at now (1 until it overran). */
  learnedRatio(provider: string, model: string): number {
    return this.ratios.ratio(provider, this.pricing.canonicalModel(provider, model));
  }

  /** Waits for the call's place in its model's admission window; see ReservationBook.admit. */
  admit(provider: string, model: string, signal: AbortSignal): (() => void) | Promise<() => void> {
    return this.reservations.admit(provider, model, signal);
  }

  admissionWindow(provider: string, model: string): number {
    return this.reservations.admissionWindow(provider, model);
  }

  reserve(req: ReserveRequest): Reservation {
    return this.reservations.reserve(req);
  }

  settle(reservationId: string, call: CallUsage): LedgerEntry {
    return this.reservations.settle(reservationId, call);
  }

  release(reservationId: string): void {
    this.reservations.release(reservationId);
  }

  record(call: RecordCall): LedgerEntry {
    return this.reservations.record(call);
  }

  releaseStale(): number {
    return this.reservations.releaseStale();
  }

  lateLeases(): LateLease[] {
    return this.reservations.lateLeases();
  }

  renewLeases(): number {
    return this.reservations.renewLeases();
  }

  /** The server is closing: stop renewing leases. */
  shutdown(): void {
    this.reservations.shutdown();
  }

  summary(query: SummaryQuery = {}): CostSummary {
    return this.summaries.summary(query);
  }

  setBudget(req: SetBudgetRequest): BudgetStatus {
    return this.budgetService.setBudget(req);
  }

  remainingUsd(provider: string, model: string): number | undefined {
    return this.budgetService.remainingUsd(provider, model);
  }

  listBudgets(): BudgetStatus[] {
    return this.budgetService.listBudgets();
  }
}
