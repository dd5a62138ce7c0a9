import { performance } from 'node:perf_hooks';
import { gradeOutput } from '../src/eval/grading.js';
import { codeGraders, createOutputMemo } from '../src/eval/graders/codeGraders.js';
import { JsonSchemaCache } from '../src/eval/graders/jsonSchemaCache.js';
import { parseGraderSpecs, type GraderSpec } from '../src/eval/graders/specs.js';
import type { GraderContext, GraderResult } from '../src/eval/graders/types.js';
import { fmt, percentile } from './stats.js';

/**
 * Code-grader benchmark: every code grader (non_empty, json_valid, json_schema, regex, length,
 * contains, not_contains) run together on one 100 KB output. Target: p50 <= 1 ms.
 * The output is a JSON document (so the JSON graders do their full work, not an early parse
 * failure) of prose items, with a schema that checks every item. Schemas are compiled once
 * (warm cache) and the JSON is parsed once per run (shared memo), as in gradeOutput. The
 * per-grader lines run each grader alone, so both JSON graders pay for parsing there.
 */
export async function run(): Promise<void> {
  const output = makeOutput(100 * 1024);
  const schema = {
    type: 'object',
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          properties: { id: { type: 'integer' }, title: { type: 'string' }, body: { type: 'string' }, done: { type: 'boolean' } },
          required: ['id', 'title', 'body', 'done'],
        },
      },
    },
    required: ['items'],
  };
  const schemas = new JsonSchemaCache();
  const specs = parseGraderSpecs(
    [
      { type: 'non_empty' },
      { type: 'json_valid' },
      { type: 'json_schema', schema },
      { type: 'regex', pattern: '"id":\\s*\\d+', flags: 'i' },
      { type: 'length', unit: 'words', min: 100, max: 100_000 },
      { type: 'contains', values: ['quick brown fox', 'lazy dog', 'item 499'] },
      { type: 'not_contains', values: ['TODO', 'FIXME', 'lorem ipsum dolor sit amet, consectetur'] },
    ],
    schemas,
  );
  const ctx: GraderContext = { prompt: 'bench', schemas };

  // One memo per run, as gradeOutput does: the JSON is parsed once for both JSON graders.
  const runAll = (): GraderResult[] => {
    const shared: GraderContext = { ...ctx, memo: createOutputMemo(output) };
    return specs.map((spec) => runCode(spec, output, shared));
  };

  // Sanity: the figures mean nothing if the graders are not doing their work.
  const check = runAll();
  if (check.some((r) => r.status !== 'graded' || r.pass !== true)) {
    throw new Error(`bench output does not pass every grader: ${JSON.stringify(check.filter((r) => r.pass !== true))}`);
  }

  const iterations = 500;
  for (let i = 0; i < 100; i++) runAll();
  const samples: number[] = [];
  const perGrader = new Map<string, number[]>();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    runAll();
    samples.push(performance.now() - t0);
  }
  for (const spec of specs) {
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      runCode(spec, output, ctx);
      times.push(performance.now() - t0);
    }
    perGrader.set(spec.type, times);
  }
  const asyncSamples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await gradeOutput(specs, output, ctx);
    asyncSamples.push(performance.now() - t0);
  }

  const p50 = percentile(samples, 50);
  console.log(`output: ${(output.length / 1024).toFixed(0)} KB JSON, ${specs.length} code graders, ${iterations} runs`);
  console.log(`all code graders together: p50 ${fmt(p50)}, p95 ${fmt(percentile(samples, 95))}, p99 ${fmt(percentile(samples, 99))} (target p50 <= 1 ms: ${p50 <= 1 ? 'met' : 'MISSED'})`);
  console.log(`via gradeOutput (async, incl. summary): p50 ${fmt(percentile(asyncSamples, 50))}`);
  for (const [type, times] of perGrader) console.log(`  ${type.padEnd(13)} p50 ${fmt(percentile(times, 50))}`);
}

function runCode(spec: GraderSpec, output: string, ctx: GraderContext): GraderResult {
  const grader = codeGraders[spec.type as keyof typeof codeGraders] as (o: string, s: GraderSpec, c: GraderContext) => GraderResult;
  return grader(output, spec, ctx);
}

function makeOutput(bytes: number): string {
  const words = 'the quick brown fox jumps over the lazy dog while a careful grader checks every field of the answer'.split(' ');
  const items: Array<{ id: number; title: string; body: string; done: boolean }> = [];
  let size = 20;
  for (let id = 0; size < bytes; id++) {
    const body = Array.from({ length: 24 }, (_, j) => words[(id * 7 + j) % words.length]).join(' ');
    const item = { id, title: `item ${id}`, body, done: id % 3 === 0 };
    size += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return JSON.stringify({ items });
}
