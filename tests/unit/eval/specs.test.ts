import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '../../../src/errors.js';
import { JsonSchemaCache } from '../../../src/eval/graders/jsonSchemaCache.js';
import { checkRegexPattern, compileLinearRegex } from '../../../src/eval/graders/linearRegex.js';
import { graderSpecsSchema, parseGraderSpecs } from '../../../src/eval/graders/specs.js';

describe('parseGraderSpecs', () => {
  it('applies defaults', () => {
    expect(
      parseGraderSpecs([
        { type: 'non_empty' },
        { type: 'length', max: 10 },
        { type: 'contains', values: ['a'] },
        { type: 'relevance' },
      ]),
    ).toEqual([
      { type: 'non_empty', required: true, weight: 1 },
      { type: 'length', unit: 'chars', max: 10, required: true, weight: 1 },
      { type: 'contains', values: ['a'], mode: 'all', case_sensitive: false, required: true, weight: 1 },
      { type: 'relevance', threshold: 0.7, required: true, weight: 1 },
    ]);
  });

  it.each([
    ['unknown type', [{ type: 'vibes' }], /graders\.0\.type: Invalid discriminator/],
    ['empty list', [], /graders: /],
    ['too many', Array.from({ length: 21 }, () => ({ type: 'non_empty' })), /graders: /],
    ['contains without values', [{ type: 'contains', values: [] }], /graders\.0\.values/],
    ['contains with 51 values', [{ type: 'contains', values: Array.from({ length: 51 }, (_, i) => `v${i}`) }], /graders\.0\.values/],
    ['length without bounds', [{ type: 'length' }], /graders\.0\.min: length grader needs min, max or both/],
    ['length min > max', [{ type: 'length', min: 5, max: 2 }], /graders\.0\.max: max \(2\) is below min \(5\)/],
    ['threshold above 1', [{ type: 'accuracy', threshold: 1.5 }], /graders\.0\.threshold/],
    ['negative weight', [{ type: 'non_empty', weight: -1 }], /graders\.0\.weight/],
    ['invalid regex', [{ type: 'regex', pattern: '(' }], /graders\.0\.pattern: pattern is not valid RE2 syntax/],
    ['stateful flag', [{ type: 'regex', pattern: 'a', flags: 'g' }], /graders\.0\.pattern: flags "g" are not allowed/],
    ['lookahead (not in RE2)', [{ type: 'non_empty' }, { type: 'regex', pattern: 'a(?=b)' }], /graders\.1\.pattern: pattern is not valid RE2 syntax/],
    ['invalid JSON schema', [{ type: 'json_schema', schema: { type: 'strnig' } }], /graders\.0\.schema: json_schema grader: the schema is not a valid JSON Schema/],
    ['unresolvable $ref', [{ type: 'json_schema', schema: { $ref: '#/definitions/nope' } }], /graders\.0\.schema: .*not a valid JSON Schema/],
  ])('rejects %s with an InvalidInputError naming the grader', (_name, input, message) => {
    const attempt = () => parseGraderSpecs(input);
    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow(message);
  });

  it('warms the shared schema cache', () => {
    const schemas = new JsonSchemaCache();
    parseGraderSpecs([{ type: 'json_schema', schema: { type: 'object' } }], schemas);
    expect(schemas.size).toBe(1);
  });

  it('keeps the full JSON Schema compact, should a client ever be shown it', () => {
    // tools/list shows graders in short (spawnSchema.ts); strict objects add additionalProperties.
    const text = JSON.stringify(z.toJSONSchema(graderSpecsSchema, { io: 'input' }));
    expect(text.length).toBeLessThan(3000);
  });
});

describe('regex safety', () => {
  // Shapes that take exponential time on a backtracking engine; each used to freeze the server.
  it.each([
    ['^(a|a)*$', 'a'.repeat(40_000) + 'b'],
    ['^(a+)+$', 'a'.repeat(40_000) + 'b'],
    ['^(\\w|\\d)+$', '1'.repeat(40_000) + '!'],
    ['(.*a){12}$', 'a'.repeat(40_000) + 'b'],
    ['a*a*a*a*a*a*b', 'a'.repeat(40_000)],
  ])('%s is accepted and runs in linear time', { timeout: 10_000 }, (pattern, text) => {
    // Hang guard = the test timeout (a backtracking engine never finishes these), not a wall clock.
    expect(checkRegexPattern(pattern)).toBeUndefined();
    expect(compileLinearRegex(pattern).test(text)).toBe(false);
  });

  it('accepts a normal pattern; refuses an over-long one, bad flags, and syntax RE2 lacks, saying why', () => {
    expect(checkRegexPattern('^\\d{3}-\\d{4}$', 'i')).toBeUndefined();
    expect(checkRegexPattern('a'.repeat(1001))).toMatch(/longer than 1000/);
    expect(checkRegexPattern('a', 'ii')).toMatch(/not allowed/);
    expect(checkRegexPattern('foo(?=bar)')).toMatch(/not valid RE2 syntax.*no lookaround or backreferences/);
    expect(checkRegexPattern('(')).toMatch(/missing closing \)/);
  });
});
