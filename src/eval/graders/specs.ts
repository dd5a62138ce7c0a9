import { z } from 'zod';
import { errorMessage, InvalidInputError } from '../../errors.js';
import { JsonSchemaCache } from './jsonSchemaCache.js';
import { checkRegexPattern } from './linearRegex.js';

export const CODE_GRADER_TYPES = ['non_empty', 'json_valid', 'json_schema', 'regex', 'length', 'contains', 'not_contains'] as const;
export const MODEL_GRADER_TYPES = ['relevance', 'completeness', 'accuracy', 'format', 'code_quality', 'safety', 'performance'] as const;
export type CodeGraderType = (typeof CODE_GRADER_TYPES)[number];
export type ModelGraderType = (typeof MODEL_GRADER_TYPES)[number];
export type GraderType = CodeGraderType | ModelGraderType;

export const DEFAULT_JUDGE_THRESHOLD = 0.7;
export const MAX_GRADERS = 20;

/**
 * Grader specs as accepted by spawn_agent. Strict: a misspelt parameter ("treshold") is an
 * error naming it, never a silent default. tools/list shows graders in short ({type, ...}, see
 * spawnSchema.ts); this union checks them in full, and its messages are what a caller reads.
 */
const common = {
  required: z.boolean().default(true),
  weight: z.number().positive().max(100).default(1),
};

export const simpleGraderSpecSchema = z.strictObject({
  type: z.enum(['non_empty', 'json_valid']),
  ...common,
});

export const jsonSchemaGraderSpecSchema = z.strictObject({
  type: z.literal('json_schema'),
  schema: z.record(z.string(), z.unknown()).describe('JSON Schema the output must match'),
  ...common,
});

export const regexGraderSpecSchema = z
  .strictObject({
    type: z.literal('regex'),
    pattern: z.string().min(1).max(1000).describe('JavaScript regex; passes on a match'),
    flags: z.string().max(4).optional().describe('Any of i, m, s, u'),
    ...common,
  })
  .superRefine((spec, ctx) => {
    const problem = checkRegexPattern(spec.pattern, spec.flags ?? '');
    if (problem) ctx.addIssue({ code: 'custom', path: ['pattern'], message: problem });
  });

export const lengthGraderSpecSchema = z
  .strictObject({
    type: z.literal('length'),
    unit: z.enum(['chars', 'words', 'lines']).default('chars'),
    min: z.number().int().min(0).max(100_000_000).optional(),
    max: z.number().int().min(0).max(100_000_000).optional(),
    ...common,
  })
  .superRefine((spec, ctx) => {
    if (spec.min === undefined && spec.max === undefined) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'length grader needs min, max or both' });
    } else if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `max (${spec.max}) is below min (${spec.min})` });
    }
  });

export const containsGraderSpecSchema = z.strictObject({
  type: z.enum(['contains', 'not_contains']),
  values: z.array(z.string().min(1).max(1000)).min(1).max(50),
  mode: z.enum(['all', 'any']).default('all').describe('all: every value; any: at least one'),
  case_sensitive: z.boolean().default(false),
  ...common,
});

export const modelGraderSpecSchema = z.strictObject({
  type: z.enum(MODEL_GRADER_TYPES).describe('LLM judge'),
  threshold: z.number().min(0).max(1).default(DEFAULT_JUDGE_THRESHOLD).describe('Pass when judge score >= this'),
  model: z.string().min(1).max(100).optional().describe('Judge model override'),
  criteria: z.string().min(1).max(2000).optional().describe('Extra rubric for the judge'),
  ...common,
});

export const graderSpecSchema = z.discriminatedUnion('type', [
  simpleGraderSpecSchema,
  jsonSchemaGraderSpecSchema,
  regexGraderSpecSchema,
  lengthGraderSpecSchema,
  containsGraderSpecSchema,
  modelGraderSpecSchema,
]);

/** What spawn_agent takes as `graders`. */
export const graderSpecsSchema = z.array(graderSpecSchema).min(1).max(MAX_GRADERS);

export type GraderSpec = z.output<typeof graderSpecSchema>;
export type GraderSpecInput = z.input<typeof graderSpecSchema>;
export type SimpleGraderSpec = z.output<typeof simpleGraderSpecSchema>;
export type JsonSchemaGraderSpec = z.output<typeof jsonSchemaGraderSpecSchema>;
export type RegexGraderSpec = z.output<typeof regexGraderSpecSchema>;
export type LengthGraderSpec = z.output<typeof lengthGraderSpecSchema>;
export type ContainsGraderSpec = z.output<typeof containsGraderSpecSchema>;
export type ModelGraderSpec = z.output<typeof modelGraderSpecSchema>;

/** The spec type for one grader type id (works for members that share a spec shape). */
export type SpecFor<K extends GraderType> = GraderSpec extends infer S
  ? S extends { type: infer T }
    ? K extends T
      ? S
      : never
    : never
  : never;

export function isModelGraderSpec(spec: GraderSpec): spec is ModelGraderSpec {
  return (MODEL_GRADER_TYPES as readonly string[]).includes(spec.type);
}

/**
 * Parses specs (applying defaults) and compiles every json_schema (warming `schemas`, a fresh
 * cache when absent), so a bad grader is refused before any money is spent. Throws
 * InvalidInputError naming the first problem, e.g. "graders.1.pattern: ...".
 */
export function parseGraderSpecs(input: unknown, schemas?: JsonSchemaCache): GraderSpec[] {
  const parsed = graderSpecsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `graders.${issue.path.join('.')}` : 'graders';
    throw new InvalidInputError(`${where}: ${issue.message}`);
  }
  let cache = schemas;
  parsed.data.forEach((spec, i) => {
    if (spec.type !== 'json_schema') return;
    cache ??= new JsonSchemaCache();
    try {
      cache.compile(spec.schema);
    } catch (err) {
      throw new InvalidInputError(`graders.${i}.schema: ${errorMessage(err)}`);
    }
  });
  return parsed.data;
}
