/**
 * Learned instructions: what to tell the model so a call like one that failed does not fail the
 * same way. One per grader type (derived from the spec the call will be graded by), plus hints for
 * how an answer ended (cut off, filtered) and for errors a shorter answer avoids (timeouts).
 */
export type GraderSpecLike = { type: string } & Record<string, unknown>;

const MODEL_GRADER_FOCUS: Record<string, string> = {
  relevance: 'stay on the task asked and answer it directly',
  completeness: 'cover every part of the request; leave nothing out',
  accuracy: 'be factually correct; state only what you can support',
  format: 'follow the requested format exactly',
  code_quality: 'write correct, idiomatic, readable code with error handling',
  safety: 'avoid harmful, unsafe or disallowed content',
  performance: 'prefer efficient algorithms and say their cost',
};

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const quoteList = (values: unknown) => (Array.isArray(values) ? values.map((v) => JSON.stringify(String(v))).join(', ') : '');

/** The instruction that answers a failed grader of this spec; undefined when none can help. */
export function instructionForGrader(spec: GraderSpecLike, judgeReason?: string): string | undefined {
  switch (spec.type) {
    case 'non_empty':
      return 'Always give a non-empty answer; if you cannot do the task, say why in one sentence.';
    case 'json_valid':
      return 'Answer with JSON only: one valid JSON value, no prose before or after it, no Markdown fences.';
    case 'json_schema':
      return `Answer with JSON only (no prose, no Markdown fences) that matches this JSON Schema exactly, with every required field and the right types: ${clip(JSON.stringify(spec.schema ?? {}), 1500)}`;
    case 'regex':
      return `Your answer must match the regular expression /${String(spec.pattern ?? '')}/${typeof spec.flags === 'string' ? spec.flags : ''}.`;
    case 'length': {
      const unit = typeof spec.unit === 'string' ? spec.unit : 'chars';
      const noun = unit === 'chars' ? 'characters' : unit;
      const min = typeof spec.min === 'number' ? spec.min : undefined;
      const max = typeof spec.max === 'number' ? spec.max : undefined;
      if (min !== undefined && max !== undefined) return `Keep your answer between ${min} and ${max} ${noun} long.`;
      if (max !== undefined) return `Keep your answer to at most ${max} ${noun}.`;
      if (min !== undefined) return `Make your answer at least ${min} ${noun} long.`;
      return undefined;
    }
    case 'contains':
      return spec.mode === 'any'
        ? `Your answer must include at least one of: ${quoteList(spec.values)}.`
        : `Your answer must include each of: ${quoteList(spec.values)}.`;
    case 'not_contains':
      return `Your answer must not include any of: ${quoteList(spec.values)}.`;
    default: {
      const focus = MODEL_GRADER_FOCUS[spec.type];
      if (focus === undefined) return undefined;
      const criteria = typeof spec.criteria === 'string' ? ` Criteria: ${clip(spec.criteria, 400)}` : '';
      const why = judgeReason ? ` A similar answer was judged short because: ${clip(judgeReason, 200)}` : '';
      return `Your answer will be judged on ${spec.type.replace('_', ' ')}: ${focus}.${criteria}${why}`;
    }
  }
}

/** A hint for how a similar answer ended; undefined for a normal stop. */
export function hintForFinishReason(finishReason: string | null | undefined, maxOutputTokens?: number): string | undefined {
  if (finishReason === 'length') {
    const budget = maxOutputTokens ? ` (about ${Math.floor(maxOutputTokens * 0.6)} tokens at most)` : '';
    return `Be concise: a similar answer was cut off at the output limit; keep the whole answer well under it${budget}.`;
  }
  if (finishReason === 'safety') return 'A similar request was stopped by the safety filter: keep the answer within content policy and leave out unsafe detail.';
  return undefined;
}

/** A hint for an error a differently shaped answer can avoid. */
export function hintForError(code: string | null | undefined): string | undefined {
  if (code === 'timeout') return 'Answer briefly and directly: a similar request timed out.';
  return undefined;
}
