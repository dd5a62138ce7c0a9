import { TRIAL_RECORD_FORMAT, TRIAL_RECORD_FORMAT_V1 } from '../eval/export.js';
import type { PreCallInput } from './features.js';

/**
 * Reads exported trial records (format 2, and format 1 for files written before it) into what
 * training needs: the pre-call input (the only thing features see) and the label. Outcome fields
 * are read for the label alone and never copied into the input.
 */

export interface LabelledRow {
  input: PreCallInput;
  /** 1 = the call failed (graders failed, or it errored for a reason the prompt could cause). */
  label: 0 | 1;
  createdAtMs: number;
  /** 1-based line in the source file. */
  line: number;
}

/** Error codes that say nothing about the prompt: the call was refused or stopped, not failed. */
const NOT_A_PROMPT_FAILURE = new Set(['cancelled', 'budget_exceeded', 'invalid_input', 'not_configured', 'circuit_open', 'quota_exhausted']);

export type ParsedLine =
  | { kind: 'row'; row: LabelledRow }
  /** A valid record that has no label (still running, cancelled, refused before the call). */
  | { kind: 'unlabelled'; input: PreCallInput }
  | { kind: 'bad'; reason: string };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Parses one JSONL line of the records export. */
export function parseRecordLine(text: string, line: number): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'bad', reason: 'not JSON' };
  }
  if (!isObject(value)) return { kind: 'bad', reason: 'not a JSON object' };
  const createdAtMs = typeof value.created_at === 'string' ? Date.parse(value.created_at) : Number.NaN;
  if (!Number.isFinite(createdAtMs)) return { kind: 'bad', reason: 'created_at is missing or not a date' };
  let sections: { input: Json; status: unknown; errorCode: string | null } | { bad: string };
  if (value.format === TRIAL_RECORD_FORMAT) sections = v2Sections(value);
  else if (value.format === TRIAL_RECORD_FORMAT_V1) sections = v1Sections(value);
  else return { kind: 'bad', reason: `format must be ${TRIAL_RECORD_FORMAT} or ${TRIAL_RECORD_FORMAT_V1} (got ${JSON.stringify(value.format ?? null)})` };
  if ('bad' in sections) return { kind: 'bad', reason: sections.bad };
  const input = toPreCallInput(sections.input);
  if (typeof input === 'string') return { kind: 'bad', reason: input };
  const label = labelOf(sections.status, sections.errorCode);
  if (label === undefined) return { kind: 'unlabelled', input: { ...input, createdAtMs } };
  return { kind: 'row', row: { input: { ...input, createdAtMs }, label, createdAtMs, line } };
}

function v2Sections(value: Json): { input: Json; status: unknown; errorCode: string | null } | { bad: string } {
  if (!isObject(value.input)) return { bad: 'input section is missing' };
  if (!isObject(value.outcome)) return { bad: 'outcome section is missing' };
  const error = value.outcome.error;
  return { input: value.input, status: value.outcome.status, errorCode: isObject(error) ? str(error.code) : null };
}

/** Format 1 is flat: take the pre-call fields by name; graders from the grading results. */
function v1Sections(value: Json): { input: Json; status: unknown; errorCode: string | null } | { bad: string } {
  const grading = value.grading;
  const results = isObject(grading) && Array.isArray(grading.results) ? grading.results : null;
  const input: Json = {
    provider: value.provider,
    model: value.model,
    tags: value.tags,
    prompt: value.prompt,
    system: value.system,
    response_schema: value.response_schema,
    graders: results === null ? null : results.filter(isObject).map((r) => ({ type: r.type, required: r.required !== false })),
  };
  const error = value.error;
  return { input, status: value.status, errorCode: isObject(error) ? str(error.code) : null };
}

function toPreCallInput(input: Json): PreCallInput | string {
  const prompt = input.prompt;
  if (typeof prompt !== 'string') return 'input.prompt must be a string';
  const graders = input.graders;
  let parsedGraders: Array<{ type: string; required: boolean }> | null = null;
  if (Array.isArray(graders)) {
    parsedGraders = [];
    for (const g of graders) {
      if (!isObject(g) || typeof g.type !== 'string') return 'input.graders must be a list of {type, required}';
      parsedGraders.push({ type: g.type, required: g.required !== false });
    }
  } else if (graders !== null && graders !== undefined) return 'input.graders must be a list or null';
  const schema = input.response_schema;
  return {
    operation: 'agent',
    prompt,
    system: str(input.system),
    provider: str(input.provider),
    model: str(input.model),
    responseSchema: isObject(schema) ? schema : null,
    graders: parsedGraders,
    tags: Array.isArray(input.tags) ? input.tags.filter((t): t is string => typeof t === 'string') : [],
  };
}

function labelOf(status: unknown, errorCode: string | null): 0 | 1 | undefined {
  if (status === 'passed') return 0;
  if (status === 'failed') return 1;
  if (status === 'errored') return errorCode !== null && NOT_A_PROMPT_FAILURE.has(errorCode) ? undefined : 1;
  return undefined;
}
