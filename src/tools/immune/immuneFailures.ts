import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import { defineTool } from '../types.js';
import { patternViewSchema } from './schemas.js';

const exampleSchema = z.object({
  trial_id: z.string(),
  at: z.string(),
  status: z.string(),
  model: z.string().nullable(),
  prompt: z.string(),
  output: z.string().nullable(),
  finish_reason: z.string().nullable(),
  error_code: z.string().nullable(),
  failed_graders: z.array(z.string()),
});

export const immuneFailures = defineTool({
  name: 'immune_failures',
  title: 'Failure patterns',
  description: 'Remembered failure patterns (secrets redacted) with recent example failures.',
  set: 'extra',
  inputSchema: z.object({
    pattern_id: z.string().min(1).max(100).optional(),
    limit: z.number().int().min(1).max(100).default(10),
  }),
  outputSchema: z.object({ patterns: z.array(patternViewSchema.extend({ examples: z.array(exampleSchema) })) }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const views = services.immuneReports.patterns(args.limit, args.pattern_id);
    if (args.pattern_id && views.length === 0) throw new NotFoundError(`no failure pattern ${args.pattern_id}; call immune_failures without pattern_id to list them`);
    const perPattern = args.pattern_id ? args.limit : 3;
    const patterns = views.map((p) => ({
      ...p,
      examples: services.immune.store.failures(p.id, perPattern).map((f) => {
        let failed: string[] = [];
        try {
          failed = (JSON.parse(f.grader_results) as Array<{ type: string; pass: boolean | null }>).filter((g) => g.pass === false).map((g) => g.type);
        } catch {
          failed = [];
        }
        return {
          trial_id: f.trial_id,
          at: new Date(f.at_ms).toISOString(),
          status: f.status,
          model: f.model,
          prompt: f.prompt.slice(0, 2000),
          output: f.output === null ? null : f.output.slice(0, 1000),
          finish_reason: f.finish_reason,
          error_code: f.error_code,
          failed_graders: failed,
        };
      }),
    }));
    const text = patterns.length === 0
      ? 'No failures remembered yet.'
      : patterns.map((p) => `${p.id} ${p.failure_class} ×${p.count}, last ${p.last_seen}: ${p.example.slice(0, 100)}`).join('\n');
    return { structured: { patterns }, text };
  },
});
