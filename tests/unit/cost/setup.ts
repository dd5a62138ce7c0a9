import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig, type Config, type ModelPrice } from '../../../src/config.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { EventBus, type BudgetThresholdEvent } from '../../../src/events.js';
import { createLogger } from '../../../src/logger.js';
import { CostService, costMigrations } from '../../../src/cost/costService.js';
import { InstanceIdentity } from '../../../src/instance.js';
import { makeTempDir } from '../../helpers/paths.js';

export const ZONE = 'Europe/Berlin';
/** 2026-11-27 16:00 in Berlin (UTC+1). */
export const NOW = Date.UTC(2026, 10, 27, 15, 0, 0);

/** A test model that costs exactly $1 per 1M input tokens and $2 per 1M output tokens. */
export const TEST_PRICES: Record<string, ModelPrice> = { 'test-model': { input: 1, output: 2 } };

export interface Harness {
  dir: string;
  dbFile: string;
  db: Db;
  clock: ManualClock;
  events: EventBus;
  config: Config;
  logLines: string[];
  thresholds: BudgetThresholdEvent[];
  unknown: Array<{ provider: string; model: string }>;
  service: CostService;
  /**
   * Another service object on the same file, sharing the clock, and by default the first one's
   * instance (another service object of the same server); pass `instance` for another server.
   */
  another(opts?: { instance?: InstanceIdentity; timeZone?: string }): CostService;
  close(): void;
}

export function makeHarness(opts: { prices?: Record<string, ModelPrice>; timeZone?: string; ttlMs?: number; now?: number } = {}): Harness {
  const dir = makeTempDir('to-cost-');
  const dbFile = path.join(dir, 'orchestrator.db');
  const dbs: Db[] = [];
  const open = () => {
    const db = openDatabase(dbFile, { migrations: costMigrations });
    dbs.push(db);
    return db;
  };
  const db = open();
  const clock = new ManualClock(opts.now ?? NOW);
  const base = loadConfig({ HOME: dir, TASK_ORCHESTRATOR_TIMEZONE: opts.timeZone ?? ZONE });
  const config: Config = {
    ...base,
    prices: opts.prices ?? TEST_PRICES,
    budget: { timeZone: opts.timeZone ?? ZONE, reservationTtlMs: opts.ttlMs ?? 60_000 },
  };
  const events = new EventBus();
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
  const thresholds: BudgetThresholdEvent[] = [];
  const unknown: Array<{ provider: string; model: string }> = [];
  events.on('budget.threshold', (e) => thresholds.push(e));
  events.on('price.unknown', (e) => unknown.push(e));
  const instance = new InstanceIdentity({ clock });
  const service = new CostService({ db, clock, logger, events, config, instance });
  return {
    dir,
    dbFile,
    db,
    clock,
    events,
    config,
    logLines,
    thresholds,
    unknown,
    service,
    another: (o = {}) =>
      new CostService({
        db: open(),
        clock,
        logger,
        events,
        config: { ...config, budget: { ...config.budget, timeZone: o.timeZone ?? config.budget.timeZone } },
        instance: o.instance ?? instance,
      }),
    close() {
      for (const d of dbs) d.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Input tokens that cost exactly `usd` on test-model ($1 per 1M input tokens). */
export const tokensFor = (usd: number) => Math.round(usd * 1_000_000);
