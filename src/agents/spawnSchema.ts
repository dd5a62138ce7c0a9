import { z } from 'zod';
import { CODE_GRADER_TYPES, MODEL_GRADER_TYPES } from '../eval/graders/specs.js';
import { FINISH_REASONS, PROVIDER_IDS } from '../providers/types.js';
import { listAs } from '../schemaListing.js';

/**
 * One agent's arguments, shared by spawn_agent and each entry of spawn_parallel_agents. Kept
 * compact: its JSON Schema is listed twice to the host model on every turn. Grader entries are
 * listed loosely ({type, ...params}) and validated in full by the grader specs schema.
 */
export const agentSpecSchema = z.strictObject({
  prompt: z.string().min(1).max(1_000_000),
  system: z.string().max(200_000).optional(),
  model: z.string().min(1).max(100).default('auto').describe('"auto" picks a tier'),
  provider: z.enum(PROVIDER_IDS as [string, ...string[]]).default('google_gemini'),
  temperature: z.number().min(0).max(2).optional(),
  max_output_tokens: z.number().int().min(1).max(65_536).optional(),
  response_schema: z.record(z.string(), z.unknown()).optional().describe('JSON Schema the answer must match'),
  graders: z
    .array(
      listAs(z.looseObject({ type: z.enum([...CODE_GRADER_TYPES, ...MODEL_GRADER_TYPES]) }), {
        type: 'object',
        description: `{type, ...}; type: ${[...CODE_GRADER_TYPES, ...MODEL_GRADER_TYPES].join('|')}; e.g. {type:"contains",values}, {type:"relevance",threshold}`,
      }),
    )
    .max(20)
    .optional(),
  escalate: z.boolean().optional().describe('Gemini "auto" only: retry a tier up if graders fail (default on)'),
  timeout_ms: z.number().int().min(1_000).max(3_600_000).optional(),
  task_id: z.number().int().positive().optional(),
  tags: z.array(z.string().min(1).max(50)).max(20).optional(),
});

export type AgentSpec = z.output<typeof agentSpecSchema>;

export const graderResultSchema = z.object({
  type: z.string(),
  pass: z.boolean().nullable(),
  score: z.number().nullable(),
  reason: z.string(),
  status: z.enum(['graded', 'could_not_grade']),
  required: z.boolean(),
});

export const immuneSchema = z.object({
  action: z.enum(['proceed', 'rewritten', 'blocked']),
  risk_score: z.number().nullable(),
  matched_patterns: z.array(z.object({ id: z.string(), similarity: z.number() })),
  guardrails: z.array(z.object({ id: z.string(), kind: z.enum(['log', 'rewrite', 'reask', 'route', 'block']), reason: z.string() })),
});

export const agentResultSchema = z.object({
  trial_id: z.string(),
  status: z.enum(['passed', 'failed', 'errored', 'cancelled']),
  passed: z.boolean(),
  text: z.string().nullable(),
  json: z.unknown().optional(),
  finish_reason: z.enum(FINISH_REASONS).optional(),
  provider: z.string(),
  model: z.string().nullable(),
  model_reason: z.string(),
  escalated: z.boolean(),
  attempts: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cost_usd: z.number(),
  latency_ms: z.number(),
  graders: z.array(graderResultSchema),
  /** Weighted mean of the graders' scores; best_score ranks by it. */
  score: z.number().nullable().optional(),
  /** A required grader could not grade (e.g. its judge call failed): the pass rests on the others. */
  grading_incomplete: z.literal(true).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** What the pre-checks (immune system, failure predictor) did; action proceed with empty lists when none ran. */
  immune: immuneSchema,
});

export type AgentResult = z.output<typeof agentResultSchema>;
