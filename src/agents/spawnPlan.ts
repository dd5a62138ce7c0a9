import type { AgentsConfig } from '../configSlices.js';
import { InvalidInputError } from '../errors.js';
import { defaultGraderSpecs } from '../eval/grading.js';
import type { JsonSchemaCache } from '../eval/graders/jsonSchemaCache.js';
import { parseGraderSpecs, type GraderSpec } from '../eval/graders/specs.js';
import type { CreateMessage } from '../host.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Provider, ProviderId } from '../providers/types.js';
import { estimateTokens } from '../tokenEstimate.js';
import type { TaskLookup } from './ports.js';
import type { AgentSpec } from './spawnSchema.js';

/**
 * One agent call's spec, resolved once: everything the pipeline derives from the arguments
 * before it runs. Building a plan validates what can be validated before anything is spent
 * (grader specs, the response schema, provider configuration), so a tool that holds a plan knows
 * the call will not be refused for its input.
 */
export interface SpawnPlan {
  readonly kind: 'spawn_plan';
  /** The arguments as the caller gave them. */
  readonly spec: AgentSpec;
  /** The caller's graders, validated; undefined means the defaults. */
  readonly graders: GraderSpec[] | undefined;
  /** The graders the call is judged by: the caller's, or the defaults. */
  readonly graderSpecs: readonly GraderSpec[];
  readonly provider: Provider;
  /** The models the call may use, cheapest first; a named model is the only one. */
  readonly tiers: readonly string[];
  /** Prompt tokens to reserve for, from the prompt as it is sent (see withPrompt). */
  readonly promptTokens: number;
  readonly maxOutputTokens: number;
  /** timeout_ms: bounds the whole call (every attempt, retry wait, escalation and judge) from its start. */
  readonly timeoutMs: number | undefined;
  /** A failed grade may retry one tier up (Gemini "auto" only). */
  readonly canEscalate: boolean;
}

export interface PlanDeps {
  config: AgentsConfig;
  providers: ProviderRegistry;
  schemas: JsonSchemaCache;
  /** Absent: task_id is not checked (a pipeline without a task list). */
  tasks?: TaskLookup | undefined;
}

export function isSpawnPlan(value: AgentSpec | SpawnPlan): value is SpawnPlan {
  return (value as SpawnPlan).kind === 'spawn_plan';
}

/** Resolves and validates a spec; throws InvalidInputError / NotConfiguredError before anything runs. */
export async function planSpawn(deps: PlanDeps, spec: AgentSpec, ctx: { createMessage?: CreateMessage | undefined }): Promise<SpawnPlan> {
  const { config, providers, schemas, tasks } = deps;
  if (spec.task_id !== undefined && tasks && !tasks.exists(spec.task_id)) {
    throw new InvalidInputError(`task_id ${spec.task_id} names no task; use tasks_list to see task ids, or leave task_id out.`, { field: 'task_id' });
  }
  const graders = spec.graders && spec.graders.length > 0 ? parseGraderSpecs(spec.graders, schemas) : undefined;
  // The default json_schema grader would only find out after the call was paid for.
  if (spec.response_schema) schemas.compile(spec.response_schema, 'response_schema');
  const provider = await providers.get(spec.provider as ProviderId, ctx);
  if (spec.provider === 'openai_compatible' && spec.model === 'auto' && !config.openai.defaultModel) {
    throw new InvalidInputError('model "auto" with provider openai_compatible needs OPENAI_MODEL set on the server; or pass model explicitly.');
  }
  return {
    kind: 'spawn_plan',
    spec,
    graders,
    graderSpecs: graders ?? defaultGraderSpecs({ responseSchema: spec.response_schema }),
    provider,
    tiers: tiersFor(spec, config),
    promptTokens: promptTokensOf(spec.prompt, spec.system, spec.response_schema),
    maxOutputTokens: spec.max_output_tokens ?? config.agents.defaultMaxOutputTokens,
    timeoutMs: spec.timeout_ms,
    canEscalate: (spec.escalate ?? spec.model === 'auto') && spec.model === 'auto' && spec.provider === 'google_gemini',
  };
}

/** The plan for the prompt a pre-check rewrote: only the prompt-token count changes. */
export function withPrompt(plan: SpawnPlan, prompt: string, system: string | undefined): SpawnPlan {
  if (prompt === plan.spec.prompt && system === plan.spec.system) return plan;
  return { ...plan, promptTokens: promptTokensOf(prompt, system, plan.spec.response_schema) };
}

/** The models "auto" chooses among; a named model is the only candidate. */
function tiersFor(spec: AgentSpec, config: AgentsConfig): readonly string[] {
  if (spec.model !== 'auto') return [spec.model];
  if (spec.provider === 'google_gemini') return config.models.tiers;
  return [spec.provider === 'openai_compatible' ? (config.openai.defaultModel ?? 'auto') : 'auto'];
}

export function promptTokensOf(prompt: string, system: string | undefined, responseSchema: Record<string, unknown> | undefined): number {
  return estimateTokens(`${system ?? ''}\n${prompt}${responseSchema ? JSON.stringify(responseSchema) : ''}`) + 16;
}
