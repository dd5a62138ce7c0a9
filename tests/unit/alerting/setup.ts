import path from 'node:path';
import { AlertingService } from '../../../src/alerting/alertingService.js';
import { alertingMigrations } from '../../../src/alerting/alertStore.js';
import type { AlertingConfig } from '../../../src/alerting/config.js';
import type { Clock } from '../../../src/clock.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { EventBus } from '../../../src/events.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import { makeTempDir } from '../../helpers/paths.js';

export interface Harness {
  service: AlertingService;
  events: EventBus;
  db: Db;
  lines: string[];
  logger: Logger;
  close(): Promise<void>;
}

export function alertingConfig(over: Partial<AlertingConfig> = {}): AlertingConfig {
  return { webhook: undefined, slack: undefined, rules: {}, delivery: { timeoutMs: 2_000, retryBaseMs: 1_000, maxAttempts: 5 }, retentionDays: 90, ...over };
}

/** An AlertingService on its own database file (or a given one), wired to its own bus. */
export function harness(clock: Clock, config: AlertingConfig, opts: { dbFile?: string; secrets?: string[] } = {}): Harness {
  const dbFile = opts.dbFile ?? path.join(makeTempDir('to-alerts-'), 'orchestrator.db');
  const db = openDatabase(dbFile, { migrations: alertingMigrations });
  const lines: string[] = [];
  const secrets = opts.secrets ?? [];
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(l), secrets });
  const events = new EventBus(logger);
  // A long poll: the tests drive delivery with flush(), on the fake clock.
  const service = new AlertingService({ db, clock, logger, config, secrets, pollMs: 60_000 });
  service.subscribe(events);
  return {
    service,
    events,
    db,
    lines,
    logger,
    async close() {
      await service.close();
      db.close();
    },
  };
}
