import { AgentService } from './agents/agentService.js';
import { BackgroundRuns, runMigrations } from './runs/backgroundRuns.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { CostService, costMigrations } from './cost/costService.js';
import { openDatabase, runAtomic, type Db, type Migration } from './db/database.js';
import { WalSync, type Fsync } from './db/walSync.js';
import { DeadOwnerSweep } from './deadOwnerSweep.js';
import { EventBus } from './events.js';
import { TrialStore, trialMigrations } from './eval/trialStore.js';
import { InstanceIdentity, instanceMigrations } from './instance.js';
import type { Logger } from './logger.js';
import { ProviderRegistry } from './providers/registry.js';
import type { Provider, ProviderId } from './providers/types.js';
import { HealingService } from './resilience/healingService.js';
import { TaskStore, taskMigrations } from './tasks/taskStore.js';
import { noopSpawnTracer, type SpawnTracer } from './tracing/types.js';

/** Everything a tool handler may call. Built once per server by createApp(). */
export interface AppServices {
  config: Config;
  clock: Clock;
  logger: Logger;
  db: Db;
  /** Group commit: the server awaits sync() before any tool answers. */
  walSync: WalSync;
  events: EventBus;
  /** This server instance among those sharing the database file. */
  instance: InstanceIdentity;
  tasks: TaskStore;
  trials: TrialStore;
  cost: CostService;
  healing: HealingService;
  providers: ProviderRegistry;
  tracer: SpawnTracer;
  agents: AgentService;
  runs: BackgroundRuns;
}

/** Every concern's schema, applied in this order. */
export const ALL_MIGRATIONS: readonly Migration[] = [...taskMigrations, ...costMigrations, ...trialMigrations, ...runMigrations, ...instanceMigrations];

export interface AppDeps {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Replaces real providers (tests of the layers above the provider). */
  providers?: Partial<Record<ProviderId, Provider>>;
  /** Waits between retries; tests pass a fake. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The WAL's fsync; tests pass one that counts. */
  fsync?: Fsync;
  /** This server's identity; one is made here by default (tests pass their own). */
  instance?: InstanceIdentity;
}

export interface App {
  services: AppServices;
  /** Stops background work, flushes traces and closes the database. Idempotent. */
  close(): Promise<void>;
}

/** The composition root: builds every store and service from explicit dependencies. */
export async function createApp(deps: AppDeps): Promise<App> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const db = openDatabase(config.dbPath, { migrations: ALL_MIGRATIONS });
  const walSync = new WalSync(db, deps.fsync);
  const events = new EventBus(logger.child("events"));
  // One identity per server instance, given to every store that owns rows (see instance.ts).
  const instance = deps.instance ?? new InstanceIdentity({ clock });
  instance.join(db);

  const cost = new CostService({ db, clock, logger: logger.child('cost'), events, config, instance });
  cost.releaseStale();
  const healing = new HealingService({ config, clock, logger: logger.child('healing'), events, ...(deps.sleep && { sleep: deps.sleep }) });
  const trials = new TrialStore(db, clock, { instance });
  const recoverTrials = () => {
    const interrupted = trials.recoverInterrupted();
    if (interrupted > 0) logger.warn(`marked ${interrupted} trial(s) left running by a stopped server as errored`);
    return interrupted;
  };
  recoverTrials();
  const providers = new ProviderRegistry(config, logger, deps.providers);
  // OpenTelemetry and Langfuse load only when tracing is configured (start-up time).
  const tracer = config.langfuse
    ? (await import('./tracing/spawnTracer.js')).createSpawnTracer({ config, logger: logger.child('tracing'), clock })
    : noopSpawnTracer;
  const runs = new BackgroundRuns(db, clock, logger.child('runs'), walSync, instance);
  runs.recoverInterrupted();
  // Also while running: a server killed beside this one must not look alive until a restart.
  const sweep = new DeadOwnerSweep({
    intervalMs: config.sweep.intervalMs,
    logger: logger.child('sweep'),
    recoveries: [
      { name: 'trials', recover: recoverTrials },
      { name: 'background runs', recover: () => runs.recoverInterrupted() },
      { name: 'budget reservations', recover: () => cost.releaseStale() },
      { name: 'server instances', recover: () => instance.markDeadStopped() },
    ],
  });
  sweep.start();
  const agents = new AgentService({
    config,
    clock,
    logger: logger.child('agents'),
    events,
    providers,
    healing,
    cost,
    trials,
    tracer,
    atomic: (fn) => runAtomic(db, fn),
    walSync,
  });

  const services: AppServices = {
    config,
    clock,
    logger,
    db,
    walSync,
    events,
    instance,
    tasks: new TaskStore(db, clock),
    trials,
    cost,
    healing,
    providers,
    tracer,
    agents,
    runs,
  };
  let closed = false;
  return {
    services,
    async close() {
      if (closed) return;
      closed = true;
      sweep.stop();
      await runs.shutdown(5_000);
      healing.shutdown();
      cost.shutdown();
      await tracer.shutdown();
      events.removeAllListeners();
      instance.leave();
      await walSync.close();
      db.close();
    },
  };
}
