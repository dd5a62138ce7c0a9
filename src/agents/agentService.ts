import type { Clock } from '../clock.js';
import type { AgentsConfig } from '../configSlices.js';
import type { EventBus } from '../events.js';
import { JsonSchemaCache } from '../eval/graders/jsonSchemaCache.js';
import type { Logger } from '../logger.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ProviderResilience } from '../resilience/providerResilience.js';
import type { SpawnTracer } from '../tracing/types.js';
import { durabilityObserver, tracingObserver, trialEventsObserver } from './observers.js';
import type { CostPort, TaskLookup, TrialPort } from './ports.js';
import type { PreCheck } from './preCheck.js';
import { SpawnObservers, type SpawnObserver } from './spawnObserver.js';
import { isSpawnPlan, planSpawn, type SpawnPlan } from './spawnPlan.js';
import { SpawnRun, type RunContext } from './spawnRun.js';
import type { AgentResult, AgentSpec } from './spawnSchema.js';

export { roundUsd, type RunContext } from './spawnRun.js';

export interface AgentServiceDeps {
  config: AgentsConfig;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  providers: ProviderRegistry;
  healing: Pick<ProviderResilience, 'call' | 'isAvailable'>;
  cost: CostPort;
  trials: TrialPort;
  tracer: SpawnTracer;
  /** Runs `fn` in one immediate transaction (nested calls become savepoints); see runAtomic. */
  atomic: <T>(fn: () => T) => T;
  /**
   * Makes committed writes durable (see WalSync). The pipeline asks after each agent without
   * waiting, so a long background run keeps its ledger on disk as it goes; the server waits for
   * it before any tool answers.
   */
  walSync: { sync(): Promise<void> };
  /** Asked in order before every agent and judge call, before any money is reserved. */
  preChecks?: readonly PreCheck[] | undefined;
  /** Checks task_id before anything runs. */
  tasks?: TaskLookup | undefined;
  /** Watch every call (after tracing, durability and the trial.finished event). */
  observers?: readonly SpawnObserver[] | undefined;
}

/** The one pipeline every agent call runs through (the steps are in SpawnRun). */
export class AgentService {
  /** Compiled JSON Schemas, shared by every call: compiling costs milliseconds, validating microseconds. */
  private readonly schemas = new JsonSchemaCache();
  private readonly observers: SpawnObservers;

  constructor(private readonly deps: AgentServiceDeps) {
    const logger = deps.logger;
    this.observers = new SpawnObservers(
      [tracingObserver(deps.tracer), durabilityObserver(deps.walSync, logger), trialEventsObserver(deps.events), ...(deps.observers ?? [])],
      logger,
    );
  }

  /** Resolves and validates a spec before anything runs (grader specs, provider config); see SpawnPlan. */
  plan(spec: AgentSpec, ctx: Pick<RunContext, 'createMessage'>): Promise<SpawnPlan> {
    const { config, providers, tasks } = this.deps;
    return planSpawn({ config, providers, schemas: this.schemas, tasks }, spec, ctx);
  }

  /**
   * Runs one agent end to end. Never throws for what happens at the provider or in grading:
   * those end as a result with status "errored"; invalid input and missing configuration throw
   * (from plan, when given a spec).
   */
  async spawn(call: AgentSpec | SpawnPlan, ctx: RunContext): Promise<AgentResult> {
    const plan = isSpawnPlan(call) ? call : await this.plan(call, ctx);
    const { deps } = this;
    return new SpawnRun({ ...deps, schemas: this.schemas, preChecks: deps.preChecks ?? [], observers: this.observers }, plan, ctx).execute();
  }
}
