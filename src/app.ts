import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { openDatabase, type Db, type Migration } from './db/database.js';
import { EventBus } from './events.js';
import type { Logger } from './logger.js';
import { TaskStore, taskMigrations } from './tasks/taskStore.js';

/** Everything a tool handler may call. Built once per server by createApp(). */
export interface AppServices {
  config: Config;
  clock: Clock;
  logger: Logger;
  db: Db;
  events: EventBus;
  tasks: TaskStore;
}

/** Every concern's schema, applied in this order. */
export const ALL_MIGRATIONS: readonly Migration[] = [...taskMigrations];

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock?: Clock;
}

export interface App {
  services: AppServices;
  /** Closes what the app opened (database, exporters). Idempotent. */
  close(): Promise<void>;
}

/** The composition root: builds every store and service from explicit dependencies. */
export function createApp(deps: AppDeps): App {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const db = openDatabase(config.dbPath, { migrations: ALL_MIGRATIONS });
  const events = new EventBus();
  const services: AppServices = {
    config,
    clock,
    logger,
    db,
    events,
    tasks: new TaskStore(db, clock),
  };
  let closed = false;
  return {
    services,
    async close() {
      if (closed) return;
      closed = true;
      events.removeAllListeners();
      db.close();
    },
  };
}
