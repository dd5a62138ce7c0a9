import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PreCheckInput } from '../src/agents/preCheck.js';
import { ManualClock } from '../src/clock.js';
import { openDatabase } from '../src/db/database.js';
import { EventBus } from '../src/events.js';
import { DEFAULT_IMMUNE_CONFIG } from '../src/immune/config.js';
import { ImmuneSystem } from '../src/immune/immuneSystem.js';
import { immuneMigrations } from '../src/immune/migrations.js';
import { silentLogger } from '../src/logger.js';
import { fmt, percentile, ratio } from './stats.js';

/**
 * Immune system benchmark (issue 14): the pre-spawn check with 1,000 and with 100,000 stored
 * failures (targets: p50 <= 1 ms at 100,000, and at most 2x its time at 1,000), the index's
 * memory at 100,000, and recording a failure (p50). Prompts are synthetic: task templates over a
 * 20,000-word vocabulary with numbers and ids, so failures spread over many patterns as real
 * ones do; the store is a SQLite file in WAL mode, as the server uses.
 */
const TIERS = ['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro'];
const TEMPLATES = [
  'Extract the %w and %w from this %w report number %n',
  'Summarise the %w %w section about %w in %n words',
  'Write a %w function that parses %w %w records from file %p',
  'Translate the %w notes on %w %w into plain English',
  'Classify this %w ticket about %w %w as urgent or not',
  'List every %w mentioned in the %w %w review of %d',
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function makeVocabulary(size: number, rand: () => number): string[] {
  const syll = ['ka', 'lo', 'mi', 'ren', 'to', 'sa', 'vel', 'dor', 'an', 'qui', 'ber', 'tus', 'nel', 'ox', 'pra', 'li'];
  const words = new Set<string>();
  while (words.size < size) {
    const n = 2 + Math.floor(rand() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += syll[Math.floor(rand() * syll.length)];
    words.add(w);
  }
  return [...words];
}

function makePrompt(rand: () => number, vocab: string[]): string {
  // Zipf-ish word choice: a few words are common, most are rare.
  const word = () => vocab[Math.floor(vocab.length * rand() ** 1.5)]!;
  const topic = Array.from({ length: 5 }, word).join(' ');
  return `${topic}: ` + TEMPLATES[Math.floor(rand() * TEMPLATES.length)]!
    .replace(/%w/g, word)
    .replace(/%n/g, () => String(Math.floor(rand() * 10_000)))
    .replace(/%p/g, () => `/data/${word()}/${Math.floor(rand() * 100)}.csv`)
    .replace(/%d/g, () => `2026-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}`);
}

function input(prompt: string): PreCheckInput {
  return { operation: 'agent', prompt, system: undefined, provider: 'google_gemini', model: 'auto', tiers: TIERS, responseSchema: undefined, graders: [{ type: 'json_valid' }], maxOutputTokens: 1000, taskId: null, tags: [] };
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-immune-'));
  const rand = rng(42);
  const vocab = makeVocabulary(20_000, rand);
  const db = openDatabase(path.join(dir, 'immune.db'), { migrations: immuneMigrations });
  const clock = new ManualClock();
  const immune = new ImmuneSystem({ db, clock, logger: silentLogger, events: new EventBus(), config: DEFAULT_IMMUNE_CONFIG, secrets: [] });
  const recordTimes: number[] = [];
  let stored = 0;
  const fill = (target: number) => {
    for (; stored < target; stored++) {
      clock.advance(1000);
      const failure = {
        trialId: `tr_${stored}`,
        status: 'failed' as const,
        operation: 'agent',
        prompt: makePrompt(rand, vocab),
        processedPrompt: null,
        output: 'Sure! Here is the answer you asked for.',
        provider: 'google_gemini',
        model: TIERS[stored % 2]!,
        finishReason: 'stop',
        errorCode: null,
        errorMessage: null,
        graderSpecs: [{ type: 'json_valid' }],
        graderResults: [{ type: 'json_valid', pass: false, required: true, reason: 'not JSON' }],
        guardrailIds: [],
        at: clock.now(),
      };
      const t0 = performance.now();
      immune.record(failure);
      recordTimes.push(performance.now() - t0);
    }
  };
  const measureCheck = () => {
    const queries = Array.from({ length: 2_000 }, () => makePrompt(rand, vocab));
    for (const q of queries.slice(0, 200)) immune.preCheck.check(input(q), { signal: new AbortController().signal });
    const times: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      immune.preCheck.check(input(q), { signal: new AbortController().signal });
      times.push(performance.now() - t0);
    }
    return { p50: percentile(times, 50), p95: percentile(times, 95) };
  };

  fill(1_000);
  const at1k = measureCheck();
  const patterns1k = immune.memory.patterns.size;
  const recordP50At1k = percentile(recordTimes, 50);
  global.gc?.();
  // Typed arrays live outside the JS heap: count array buffers too, or the index looks free.
  const usedMemory = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heapBefore = usedMemory();
  fill(100_000);
  const at100k = measureCheck();
  global.gc?.();
  const heapAfter = usedMemory();
  const recordP50 = percentile(recordTimes.slice(-10_000), 50);

  console.log(`pre_spawn_check, 1,000 stored failures (${patterns1k} patterns): p50 ${fmt(at1k.p50)}, p95 ${fmt(at1k.p95)}`);
  console.log(`pre_spawn_check, 100,000 stored failures (${immune.memory.patterns.size} patterns): p50 ${fmt(at100k.p50)}, p95 ${fmt(at100k.p95)}  (target p50 <= 1 ms: ${at100k.p50 <= 1 ? 'met' : 'NOT met'})`);
  console.log(`  100,000 vs 1,000: ${ratio(at100k.p50, at1k.p50)} (target <= 2x: ${at100k.p50 <= 2 * at1k.p50 ? 'met' : 'NOT met'})`);
  console.log(`index memory at 100,000: ~${(immune.memory.index.approximateBytes() / 1024 / 1024).toFixed(1)} MiB estimated; heap + array buffers growth 1,000 -> 100,000 failures (whole process: index, pattern states, SQLite cache) ${((heapAfter - heapBefore) / 1024 / 1024).toFixed(1)} MiB${global.gc ? '' : ' (run node --expose-gc for a settled figure)'}`);
  console.log(`record a failure: p50 ${fmt(recordP50At1k)} at 1,000, p50 ${fmt(recordP50)} over the last 10,000 of 100,000`);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
