import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '../../../src/errors.js';
import { dropLeadingDotStar } from '../../../src/eval/graders/codeGraders.js';
import { JsonSchemaCache } from '../../../src/eval/graders/jsonSchemaCache.js';
import { checkRegexPattern, findNestedQuantifier } from '../../../src/eval/graders/regexSafety.js';
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
    ['invalid regex', [{ type: 'regex', pattern: '(' }], /graders\.0\.pattern: pattern is not a valid JavaScript regular expression/],
    ['stateful flag', [{ type: 'regex', pattern: 'a', flags: 'g' }], /graders\.0\.pattern: flags "g" are not allowed/],
    ['catastrophic regex', [{ type: 'non_empty' }, { type: 'regex', pattern: '^(\\w+\\s?)*$' }], /graders\.1\.pattern: .*backtrack catastrophically/],
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

  it('keeps the JSON Schema shown to the host model compact', () => {
    const text = JSON.stringify(z.toJSONSchema(graderSpecsSchema, { io: 'input' }));
    expect(text.length).toBeLessThan(2800);
  });
});

describe('regex safety', () => {
  it.each([
    ['(a+)+', true],
    ['^(\\w+\\s?)*$', true],
    ['(a*)*', true],
    ['(?:x|y+)+z', true],
    ['((ab)+c)*', true],
    ['(a{2,})+', true],
    ['(a+){2,}', true],
    ['(\\d+\\.){3}\\d+', false],
    ['(ab)+', false],
    ['\\(a+\\)+', false],
    ['[(a+)]+', false],
    ['(?:foo)?bar+', false],
    ['(a+)?', false],
    ['(a|b)*c', false],
    ['.*DONE', false],
  ])('%s nested=%s', (pattern, nested) => {
    expect(findNestedQuantifier(pattern) !== undefined).toBe(nested);
  });

  it('accepts a normal pattern and rejects an over-long one', () => {
    expect(checkRegexPattern('^\\d{3}-\\d{4}$', 'i')).toBeUndefined();
    expect(checkRegexPattern('a'.repeat(1001))).toMatch(/longer than 1000/);
    expect(checkRegexPattern('a', 'ii')).toMatch(/not allowed/);
  });

  it.each([
    ['.*DONE', 'DONE'],
    ['.*?.*DONE', 'DONE'],
    ['[\\s\\S]*x', 'x'],
    ['^.*x', '^.*x'],
    ['a.*b', 'a.*b'],
    ['\\.*x', '\\.*x'],
  ])('dropLeadingDotStar(%s) = %s', (pattern, expected) => {
    expect(dropLeadingDotStar(pattern)).toBe(expected);
  });
});
