import { errorMessage } from '../../errors.js';
import { JsonSchemaCache } from './jsonSchemaCache.js';
import { parseRegex } from './linearRegex.js';
import type {
  CodeGraderType,
  ContainsGraderSpec,
  JsonSchemaGraderSpec,
  LengthGraderSpec,
  RegexGraderSpec,
  SimpleGraderSpec,
  SpecFor,
} from './specs.js';
import type { GraderContext, GraderResult, OutputMemo } from './types.js';

/**
 * Deterministic graders: pure, synchronous, no I/O. Each takes the output, its own spec and the
 * call's context, and never throws for any output (a bad spec is a could_not_grade result).
 */
export type CodeGrader<S> = (output: string, spec: S, ctx: GraderContext) => GraderResult;

function result(spec: { type: string; required: boolean; weight: number }, pass: boolean, score: number, reason: string): GraderResult {
  return { type: spec.type, pass, score, reason, status: 'graded', required: spec.required, weight: spec.weight };
}

export function couldNotGrade(spec: { type: string; required: boolean; weight: number }, reason: string): GraderResult {
  return { type: spec.type, pass: null, score: null, reason, status: 'could_not_grade', required: spec.required, weight: spec.weight };
}

const quote = (s: string, max = 60) => JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);

// ---------------------------------------------------------------------------------------------
// JSON parsing shared by json_valid / json_schema (and the trial store's parsed_json)

export type ParsedJsonOutput =
  | { ok: true; value: unknown; fenced: boolean }
  | { ok: false; error: string; fenced: boolean };

/**
 * If the whole output (ignoring surrounding whitespace) is one markdown code fence, returns its
 * body; otherwise undefined. Only one outer fence is stripped.
 */
export function stripCodeFence(output: string): string | undefined {
  const text = output.trim();
  if (text.length < 6 || !text.startsWith('```') || !text.endsWith('```')) return undefined;
  const firstNewline = text.indexOf('\n');
  if (firstNewline < 0) return undefined;
  const info = text.slice(3, firstNewline).trim();
  if (!/^[A-Za-z0-9_+.-]*$/.test(info)) return undefined;
  const bodyEnd = text.length - 3;
  if (bodyEnd < firstNewline + 1) return '';
  return text.slice(firstNewline + 1, bodyEnd);
}

/** Parses an output as JSON, accepting JSON wrapped in one ```json fence. */
export function parseJsonOutput(output: string): ParsedJsonOutput {
  const fencedBody = stripCodeFence(output);
  const text = fencedBody ?? output;
  const fenced = fencedBody !== undefined;
  if (text.trim() === '') return { ok: false, error: fenced ? 'the code fence is empty' : 'the output is empty', fenced };
  try {
    return { ok: true, value: JSON.parse(text) as unknown, fenced };
  } catch (err) {
    return { ok: false, error: errorMessage(err).slice(0, 200), fenced };
  }
}

/** A memo for one output; reuse it across the graders of that output. */
export function createOutputMemo(output: string): OutputMemo {
  return { output, values: new Map() };
}

/** Computes `key` for this output once per memo (no caching without a matching memo). */
function memoised<T>(ctx: GraderContext, output: string, key: string, compute: () => T): T {
  const memo = ctx.memo;
  if (!memo || memo.output !== output) return compute();
  if (memo.values.has(key)) return memo.values.get(key) as T;
  const value = compute();
  memo.values.set(key, value);
  return value;
}

const FENCE_NOTE = ' (inside a markdown code fence, which was stripped)';

// ---------------------------------------------------------------------------------------------
// The graders

export const nonEmptyGrader: CodeGrader<SimpleGraderSpec> = (output, spec) => {
  if (/\S/.test(output)) return result(spec, true, 1, `Output has ${output.length} characters.`);
  return result(spec, false, 0, output.length === 0 ? 'Output is empty.' : `Output is whitespace only (${output.length} characters).`);
};

export const jsonValidGrader: CodeGrader<SimpleGraderSpec> = (output, spec, ctx) => {
  const parsed = memoised(ctx, output, 'json', () => parseJsonOutput(output));
  if (parsed.ok) return result(spec, true, 1, `Output is valid JSON${parsed.fenced ? FENCE_NOTE : ''}.`);
  return result(spec, false, 0, `Output is not valid JSON${parsed.fenced ? FENCE_NOTE : ''}: ${parsed.error}`);
};

export const jsonSchemaGrader: CodeGrader<JsonSchemaGraderSpec> = (output, spec, ctx) => {
  const parsed = memoised(ctx, output, 'json', () => parseJsonOutput(output));
  const note = parsed.fenced ? FENCE_NOTE : '';
  if (!parsed.ok) return result(spec, false, 0, `Output is not valid JSON${note}: ${parsed.error}`);
  const schemas = ctx.schemas ?? new JsonSchemaCache();
  let check;
  try {
    check = schemas.check(spec.schema, parsed.value);
  } catch (err) {
    return couldNotGrade(spec, errorMessage(err));
  }
  if (check.valid) return result(spec, true, 1, `Output matches the JSON Schema${note}.`);
  const more = check.errorCount > check.errors.length ? ` (+${check.errorCount - check.errors.length} more)` : '';
  return result(spec, false, 0, `Output does not match the JSON Schema${note}: ${check.errors.join('; ')}${more}`);
};

/**
 * Regexes search at most this many characters (more than 65,536 output tokens). Matching is
 * linear (RE2, see linearRegex.ts): at worst ~130 ns per character, so this bounds a pathological
 * pattern to a few tens of ms. The reason says when the text was cut.
 */
export const REGEX_MAX_INPUT_CHARS = 300_000;
/** The match position is reported only up to here: re2js finds positions on a slow path. */
const REGEX_INDEX_MAX_CHARS = 2_000;

export const regexGrader: CodeGrader<RegexGraderSpec> = (output, spec) => {
  const flags = spec.flags ?? '';
  const parsed = parseRegex(spec.pattern, flags);
  if ('problem' in parsed) return couldNotGrade(spec, `regex grader: ${parsed.problem}.`);
  const re = parsed.regex;
  const bounded = output.length > REGEX_MAX_INPUT_CHARS;
  const text = bounded ? output.slice(0, REGEX_MAX_INPUT_CHARS) : output;
  const scope = bounded ? ` (searched the first ${REGEX_MAX_INPUT_CHARS} of ${output.length} characters)` : '';
  const shown = `/${spec.pattern.length > 80 ? `${spec.pattern.slice(0, 80)}…` : spec.pattern}/${flags}`;
  if (!re.test(text)) return result(spec, false, 0, `No match for ${shown}${scope}.`);
  const at = text.length <= REGEX_INDEX_MAX_CHARS ? ` at index ${re.search(text)}` : '';
  return result(spec, true, 1, `Matched ${shown}${at}${scope}.`);
};

export const lengthGrader: CodeGrader<LengthGraderSpec> = (output, spec) => {
  const count = measure(output, spec.unit);
  const { min, max } = spec;
  const bounds =
    min !== undefined && max !== undefined ? `${min}..${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
  if (min !== undefined && count < min) {
    return result(spec, false, min === 0 ? 0 : count / min, `Output has ${count} ${spec.unit}; expected ${bounds}.`);
  }
  if (max !== undefined && count > max) {
    return result(spec, false, count === 0 ? 0 : max / count, `Output has ${count} ${spec.unit}; expected ${bounds}.`);
  }
  return result(spec, true, 1, `Output has ${count} ${spec.unit} (expected ${bounds}).`);
};

/** contains: the output must contain the values (all, or any one). */
export const containsGrader: CodeGrader<ContainsGraderSpec> = (output, spec, ctx) => {
  const { found, missing } = findValues(output, spec, ctx);
  const total = spec.values.length;
  const cs = spec.case_sensitive ? ', case-sensitive' : '';
  if (spec.mode === 'any') {
    if (found.length > 0) return result(spec, true, 1, `Output contains ${listValues(found)}${cs}.`);
    return result(spec, false, 0, `Output contains none of ${listValues(missing)}${cs}.`);
  }
  if (missing.length === 0) return result(spec, true, 1, `Output contains all ${total} value(s)${cs}.`);
  return result(spec, false, found.length / total, `Output is missing ${missing.length} of ${total}: ${listValues(missing)}${cs}.`);
};

/** not_contains: the output must not contain the values (mode all: none may appear; any: not all of them). */
export const notContainsGrader: CodeGrader<ContainsGraderSpec> = (output, spec, ctx) => {
  const { found, missing } = findValues(output, spec, ctx);
  const total = spec.values.length;
  const cs = spec.case_sensitive ? ', case-sensitive' : '';
  if (spec.mode === 'any') {
    if (missing.length > 0) return result(spec, true, 1, `Output lacks ${listValues(missing)}${cs}.`);
    return result(spec, false, 0, `Output contains every one of ${listValues(found)}${cs}.`);
  }
  if (found.length === 0) return result(spec, true, 1, `Output contains none of the ${total} forbidden value(s)${cs}.`);
  return result(spec, false, missing.length / total, `Output contains forbidden ${listValues(found)}${cs}.`);
};

/** The code graders by type id. */
export const codeGraders = {
  non_empty: nonEmptyGrader,
  json_valid: jsonValidGrader,
  json_schema: jsonSchemaGrader,
  regex: regexGrader,
  length: lengthGrader,
  contains: containsGrader,
  not_contains: notContainsGrader,
} satisfies { [K in CodeGraderType]: CodeGrader<SpecFor<K>> };

// ---------------------------------------------------------------------------------------------
// Helpers

function findValues(output: string, spec: ContainsGraderSpec, ctx: GraderContext): { found: string[]; missing: string[] } {
  const haystack = memoised(ctx, output, spec.case_sensitive ? 'text' : 'text_lower', () => prepare(output, spec.case_sensitive));
  const found: string[] = [];
  const missing: string[] = [];
  for (const value of spec.values) {
    (haystack.includes(prepare(value, spec.case_sensitive)) ? found : missing).push(value);
  }
  return { found, missing };
}

/** NFC so a composed "é" matches a decomposed one; lower-cased unless case-sensitive. */
function prepare(text: string, caseSensitive: boolean): string {
  const normalised = isNfcStable(text) ? text : text.normalize('NFC');
  return caseSensitive ? normalised : normalised.toLowerCase();
}

/**
 * Text with no code unit at or above U+0300 (where combining marks and NFC singletons start)
 * is already NFC; checking is much cheaper than normalising.
 */
function isNfcStable(text: string): boolean {
  return !/[\u0300-\uffff]/.test(text);
}

function listValues(values: readonly string[], max = 5): string {
  const shown = values.slice(0, max).map((v) => quote(v, 40));
  return values.length > max ? `${shown.join(', ')} and ${values.length - max} more` : shown.join(', ');
}

/** Counts characters (Unicode code points), whitespace-separated words, or lines. */
export function measure(text: string, unit: 'chars' | 'words' | 'lines'): number {
  if (unit === 'chars') {
    let surrogatePairs = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          surrogatePairs++;
          i++;
        }
      }
    }
    return text.length - surrogatePairs;
  }
  if (unit === 'words') {
    let words = 0;
    let inWord = false;
    for (let i = 0; i < text.length; i++) {
      const space = isWhitespace(text.charCodeAt(i));
      if (!space && !inWord) words++;
      inWord = !space;
    }
    return words;
  }
  if (text.length === 0) return 0;
  let lines = 1;
  let from = 0;
  for (;;) {
    const nl = text.indexOf('\n', from);
    if (nl < 0) break;
    if (nl < text.length - 1) lines++;
    from = nl + 1;
  }
  return lines;
}

/** The same set as JavaScript's \s. */
function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}
