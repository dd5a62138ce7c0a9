import { AgentService } from './agents/agentService.js';
import { BackgroundRuns, runMigrations } from './runs/backgroundRuns.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { CostService, costMigrations } from './cost/costService.js';
import { openDatabase, runAtomic, type Db, type Migration } from './db/database.js';
import { WalSync, type Fsync } from './db/walSync.js';
import { EventBus } from './events.js';
import { TrialStore, trialMigrations } from './eval/trialStore.js';
import type { Logger } from './logger.js';
import { ProviderRegistry } from './providers/registry.js';
import type { Provider, ProviderId } from './providers/types.js';
import { HealingService } from './resilience/healingService.js';
import { TaskStore, taskMigrations } from './tasks/taskStore.js';
import { noopSpawnTracer, type SpawnTracer } from './tracing/types.js';
import { openFailurePredictor, type FailurePredictor } from './prediction/predictor.js';
import { failurePredictorPreCheck } from './prediction/preCheck.js';
import type { PreCheck as PipelinePreCheck } from './agents/preCheck.js';
import type { AgentSpec } from './agents/spawnSchema.js';

/** Everything a tool handler may call. Built once per server by createApp(). */
export interface AppServices {
  config: Config;
  clock: Clock;
  logger: Logger;
  db: Db;
  /** Group commit: the server awaits sync() before any tool answers. */
  walSync: WalSync;
  events: EventBus;
  tasks: TaskStore;
  trials: TrialStore;
  cost: CostService;
  healing: HealingService;
  providers: ProviderRegistry;
  tracer: SpawnTracer;
  agents: AgentService;
  runs: BackgroundRuns;
  /** The failure predictor (issue 15); state 'absent' until a model is trained. */
  failurePredictor: FailurePredictor;
}

/** Every concern's schema, applied in this order. */
export const ALL_MIGRATIONS: readonly Migration[] = [...taskMigrations, ...costMigrations, ...trialMigrations, ...runMigrations];

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

  const cost = new CostService({ db, clock, logger: logger.child('cost'), events, config });
  cost.releaseStale();
  const healing = new HealingService({ config, clock, logger: logger.child('healing'), events, ...(deps.sleep && { sleep: deps.sleep }) });
  const trials = new TrialStore(db, clock);
  const interrupted = trials.recoverInterrupted();
  if (interrupted > 0) logger.warn(`marked ${interrupted} trial(s) left running by a stopped server as errored`);
  const providers = new ProviderRegistry(config, logger, deps.providers);
  // OpenTelemetry and Langfuse load only when tracing is configured (start-up time).
  const tracer = config.langfuse
    ? (await import('./tracing/spawnTracer.js')).createSpawnTracer({ config, logger: logger.child('tracing'), clock })
    : noopSpawnTracer;
  const runs = new BackgroundRuns(db, clock, logger.child('runs'), walSync);
  runs.recoverInterrupted();
  // --- failure prediction (issue 15): a model in the model directory feeds the pre-spawn check.
  const failurePredictor = await openFailurePredictor(config.prediction.modelDir);
  if (failurePredictor.state.status === 'invalid') logger.warn(`failure predictor disabled: ${failurePredictor.state.error}`);
  const predictionPreCheck = failurePredictorPreCheck({ predictor: failurePredictor, events, clock, secrets: config.secrets });
  // --- end failure prediction
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
    preChecks: [legacyPreCheck(predictionPreCheck, config)],
  });

  const services: AppServices = {
    config,
    clock,
    logger,
    db,
    walSync,
    events,
    tasks: new TaskStore(db, clock),
    trials,
    cost,
    healing,
    providers,
    tracer,
    agents,
    runs,
    failurePredictor,
  };
  let closed = false;
  return {
    services,
    async close() {
      if (closed) return;
      closed = true;
      await runs.shutdown(5_000);
      healing.shutdown();
      cost.shutdown();
      await tracer.shutdown();
      events.removeAllListeners();
      await walSync.close();
      db.close();
    },
  };
}

/**
 * Bridge until the pipeline takes src/agents/preCheck.ts's PreCheck (the pipeline branch): the
 * lead drops this and passes `predictionPreCheck` in `preChecks` directly.
 */
function legacyPreCheck(check: PipelinePreCheck, config: Config): (spec: AgentSpec) => Promise<{ failureRisk?: (model: string) => number | undefined }> {
  return async (spec) => {
    const tiers = spec.model !== 'auto' ? [spec.model] : spec.provider === 'google_gemini' ? config.models.tiers : [spec.provider === 'openai_compatible' ? (config.openai.defaultModel ?? 'auto') : 'auto'];
    const graders = spec.graders && spec.graders.length > 0 ? spec.graders : [{ type: 'non_empty' }, ...(spec.response_schema ? [{ type: 'json_schema' }] : [])];
    const verdict = await check.check(
      {
        operation: 'agent',
        prompt: spec.prompt,
        system: spec.system,
        provider: spec.provider,
        model: spec.model,
        tiers,
        responseSchema: spec.response_schema,
        graders: graders as Array<{ type: string } & Record<string, unknown>>,
        maxOutputTokens: spec.max_output_tokens ?? config.agents.defaultMaxOutputTokens,
        taskId: spec.task_id ?? null,
        tags: spec.tags ?? [],
      },
      { signal: new AbortController().signal },
    );
    return verdict.failureRisk ? { failureRisk: verdict.failureRisk } : {};
  };
}
