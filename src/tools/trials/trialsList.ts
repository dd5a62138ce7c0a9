import { z } from 'zod';
import { defineTool } from '../types.js';
import { summaryLine, toFilters, toSummary, trialFilterShape, trialSummarySchema } from './schemas.js';

export const trialsList = defineTool({
  name: 'trials_list',
  title: 'List trials',
  description: 'List past agent calls (trials), newest first, with status, model, score and cost.',
  set: 'extra',
  inputSchema: z.object({
    ...trialFilterShape,
    limit: z.number().int().min(1).max(200).default(20),
    offset: z.number().int().min(0).max(1_000_000).default(0),
  }),
  outputSchema: z.object({ trials: z.array(trialSummarySchema), total: z.number().int() }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const { trials, total } = services.trials.list({ ...toFilters(args), limit: args.limit, offset: args.offset });
    const summaries = trials.map(toSummary);
    const header = `${summaries.length} of ${total} trials`;
    return { structured: { trials: summaries, total }, text: [header, ...summaries.map(summaryLine)].join('\n') };
  },
});
