import { z } from 'zod';
import { NotConfiguredError } from '../../errors.js';
import { defineTool } from '../types.js';

export const predictRisk = defineTool({
  name: 'predict_risk',
  title: 'Predict failure risk',
  description: 'Before sending a prompt: the trained failure predictor\'s probability that the call fails, and why. Runs nothing.',
  set: 'extra',
  inputSchema: z.object({
    prompt: z.string().min(1).max(1_000_000),
    system: z.string().max(200_000).optional(),
    model: z.string().min(1).max(100).optional().describe('Model to score for; default: first tier'),
    provider: z.string().min(1).max(50).default('google_gemini'),
    response_schema: z.record(z.string(), z.unknown()).optional(),
    graders: z.array(z.object({ type: z.string().min(1).max(50) }).loose()).max(20).optional().describe('Grader specs ({type, …})'),
  }),
  outputSchema: z.object({
    risk_score: z.number(),
    is_high_risk: z.boolean(),
    threshold: z.number(),
    top_features: z.array(z.object({ feature: z.string(), weight: z.number() })),
    model_version: z.string(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const model = args.model ?? services.config.models.tiers[0];
    const assessed = services.failurePredictor.assess(
      {
        operation: 'agent',
        prompt: args.prompt,
        system: args.system ?? null,
        provider: args.provider,
        model,
        responseSchema: args.response_schema ?? null,
        graders: args.graders && args.graders.length > 0 ? args.graders.map((g) => ({ type: g.type, required: g.required !== false })) : null,
      },
      { explain: true },
    );
    if (!assessed) throw new NotConfiguredError(services.failurePredictor.unavailableReason());
    const structured = {
      risk_score: Math.round(assessed.riskScore * 1e4) / 1e4,
      is_high_risk: assessed.isHighRisk,
      threshold: assessed.threshold,
      top_features: assessed.topFeatures,
      model_version: assessed.modelVersion,
    };
    const why = structured.top_features.map((f) => f.feature).join(', ');
    return {
      structured,
      text: `Failure risk ${(structured.risk_score * 100).toFixed(0)}% on ${model ?? 'the first tier'} (${structured.is_high_risk ? 'HIGH' : 'below'} threshold ${structured.threshold}; model ${structured.model_version}). Top features: ${why || 'none'}.`,
    };
  },
});
