import { z } from 'zod';
import { boundText } from '../../eval/boundText.js';
import { TRIAL_STATUSES } from '../../eval/trialStore.js';
import { finishNote } from '../../agents/finishReason.js';
import { graderResultSchema } from '../../agents/spawnSchema.js';
import { defineTool } from '../types.js';

export const trialsGet = defineTool({
  name: 'trials_get',
  title: 'Get a trial',
  description: 'One trial in full: prompt, output, grader results, tokens, cost, error.',
  set: 'extra',
  inputSchema: z.object({
    id: z.string().min(1).max(100),
    max_chars: z.number().int().min(100).max(1_000_000).default(20_000).describe('Cut prompt/output longer than this'),
  }),
  outputSchema: z.object({
    id: z.string(),
    status: z.enum(TRIAL_STATUSES),
    prompt: z.string(),
    system: z.string().nullable(),
    output: z.string().nullable(),
    truncated: z.boolean(),
    parsed_json: z.unknown().optional(),
    finish_reason: z.string().nullable(),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    model_reason: z.string().nullable(),
    input_tokens: z.number().int(),
    output_tokens: z.number().int(),
    cost_usd: z.number(),
    latency_ms: z.number().nullable(),
    attempts: z.number().int(),
    score: z.number().nullable(),
    grading_incomplete: z.boolean(),
    grader_results: z.array(graderResultSchema).nullable(),
    error_code: z.string().nullable(),
    error_message: z.string().nullable(),
    task_id: z.number().nullable(),
    tags: z.array(z.string()),
    parent_run_id: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services) {
    const t = services.trials.get(args.id);
    const prompt = boundText(t.prompt, args.max_chars);
    const system = t.system === null ? null : boundText(t.system, args.max_chars);
    const output = t.output === null ? null : boundText(t.output, args.max_chars);
    const truncated = prompt.truncated || Boolean(system?.truncated) || Boolean(output?.truncated);
    const structured = {
      id: t.id,
      status: t.status,
      prompt: prompt.text,
      system: system?.text ?? null,
      output: output?.text ?? null,
      truncated,
      ...(t.parsed_json !== null && !truncated && { parsed_json: t.parsed_json }),
      finish_reason: t.finish_reason,
      provider: t.provider,
      model: t.model,
      model_reason: t.model_reason,
      input_tokens: t.input_tokens,
      output_tokens: t.output_tokens,
      cost_usd: t.cost_usd,
      latency_ms: t.latency_ms,
      attempts: t.attempts,
      score: t.score,
      grading_incomplete: t.grading_incomplete,
      grader_results:
        t.grader_results?.map((g) => ({ type: g.type, pass: g.pass, score: g.score, reason: g.reason, status: g.status, required: g.required })) ?? null,
      error_code: t.error_code,
      error_message: t.error_message,
      task_id: t.task_id,
      tags: t.tags,
      parent_run_id: t.parent_run_id,
      created_at: t.created_at,
      updated_at: t.updated_at,
    };
    const lines = [
      `${t.id} [${t.status}] ${t.model ?? '(no model)'} — $${t.cost_usd.toFixed(4)}, ${t.latency_ms ?? '?'} ms, ${t.input_tokens}/${t.output_tokens} tokens`,
    ];
    if (t.error_code) lines.push(`error ${t.error_code}: ${t.error_message ?? ''}`);
    const note = finishNote(t.finish_reason);
    if (note) lines.push(`finish ${t.finish_reason}: ${note}`);
    for (const g of structured.grader_results ?? []) {
      lines.push(`- ${g.type}: ${g.status === 'graded' ? (g.pass ? 'pass' : 'FAIL') : 'could not grade'} — ${g.reason}`);
    }
    if (output) lines.push('', output.text);
    return { structured, text: lines.join('\n') };
  },
});
