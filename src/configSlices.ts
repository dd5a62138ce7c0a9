import type { Config } from './config.js';

/**
 * Each service's own part of Config. The composition root (app.ts) cuts these out and hands each
 * service only its slice, so a service cannot come to depend on settings (or secrets, such as the
 * provider keys) that are not its concern, and its tests build only what it reads.
 */

/** CostService: prices, budget zone and reservation lease. */
export type CostConfig = Pick<Config, 'prices' | 'budget'>;

/** ProviderResilience: retry, breaker, the per-call timeout, and secrets to scrub from errors. */
export interface ResilienceConfig {
  retry: Config['retry'];
  breaker: Config['breaker'];
  agents: Pick<Config['agents'], 'callTimeoutMs'>;
  secrets: Config['secrets'];
}

/** ProviderRegistry: how to reach each provider, and the sampling default output cap. */
export interface ProvidersConfig {
  gemini: Config['gemini'];
  openai: Config['openai'];
  agents: Pick<Config['agents'], 'defaultMaxOutputTokens'>;
}

/** AgentService (plan and run): model tiers, the judge, call limits; no provider keys. */
export interface AgentsConfig {
  models: Config['models'];
  openai: Pick<Config['openai'], 'defaultModel'>;
  agents: Pick<Config['agents'], 'callTimeoutMs' | 'defaultMaxOutputTokens'>;
  secrets: Config['secrets'];
}

/** The spawn tracer: Langfuse credentials (when set) and secrets to scrub from spans. */
export type TracingConfig = Pick<Config, 'langfuse' | 'secrets'>;

export function costConfig(c: Config): CostConfig {
  return { prices: c.prices, budget: c.budget };
}

export function resilienceConfig(c: Config): ResilienceConfig {
  return { retry: c.retry, breaker: c.breaker, agents: { callTimeoutMs: c.agents.callTimeoutMs }, secrets: c.secrets };
}

export function providersConfig(c: Config): ProvidersConfig {
  return { gemini: c.gemini, openai: c.openai, agents: { defaultMaxOutputTokens: c.agents.defaultMaxOutputTokens } };
}

export function agentsConfig(c: Config): AgentsConfig {
  return {
    models: c.models,
    openai: { defaultModel: c.openai.defaultModel },
    agents: { callTimeoutMs: c.agents.callTimeoutMs, defaultMaxOutputTokens: c.agents.defaultMaxOutputTokens },
    secrets: c.secrets,
  };
}

export function tracingConfig(c: Config): TracingConfig {
  return { langfuse: c.langfuse, secrets: c.secrets };
}

/** What tool handlers read: where exports and the dashboard go, call defaults, the display zone. */
export interface ToolsConfig {
  dataDir: Config['dataDir'];
  secrets: Config['secrets'];
  models: Pick<Config['models'], 'tiers'>;
  agents: Pick<Config['agents'], 'detachAfterMs' | 'progressIntervalMs' | 'defaultMaxConcurrency' | 'defaultMaxOutputTokens'>;
  budget: Pick<Config['budget'], 'timeZone'>;
}
