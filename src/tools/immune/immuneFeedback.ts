import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';
import { defineTool } from '../types.js';

export const immuneFeedback = defineTool({
  name: 'immune_feedback',
  title: 'Immune feedback',
  description: 'Disable, re-enable or mark as false positive one failure pattern or guardrail (give exactly one id).',
  set: 'extra',
  inputSchema: z.object({
    pattern_id: z.string().min(1).max(100).optional(),
    guardrail_id: z.string().min(1).max(200).optional(),
    action: z.enum(['disable', 'enable', 'false_positive']),
  }),
  outputSchema: z.object({ target: z.string(), status: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, services) {
    if ((args.pattern_id === undefined) === (args.guardrail_id === undefined)) {
      throw new InvalidInputError('give exactly one of pattern_id or guardrail_id');
    }
    const result = services.immune.feedback({ patternId: args.pattern_id, guardrailId: args.guardrail_id }, args.action);
    return { structured: result, text: `${result.target} is now ${result.status}.` };
  },
});
