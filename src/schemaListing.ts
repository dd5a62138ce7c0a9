import type { z } from 'zod';

/** Schemas tagged by listAs, and the summary each is listed as. Weak: schemas own their tags. */
const LISTED_AS = new WeakMap<z.ZodType, Record<string, unknown>>();

/**
 * Lists `schema` as `summary` in tools/list (e.g. the per-agent object inside
 * spawn_parallel_agents, which would otherwise repeat spawn_agent's whole schema). The full
 * schema still validates every call.
 */
export function listAs<T extends z.ZodType>(schema: T, summary: Record<string, unknown>): T {
  const copy = schema.clone() as T;
  LISTED_AS.set(copy, summary);
  return copy;
}

/** The summary `schema` was tagged with by listAs, if any. */
export function listedSummary(schema: z.ZodType): Record<string, unknown> | undefined {
  return LISTED_AS.get(schema);
}
