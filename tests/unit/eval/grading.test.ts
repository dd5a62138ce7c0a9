import { describe, expect, it } from 'vitest';
import { defaultGraderSpecs, gradeOutput, summarise } from '../../../src/eval/grading.js';
import { JsonSchemaCache } from '../../../src/eval/graders/jsonSchemaCache.js';
import { parseGraderSpecs } from '../../../src/eval/graders/specs.js';
import type { GraderResult } from '../../../src/eval/graders/types.js';

const ctx = { prompt: 'task' };

describe('defaultGraderSpecs', () => {
  it('is non_empty alone without a response schema', () => {
    expect(defaultGraderSpecs({})).toEqual([{ type: 'non_empty', required: true, weight: 1 }]);
  });
  it('adds json_schema with the requested response schema', () => {
    const schema = { type: 'object', required: ['a'] };
    expect(defaultGraderSpecs({ responseSchema: schema })).toEqual([
      { type: 'non_empty', required: true, weight: 1 },
      { type: 'json_schema', schema, required: true, weight: 1 },
    ]);
  });
});

describe('gradeOutput', () => {
  it('uses the defaults when no graders are given', async () => {
    const schema = { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] };
    const ok = await gradeOutput(undefined, '```json\n{"a": 1}\n```', { ...ctx, responseSchema: schema });
    expect(ok.results.map((r) => r.type)).toEqual(['non_empty', 'json_schema']);
    expect(ok).toMatchObject({ passed: true, score: 1, incomplete: false, costUsd: 0 });
    const bad = await gradeOutput([], '{"a": "x"}', { ...ctx, responseSchema: schema });
    expect(bad).toMatchObject({ passed: false, score: 0.5 });
    expect(bad.summary).toBe('failed: 1/2 graders passed, score 0.5; failed: json_schema');
  });

  it('keeps results in spec order', async () => {
    const specs = parseGraderSpecs([{ type: 'length', max: 100 }, { type: 'non_empty' }, { type: 'regex', pattern: 'x' }]);
    const outcome = await gradeOutput(specs, 'x', ctx);
    expect(outcome.results.map((r) => r.type)).toEqual(['length', 'non_empty', 'regex']);
  });

  it.each([
    ['all required pass', [{ type: 'non_empty' }, { type: 'contains', values: ['ok'] }], 'ok', true, 1],
    ['a required grader fails', [{ type: 'non_empty' }, { type: 'contains', values: ['nope'] }], 'ok', false, 0.5],
    ['an optional grader failing does not fail the trial', [{ type: 'non_empty' }, { type: 'contains', values: ['nope'], required: false }], 'ok', true, 0.5],
    ['weights shape the score', [{ type: 'non_empty', weight: 3 }, { type: 'contains', values: ['nope'], required: false }], 'ok', true, 0.75],
    ['partial scores count', [{ type: 'contains', values: ['a', 'b', 'c', 'd'], required: false }], 'a b c', true, 0.75],
  ])('%s', async (_name, input, output, passed, score) => {
    const outcome = await gradeOutput(parseGraderSpecs(input), output, ctx);
    expect(outcome.passed).toBe(passed);
    expect(outcome.score).toBeCloseTo(score, 6);
  });

  it('applies pass_threshold to the weighted score', async () => {
    const specs = parseGraderSpecs([{ type: 'non_empty' }, { type: 'contains', values: ['a', 'b'], required: false }]);
    expect((await gradeOutput(specs, 'a', ctx, undefined, { passThreshold: 0.8 })).passed).toBe(false);
    expect((await gradeOutput(specs, 'a', ctx, undefined, { passThreshold: 0.75 })).passed).toBe(true);
    const below = await gradeOutput(specs, 'a', ctx, undefined, { passThreshold: 0.9 });
    expect(below.summary).toContain('(below pass_threshold 0.9)');
  });

  it('uses a shared schema cache when the context has one', async () => {
    const schemas = new JsonSchemaCache();
    const specs = parseGraderSpecs([{ type: 'json_schema', schema: { type: 'array' } }]);
    await gradeOutput(specs, '[]', { ...ctx, schemas });
    await gradeOutput(specs, '[]', { ...ctx, schemas });
    expect(schemas.size).toBe(1);
  });

  it('grades nasty outputs without throwing', async () => {
    const specs = parseGraderSpecs([
      { type: 'non_empty' },
      { type: 'json_valid' },
      { type: 'json_schema', schema: { type: 'object' } },
      { type: 'regex', pattern: '^\\s*\\{' },
      { type: 'length', unit: 'words', max: 10 },
      { type: 'contains', values: ['名前'] },
      { type: 'not_contains', values: ['TODO'] },
    ]);
    for (const output of ['', '   ', 'x'.repeat(1024 * 1024), '{"a":', '```json\n{"名前": 1}\n```', '\u0000\ud800']) {
      const outcome = await gradeOutput(specs, output, ctx);
      expect(outcome.results).toHaveLength(7);
      expect(outcome.results.every((r) => r.status === 'graded')).toBe(true);
    }
  });
});

describe('summarise', () => {
  const r = (over: Partial<GraderResult>): GraderResult => ({
    type: 'x',
    pass: true,
    score: 1,
    reason: '',
    status: 'graded',
    required: true,
    weight: 1,
    ...over,
  });
  it('passes with incomplete when every required grader could not grade', () => {
    const outcome = summarise([r({ type: 'relevance', status: 'could_not_grade', pass: null, score: null })]);
    expect(outcome).toMatchObject({ passed: true, incomplete: true, score: null });
  });
  it('an optional grader that could not grade does not make the outcome incomplete', () => {
    const outcome = summarise([r({}), r({ status: 'could_not_grade', pass: null, score: null, required: false })]);
    expect(outcome).toMatchObject({ passed: true, incomplete: false, score: 1 });
  });
  it('sums judge costs', () => {
    expect(summarise([r({ costUsd: 0.25 }), r({ costUsd: 0.5 }), r({})]).costUsd).toBe(0.75);
  });
});
