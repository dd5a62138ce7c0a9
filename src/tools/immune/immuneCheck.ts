import { z } from 'zod';
import { parseGraderSpecs } from '../../eval/graders/specs.js';
import { CODE_GRADER_TYPES, MODEL_GRADER_TYPES } from '../../eval/graders/specs.js';
import { listAs } from '../../schemaListing.js';
import { defineTool } from '../types.js';
import { guardrailSchema } from './schemas.js';

export const immuneCheck = defineTool({
  name: 'immune_check',
  title: 'Immune pre-check',
  description: 'What the immune system would do to a prompt (proceed, rewritten, blocked) and why, without running it.',
  set: 'extra',
  inputSchema: z.object({
    prompt: z.string().min(1).max(1_000_000),
    system: z.string().max(200_000).optional(),
    model: z.string().min(1).max(100).default('auto'),
    graders: z
      .array(listAs(z.looseObject({ type: z.enum([...CODE_GRADER_TYPES, ...MODEL_GRADER_TYPES]) }), { type: 'object', description: 'as spawn_agent' }))
      .max(20)
      .optional(),
  }),
  outputSchema: z.object({
    action: z.enum(['proceed', 'rewritten', 'blocked']),
    processed_prompt: z.string(),
    processed_system: z.string().nullable(),
    risk_score: z.number(),
    matched_patterns: z.array(z.object({ id: z.string(), similarity: z.number() })),
    guardrails: z.array(guardrailSchema),
    reason: z.string(),
    failure_risk: z.array(z.object({ model: z.string(), risk: z.number().nullable() })),
    mode: z.enum(['on', 'observe', 'off']),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const graders = args.graders ? parseGraderSpecs(args.graders) : [{ type: 'non_empty' as const, required: true, weight: 1 }];
    const tiers = services.config.models.tiers;
    const a = services.immune.assess({
      operation: 'agent',
      prompt: args.prompt,
      system: args.system,
      provider: 'google_gemini',
      model: args.model,
      tiers,
      responseSchema: undefined,
      graders,
      maxOutputTokens: services.config.agents.defaultMaxOutputTokens,
      taskId: null,
      tags: [],
    });
    const risk = a.failureRisk;
    const structured = {
      action: a.action,
      processed_prompt: a.processedPrompt,
      processed_system: a.processedSystem ?? null,
      risk_score: a.riskScore,
      matched_patterns: a.matchedPatterns,
      guardrails: a.guardrails,
      reason: a.reason,
      failure_risk: tiers.map((model) => ({ model, risk: risk?.(model) ?? null })),
      mode: services.immune.mode,
    };
    const lines = [`${a.action} (risk ${a.riskScore}${services.immune.mode === 'on' ? '' : `; mode ${services.immune.mode}: calls are not changed`}): ${a.reason}`];
    for (const g of a.guardrails) lines.push(`- ${g.kind} ${g.id}: ${g.reason}`);
    return { structured, text: lines.join('\n') };
  },
});
