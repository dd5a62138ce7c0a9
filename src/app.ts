import { AgentService } from './agents/agentService.js';
import { AlertingService } from './alerting/alertingService.js';
import { alertingMigrations } from './alerting/alertStore.js';
import { BackgroundRuns, runMigrations } from './runs/backgroundRuns.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { agentsConfig, costConfig, providersConfig, resilienceConfig, tracingConfig } from './configSlices.js';
import { CostService, costMigrations } from './cost/costService.js';
import { atomicRunner, openDatabase, type Db, type Migration } from './db/database.js';
import { WalSync, type Fsync } from './db/walSync.js';
import { DeadOwnerSweep } from './deadOwnerSweep.js';
import { EventBus } from './events.js';
import type { PreCheck } from './agents/preCheck.js';
import type { SpawnObserver } from './agents/spawnObserver.js';
import { TrialStore, trialMigrations } from './eval/trialStore.js';
import { InstanceIdentity, instanceMigrations } from './instance.js';
import type { Logger } from './logger.js';
import { ProviderRegistry } from './providers/registry.js';
import type { Provider, ProviderId } from './providers/types.js';
import { ProviderResilience } from './resilience/providerResilience.js';
import { taskRunMigrations } from './tasks/taskRuns.js';
import { ImmuneSystem } from './immune/immuneSystem.js';
import { immuneMigrations } from './immune/migrations.js';
import { TaskStore, taskMigrations } from './tasks/taskStore.js';
import { noopSpawnTracer, type SpawnTracer } from './tracing/types.js';
import { openFailurePredictor } from './prediction/predictor.js';
import { failurePredictorPreCheck } from './prediction/preCheck.js';
import { dashboardReport, patternViews, statusReport } from './immune/report.js';
import type { ToolServices } from './tools/types.js';

/**
 * Everything the app built, for the server, the CLI and tests. Tool handlers see only the
 * ToolServices part (src/tools/types.ts): no db, no walSync. Built once per server by createApp().
 */
export interface AppServices extends ToolServices {
  /** The whole configuration, for the server and the CLI; tool handlers see ToolsConfig. */
  config: Config;
  logger: Logger;
  db: Db;
  /** Group commit: the server awaits sync() before any tool answers. */
  walSync: WalSync;
  events: EventBus;
  /** This server instance among those sharing the database file. */
  instance: InstanceIdentity;
  providers: ProviderRegistry;
  tracer: SpawnTracer;
}

/** Every concern's schema, applied in this order. */
export const ALL_MIGRATIONS: readonly Migration[] = [...taskMigrations, ...costMigrations, ...trialMigrations, ...runMigrations, ...alertingMigrations, ...immuneMigrations, ...taskRunMigrations, ...instanceMigrations];

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
  /** Asked in order before every agent and judge call (immune system, failure predictor). */
  preChecks?: readonly PreCheck[];
  /** Each subscribes what it needs on the server's event bus (alerting, failure memory, ...). */
  listeners?: ReadonlyArray<(events: EventBus) => void>;
  /** Watch every agent call as it runs: each generation, score and end (see SpawnObserver). */
  observers?: readonly SpawnObserver[];
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
  const events = new EventBus(logger.child('events'));
  // One identity per server instance, given to every store that owns rows (see instance.ts).
  const instance = deps.instance ?? new InstanceIdentity({ clock });
  instance.join(db);
  for (const subscribe of deps.listeners ?? []) subscribe(events);

  const cost = new CostService({ db, clock, logger: logger.child('cost'), events, config: costConfig(config), instance });
  cost.releaseStale();
  const healing = new ProviderResilience({ config: resilienceConfig(config), clock, logger, events, ...(deps.sleep && { sleep: deps.sleep }) });
  const trials = new TrialStore(db, clock, { instance });
  const recoverTrials = () => {
    const interrupted = trials.recoverInterrupted();
    if (interrupted > 0) logger.warn(`marked ${interrupted} trial(s) left running by a stopped server as errored`);
    return interrupted;
  };
  recoverTrials();
  const providers = new ProviderRegistry(providersConfig(config), logger, deps.providers);
  // OpenTelemetry and Langfuse load only when tracing is configured (start-up time).
  const tracer = config.langfuse
    ? (await import('./tracing/spawnTracer.js')).createSpawnTracer({ config: tracingConfig(config), logger: logger.child('tracing'), clock })
    : noopSpawnTracer;
  // Immune system: learns from trial.finished, guards calls as a pre-check; TASK_ORCHESTRATOR_IMMUNE=off leaves only its history readable.
  const immune = new ImmuneSystem({ db, clock, logger: logger.child('immune'), events, config: config.immune, secrets: config.secrets });
  const unsubscribeImmune = config.immune.mode === 'off' ? () => {} : immune.subscribe(events);
  if (config.immune.mode !== 'off') immune.seedFromTrials();

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
  const tasks = new TaskStore(db, clock);
  // --- failure prediction (issue 15): a model in the model directory feeds the pre-spawn check.
  const failurePredictor = await openFailurePredictor(config.prediction.modelDir);
  if (failurePredictor.state.status === 'invalid') logger.warn(`failure predictor disabled: ${failurePredictor.state.error}`);
  const predictionPreCheck = failurePredictorPreCheck({ predictor: failurePredictor, events, clock, secrets: config.secrets });
  // --- end failure prediction
  const agents = new AgentService({
    config: agentsConfig(config),
    clock,
    logger: logger.child('agents'),
    events,
    providers,
    healing,
    cost,
    trials,
    tracer,
    atomic: atomicRunner(db),
    walSync,
    // The immune system checks first: what it redacts or fences off, later pre-checks never see raw.
    preChecks: [...(config.immune.mode === 'off' ? [] : [immune.preCheck]), predictionPreCheck, ...(deps.preChecks ?? [])],
    observers: deps.observers ?? [],
    tasks: { exists: (id) => tasks.exists(id) },
  });

  // Alerting: rules over the bus; delivery from its outbox, off every call's path.
  const alerting = new AlertingService({ db, clock, logger: logger.child('alerting'), config: config.alerting, secrets: config.secrets });
  alerting.subscribe(events);
  alerting.start();

  const services: AppServices = {
    config,
    clock,
    logger,
    db,
    walSync,
    events,
    instance,
    tasks,
    trials,
    cost,
    healing,
    providers,
    tracer,
    agents,
    runs,
    alerting,
    failurePredictor,
    immune,
    immuneReports: {
      patterns: (limit, patternId) => patternViews(db, limit, patternId),
      status: (nowMs, periodDays) => statusReport(db, nowMs, periodDays),
      dashboard: (nowMs, periodDays) => dashboardReport(db, nowMs, periodDays),
    },
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
      await alerting.close();
      await tracer.shutdown();
      unsubscribeImmune();
      events.removeAllListeners();
      instance.leave();
      await walSync.close();
      db.close();
    },
  };
}
