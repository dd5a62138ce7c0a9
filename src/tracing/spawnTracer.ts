import { systemClock } from '../clock.js';
import { createLangfuseSpawnTracer } from './langfuseTracer.js';
import { noopSpawnTracer, type SpawnTracer, type SpawnTracerDeps } from './types.js';

export * from './types.js';

/** Langfuse when config.langfuse is set (public key, secret key, base URL); a no-op tracer otherwise. */
export function createSpawnTracer(deps: SpawnTracerDeps): SpawnTracer {
  const langfuse = deps.config.langfuse;
  if (!langfuse) return noopSpawnTracer;
  return createLangfuseSpawnTracer({
    langfuse,
    secrets: deps.config.secrets,
    logger: deps.logger.child('tracing'),
    clock: deps.clock ?? systemClock,
    exportTimeoutMs: deps.exportTimeoutMs ?? 2_000,
    shutdownTimeoutMs: deps.shutdownTimeoutMs ?? 2_500,
    flushIntervalMs: deps.flushIntervalMs ?? 1_000,
  });
}
