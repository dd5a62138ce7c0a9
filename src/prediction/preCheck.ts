import type { PreCheck, PreCheckInput, PreCheckVerdict } from '../agents/preCheck.js';
import type { Clock } from '../clock.js';
import { redactSecrets } from '../errors.js';
import type { EventBus } from '../events.js';
import type { PreCallInput } from './features.js';
import type { FailurePredictor } from './predictor.js';

/**
 * The predictor as a pre-spawn check: it never changes or blocks a call. It gives model
 * selection the risk of each candidate model and announces the risk of the model about to be
 * called ('risk.assessed', what the high-risk alert listens to). Without a model it says nothing.
 */
export function failurePredictorPreCheck(deps: { predictor: FailurePredictor; events: EventBus; clock: Clock; secrets: readonly string[] }): PreCheck {
  return {
    id: 'failure_predictor',
    check(input: PreCheckInput): PreCheckVerdict {
      if (deps.predictor.state.status !== 'ready') return { action: 'proceed' };
      const base = toPreCallInput(input);
      const cache = new Map<string, number | undefined>();
      const failureRisk = (model: string): number | undefined => {
        if (!cache.has(model)) cache.set(model, deps.predictor.assess({ ...base, model })?.riskScore);
        return cache.get(model);
      };
      const target = input.model === 'auto' ? (input.tiers[0] ?? 'auto') : input.model;
      const assessed = deps.predictor.assess({ ...base, model: target });
      if (!assessed) return { action: 'proceed' };
      cache.set(target, assessed.riskScore);
      deps.events.emit('risk.assessed', {
        provider: input.provider,
        model: target,
        riskScore: assessed.riskScore,
        threshold: assessed.threshold,
        isHighRisk: assessed.isHighRisk,
        modelVersion: assessed.modelVersion,
        promptPreview: redactSecrets(input.prompt.slice(0, 200), deps.secrets).slice(0, 120),
        at: deps.clock.now(),
      });
      return { action: 'proceed', riskScore: assessed.riskScore, failureRisk };
    },
  };
}

export function toPreCallInput(input: PreCheckInput): PreCallInput {
  return {
    operation: input.operation,
    prompt: input.prompt,
    system: input.system ?? null,
    provider: input.provider,
    model: input.model,
    responseSchema: input.responseSchema ?? null,
    graders: input.graders.map((g) => ({ type: g.type, required: g.required !== false })),
    tags: input.tags,
  };
}
