import { describe, expect, it } from 'vitest';
import { codeGraders, measure, parseJsonOutput, REGEX_MAX_INPUT_CHARS, stripCodeFence } from '../../../src/eval/graders/codeGraders.js';
import { JsonSchemaCache } from '../../../src/eval/graders/jsonSchemaCache.js';
import { parseGraderSpecs, type GraderSpec, type GraderSpecInput } from '../../../src/eval/graders/specs.js';
import type { GraderContext, GraderResult } from '../../../src/eval/graders/types.js';

const ctx: GraderContext = { prompt: 'task', schemas: new JsonSchemaCache() };
const ONE_MB = 'x'.repeat(1024 * 1024);

function spec(input: GraderSpecInput): GraderSpec {
  return parseGraderSpecs([input])[0]!;
}

/** Runs one code grader by its spec, the way gradeOutput does. */
function run(input: GraderSpecInput, output: string): GraderResult {
  const s = spec(input);
  const grader = codeGraders[s.type as keyof typeof codeGraders] as (o: string, s: GraderSpec, c: GraderContext) => GraderResult;
  return grader(output, s, ctx);
}

describe('non_empty', () => {
  it.each([
    ['empty', '', false, /empty/],
    ['spaces', '   ', false, /whitespace only \(3 characters\)/],
    ['newlines and tabs', '\n\t\r\n', false, /whitespace only/],
    ['unicode spaces (nbsp, ideographic, BOM)', '\u00a0\u3000\ufeff', false, /whitespace only/],
    ['one char', 'a', true, /1 characters/],
    ['emoji', '🙂', true, /characters/],
    ['zero-width space is content', '\u200b', true, /characters/],
    ['1 MB', ONE_MB, true, /1048576 characters/],
  ])('%s', (_name, output, pass, reason) => {
    const r = run({ type: 'non_empty' }, output);
    expect(r).toMatchObject({ type: 'non_empty', pass, score: pass ? 1 : 0, status: 'graded', required: true, weight: 1 });
    expect(r.reason).toMatch(reason);
  });
});

describe('json_valid', () => {
  it.each([
    ['object', '{"a":1}', true, /^Output is valid JSON\.$/],
    ['array with whitespace', '  [1, 2, 3]\n', true, /valid JSON/],
    ['scalar', '42', true, /valid JSON/],
    ['unicode', '{"name":"Zoë 🙂 名前"}', true, /valid JSON/],
    ['fenced json', '```json\n{"a": [1, 2]}\n```', true, /code fence, which was stripped/],
    ['fenced without language', '\n```\n{"a":1}\n```\n', true, /fence/],
    ['fenced JSON, uppercase tag and CRLF', '```JSON\r\n{"a":1}\r\n```', true, /fence/],
    ['empty', '', false, /the output is empty/],
    ['whitespace', '  \n ', false, /the output is empty/],
    ['empty fence', '```json\n```', false, /code fence is empty/],
    ['broken', '{"a":1,', false, /not valid JSON/],
    ['trailing comma', '{"a":1,}', false, /not valid JSON/],
    ['single quotes', "{'a':1}", false, /not valid JSON/],
    ['prose around JSON', 'Here you go: {"a":1}', false, /not valid JSON/],
    ['two fences are not one', '```json\n{"a":1}\n```\ntext\n```json\n{"b":2}\n```', false, /not valid JSON/],
    ['broken inside fence', '```json\n{"a":\n```', false, /not valid JSON \(inside a markdown code fence/],
    ['1 MB of junk', ONE_MB, false, /not valid JSON/],
  ])('%s', (_name, output, pass, reason) => {
    const r = run({ type: 'json_valid' }, output);
    expect(r.pass).toBe(pass);
    expect(r.status).toBe('graded');
    expect(r.reason).toMatch(reason);
  });

  it('accepts a 1 MB JSON document', () => {
    const big = JSON.stringify({ items: Array.from({ length: 40_000 }, (_, i) => ({ i, s: 'abcdefghij' })) });
    expect(big.length).toBeGreaterThan(1_000_000);
    expect(run({ type: 'json_valid' }, big).pass).toBe(true);
  });
});

describe('stripCodeFence / parseJsonOutput', () => {
  it('strips exactly one outer fence', () => {
    expect(stripCodeFence('```json\n{"a":1}\n```')).toBe('{"a":1}\n');
    expect(stripCodeFence('{"a":1}')).toBeUndefined();
    expect(stripCodeFence('```json {"a":1}```')).toBeUndefined();
    expect(stripCodeFence('```js on\n1\n```')).toBeUndefined();
  });
  it('parses fenced JSON and says so', () => {
    expect(parseJsonOutput('```json\n[1]\n```')).toEqual({ ok: true, value: [1], fenced: true });
    expect(parseJsonOutput('[1]')).toEqual({ ok: true, value: [1], fenced: false });
  });
});

describe('json_schema', () => {
  const person = {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 }, age: { type: 'integer', minimum: 0 }, email: { type: 'string', format: 'email' } },
    required: ['name', 'age'],
    additionalProperties: false,
  };
  it.each([
    ['valid', '{"name":"Ann","age":3}', true, /matches the JSON Schema\.$/],
    ['valid in fence', '```json\n{"name":"Ann","age":3}\n```', true, /matches the JSON Schema \(inside a markdown code fence/],
    ['unicode name', '{"name":"Zoë 名前","age":3}', true, /matches/],
    ['missing required', '{"name":"Ann"}', false, /must have required property 'age'/],
    ['wrong type', '{"name":"Ann","age":"3"}', false, /\/age must be integer/],
    ['extra property', '{"name":"Ann","age":3,"x":1}', false, /must NOT have additional properties \("x"\)/],
    ['bad format', '{"name":"Ann","age":3,"email":"not-an-email"}', false, /\/email must match format "email"/],
    ['not JSON', 'name: Ann', false, /not valid JSON/],
    ['empty', '', false, /not valid JSON: the output is empty/],
    ['array instead of object', '[]', false, /\(root\) must be object/],
  ])('%s', (_name, output, pass, reason) => {
    const r = run({ type: 'json_schema', schema: person }, output);
    expect(r.pass).toBe(pass);
    expect(r.status).toBe('graded');
    expect(r.reason).toMatch(reason);
  });

  it('lists at most five errors and counts the rest', () => {
    const schema = { type: 'object', properties: Object.fromEntries('abcdefg'.split('').map((k) => [k, { type: 'string' }])) };
    const r = run({ type: 'json_schema', schema }, JSON.stringify(Object.fromEntries('abcdefg'.split('').map((k) => [k, 1]))));
    expect(r.pass).toBe(false);
    expect(r.reason).toMatch(/\(\+2 more\)$/);
  });

  it('accepts ECMAScript \\u escapes in patterns, and says plainly when a pattern needs lookaround', () => {
    const han = { type: 'string', pattern: '^[\\u4e00-\\u9fa5]+$' };
    expect(run({ type: 'json_schema', schema: han }, '"中文"').pass).toBe(true);
    expect(run({ type: 'json_schema', schema: han }, '"abc"').pass).toBe(false);
    expect(run({ type: 'json_schema', schema: { type: 'string', pattern: '^\\u{1F600}$' } }, '"😀"').pass).toBe(true);
    expect(() => run({ type: 'json_schema', schema: { type: 'string', pattern: 'a(?=b)' } }, '"ab"')).toThrow(
      /has a pattern the linear-time regex engine \(RE2.*cannot run: no lookaround or backreferences/,
    );
  });

  it('keeps each schema pattern apart (one cache entry per pattern, not one for all)', () => {
    const schema = { type: 'object', properties: { a: { type: 'string', pattern: '^a+$' }, b: { type: 'string', pattern: '^b+$' } } };
    expect(run({ type: 'json_schema', schema }, '{"a":"aa","b":"bb"}').pass).toBe(true);
    expect(run({ type: 'json_schema', schema: { type: 'string', pattern: '^c+$' } }, '"cc"').pass).toBe(true);
  });

  // No wall-clock bound (it flakes on a loaded machine): a backtracking engine takes exponential
  // time on these inputs, so it never finishes and the test's own timeout is the hang guard.
  it('runs schema patterns in linear time: a catastrophic pattern cannot freeze the server', { timeout: 10_000 }, () => {
    const schema = { type: 'object', properties: { id: { type: 'string', pattern: '^(a|a)*$' } }, patternProperties: { '^(x+)+$': { type: 'number' } } };
    const r = run({ type: 'json_schema', schema }, JSON.stringify({ id: `${'a'.repeat(40_000)}b`, [`${'x'.repeat(40_000)}!`]: 'not checked' }));
    expect(r.pass).toBe(false);
    expect(r.reason).toMatch(/must match pattern/);
    expect(run({ type: 'json_schema', schema }, JSON.stringify({ id: 'aaa' })).pass).toBe(true);
  });

  it('understands draft 2020-12 schemas (e.g. from zod) and Gemini-only keywords', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { tuple: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }] } },
      propertyOrdering: ['tuple'],
    };
    expect(run({ type: 'json_schema', schema }, '{"tuple":[1,"a"]}').pass).toBe(true);
    expect(run({ type: 'json_schema', schema }, '{"tuple":["a",1]}').pass).toBe(false);
  });

  it('compiles each distinct schema once', () => {
    const schemas = new JsonSchemaCache();
    const s = spec({ type: 'json_schema', schema: { type: 'number' } });
    for (let i = 0; i < 5; i++) codeGraders.json_schema('1', s as never, { prompt: '', schemas });
    expect(schemas.size).toBe(1);
    expect(schemas.compile({ type: 'number' })).toBe(schemas.compile({ type: 'number' }));
  });

  it('evicts the least recently used schema beyond its bound', () => {
    const schemas = new JsonSchemaCache({ maxEntries: 2 });
    const a = schemas.compile({ type: 'number' });
    schemas.compile({ type: 'string' });
    schemas.compile({ type: 'number' });
    schemas.compile({ type: 'boolean' });
    expect(schemas.size).toBe(2);
    expect(schemas.compile({ type: 'number' })).toBe(a);
  });

  it('reports an invalid schema as could_not_grade, not as a failed output', () => {
    const bad = { type: 'json_schema' as const, schema: { type: 'strnig' }, required: true, weight: 1 };
    const r = codeGraders.json_schema('"x"', bad, ctx);
    expect(r).toMatchObject({ status: 'could_not_grade', pass: null, score: null });
    expect(r.reason).toMatch(/not a valid JSON Schema/);
  });
});

describe('regex', () => {
  it.each([
    ['simple match', { pattern: 'DONE' }, 'all DONE now', true, /Matched \/DONE\/ at index 4/],
    ['no match', { pattern: 'DONE' }, 'all done now', false, /No match for \/DONE\//],
    ['case-insensitive flag', { pattern: 'DONE', flags: 'i' }, 'all done now', true, /Matched/],
    ['multiline anchors', { pattern: '^b$', flags: 'm' }, 'a\nb\nc', true, /Matched/],
    ['unicode flag', { pattern: '^\\p{L}+$', flags: 'u' }, 'Zoë', true, /Matched/],
    ['emoji', { pattern: '🙂' }, 'hi 🙂', true, /Matched/],
    ['empty output', { pattern: '.' }, '', false, /No match/],
    ['leading .* is harmless', { pattern: '.*DONE' }, 'x DONE', true, /Matched/],
    ['leading .* still requires the rest', { pattern: '.*DONE' }, 'x done', false, /No match/],
  ])('%s', (_name, s, output, pass, reason) => {
    const r = run({ type: 'regex', ...s }, output);
    expect(r.pass).toBe(pass);
    expect(r.reason).toMatch(reason);
  });

  it('searches only the first REGEX_MAX_INPUT_CHARS of a huge output, and says so', () => {
    const output = `${'a'.repeat(REGEX_MAX_INPUT_CHARS)}NEEDLE`;
    const r = run({ type: 'regex', pattern: 'NEEDLE' }, output);
    expect(r.pass).toBe(false);
    expect(r.reason).toMatch(`searched the first ${REGEX_MAX_INPUT_CHARS} of ${output.length} characters`);
  });

  // The hang guard is the test timeout, not a wall-clock assertion (1 s flaked at 1.1-1.6 s on a
  // loaded machine). What "fast" rests on is asserted: the search stops at REGEX_MAX_INPUT_CHARS,
  // and on long texts the slow position-finding path is skipped (the reason has no index).
  it('stays fast on the longest output it searches, even with a large counted repeat', { timeout: 15_000 }, () => {
    const miss = run({ type: 'regex', pattern: '[ab]{0,900}[cd]' }, 'ab'.repeat(REGEX_MAX_INPUT_CHARS / 2));
    const hit = run({ type: 'regex', pattern: '[ab]{0,900}[cd]' }, `${'ab'.repeat(REGEX_MAX_INPUT_CHARS / 2 - 1)}c`);
    const beyond = run({ type: 'regex', pattern: '[ab]{0,900}[cd]' }, `${'ab'.repeat(REGEX_MAX_INPUT_CHARS / 2)}c`);
    expect(beyond.pass).toBe(false);
    expect(beyond.reason).toMatch(`searched the first ${REGEX_MAX_INPUT_CHARS} of ${REGEX_MAX_INPUT_CHARS + 1} characters`);
    expect(miss.pass).toBe(false);
    expect(hit.pass).toBe(true);
    expect(hit.reason).toMatch(/^Matched \/\[ab\]\{0,900\}\[cd\]\/\.$/); // no position on long texts (slow to find)
  });

  // A quadratic scan of the first 300k characters is ~4.5e10 steps: it cannot finish inside the
  // test timeout, which is the hang guard (no wall-clock assertion to flake on a loaded machine).
  it('finishes quickly on 1 MB with a leading .* (no quadratic scan)', { timeout: 10_000 }, () => {
    const r = run({ type: 'regex', pattern: '.*NOT_THERE' }, 'lorem ipsum '.repeat(90_000));
    expect(r.pass).toBe(false);
  });
});

describe('length', () => {
  it.each([
    ['chars within', { unit: 'chars', min: 1, max: 5 }, 'abc', true, 1],
    ['chars counts code points, not UTF-16 units', { unit: 'chars', max: 3 }, '🙂🙂🙂', true, 1],
    ['chars too short', { unit: 'chars', min: 10 }, 'abcde', false, 0.5],
    ['chars too long', { unit: 'chars', max: 2 }, 'abcd', false, 0.5],
    ['empty vs min 1', { unit: 'chars', min: 1 }, '', false, 0],
    ['empty vs max 0', { unit: 'chars', max: 0 }, '', true, 1],
    ['words', { unit: 'words', min: 3, max: 3 }, '  one\ttwo\n three  ', true, 1],
    ['words split on unicode spaces', { unit: 'words', min: 2, max: 2 }, 'a\u3000b', true, 1],
    ['whitespace has no words', { unit: 'words', min: 1 }, ' \n\t ', false, 0],
    ['lines', { unit: 'lines', max: 2 }, 'a\nb\n', true, 1],
    ['lines with CRLF', { unit: 'lines', min: 3 }, 'a\r\nb\r\nc', true, 1],
    ['lines too many', { unit: 'lines', max: 2 }, 'a\nb\nc\nd', false, 0.5],
    ['default unit is chars', { max: 3 }, 'abcd', false, 0.75],
    ['1 MB over a max', { max: 1000 }, ONE_MB, false, 1000 / ONE_MB.length],
  ] as const)('%s', (_name, s, output, pass, score) => {
    const r = run({ type: 'length', ...s }, output);
    expect(r.pass).toBe(pass);
    expect(r.score).toBeCloseTo(score, 6);
    expect(r.reason).toMatch(/Output has \d+ (chars|words|lines)/);
  });

  it.each([
    ['', 'chars', 0],
    ['', 'words', 0],
    ['', 'lines', 0],
    ['x', 'lines', 1],
    ['\n', 'lines', 1],
    ['\n\n', 'lines', 2],
    ['e\u0301', 'chars', 2],
    ['a\ud800b', 'chars', 3],
  ] as const)('measure(%j, %s) = %d', (text, unit, n) => {
    expect(measure(text, unit)).toBe(n);
  });
});

describe('contains / not_contains', () => {
  it.each([
    ['contains all, case-insensitive by default', { type: 'contains', values: ['alpha', 'BETA'] }, 'Alpha and beta', true, 1],
    ['contains all, one missing', { type: 'contains', values: ['alpha', 'gamma'] }, 'alpha', false, 0.5],
    ['contains case-sensitive', { type: 'contains', values: ['Alpha'], case_sensitive: true }, 'alpha', false, 0],
    ['contains any', { type: 'contains', values: ['x', 'alpha'], mode: 'any' }, 'alpha', true, 1],
    ['contains any, none', { type: 'contains', values: ['x', 'y'], mode: 'any' }, 'alpha', false, 0],
    ['contains on empty output', { type: 'contains', values: ['a'] }, '', false, 0],
    ['contains matches composed vs decomposed é', { type: 'contains', values: ['caf\u00e9'] }, 'un cafe\u0301 noir', true, 1],
    ['contains unicode case folding', { type: 'contains', values: ['ÄRGER'] }, 'so ein ärger', true, 1],
    ['not_contains none present', { type: 'not_contains', values: ['TODO', 'FIXME'] }, 'clean code', true, 1],
    ['not_contains one present (case-insensitive)', { type: 'not_contains', values: ['TODO', 'FIXME'] }, 'a todo here', false, 0.5],
    ['not_contains any: passes unless all present', { type: 'not_contains', values: ['a', 'b'], mode: 'any' }, 'only a', true, 1],
    ['not_contains any: all present fails', { type: 'not_contains', values: ['a', 'b'], mode: 'any' }, 'a b', false, 0],
    ['not_contains on empty output', { type: 'not_contains', values: ['x'] }, '', true, 1],
  ] as const)('%s', (_name, s, output, pass, score) => {
    const r = run(s as unknown as GraderSpecInput, output);
    expect(r.pass).toBe(pass);
    expect(r.score).toBeCloseTo(score, 6);
    expect(r.type).toBe(s.type);
  });

  it('names what is missing', () => {
    const r = run({ type: 'contains', values: ['alpha', 'gamma', 'delta'] }, 'alpha');
    expect(r.reason).toBe('Output is missing 2 of 3: "gamma", "delta".');
  });

  it('finds a value at the end of 1 MB', () => {
    expect(run({ type: 'contains', values: ['END'] }, `${ONE_MB}end`).pass).toBe(true);
  });
});
