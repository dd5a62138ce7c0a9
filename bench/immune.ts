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

/** One immune system over its own SQLite file, filled with synthetic failures. */
function makeSystem(dir: string, name: string, rand: () => number, vocab: string[]) {
  const db = openDatabase(path.join(dir, `${name}.db`), { migrations: immuneMigrations });
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
  return { db, immune, fill, recordTimes };
}

export async function run(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-immune-'));
  const rand = rng(42);
  const vocab = makeVocabulary(20_000, rand);
  // Two stores, measured interleaved (query i on both, order alternating), so a loaded machine
  // slows baseline and subject alike and the ratio stays a ratio.
  const small = makeSystem(dir, 'small', rand, vocab);
  const large = makeSystem(dir, 'large', rand, vocab);
  small.fill(1_000);
  const recordP50At1k = percentile(small.recordTimes, 50);
  // Typed arrays live outside the JS heap: count array buffers too, or the index looks free.
  const usedMemory = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  global.gc?.();
  const heapBefore = usedMemory();
  large.fill(100_000);
  global.gc?.();
  const heapAfter = usedMemory();
  const recordP50 = percentile(large.recordTimes.slice(-10_000), 50);

  const queries = Array.from({ length: 3_000 }, () => makePrompt(rand, vocab));
  const signal = new AbortController().signal;
  for (const q of queries.slice(0, 300)) {
    small.immune.preCheck.check(input(q), { signal });
    large.immune.preCheck.check(input(q), { signal });
  }
  const times1k: number[] = [];
  const times100k: number[] = [];
  const time = (sys: typeof small, q: string, into: number[]) => {
    const t0 = performance.now();
    sys.immune.preCheck.check(input(q), { signal });
    into.push(performance.now() - t0);
  };
  queries.forEach((q, i) => {
    if (i % 2 === 0) {
      time(small, q, times1k);
      time(large, q, times100k);
    } else {
      time(large, q, times100k);
      time(small, q, times1k);
    }
  });
  const at1k = { p50: percentile(times1k, 50), p95: percentile(times1k, 95) };
  const at100k = { p50: percentile(times100k, 50), p95: percentile(times100k, 95) };
  const patterns1k = small.immune.memory.patterns.size;
  const immune = large.immune;

  console.log(`pre_spawn_check, 1,000 stored failures (${patterns1k} patterns): p50 ${fmt(at1k.p50)}, p95 ${fmt(at1k.p95)}`);
  console.log(`pre_spawn_check, 100,000 stored failures (${immune.memory.patterns.size} patterns): p50 ${fmt(at100k.p50)}, p95 ${fmt(at100k.p95)}  (target p50 <= 1 ms: ${at100k.p50 <= 1 ? 'met' : 'NOT met'})`);
  console.log(`  100,000 vs 1,000 (interleaved): ${ratio(at100k.p50, at1k.p50)} (target <= 2x: ${at100k.p50 <= 2 * at1k.p50 ? 'met' : 'NOT met'})`);
  console.log(`index memory at 100,000: ~${(immune.memory.index.approximateBytes() / 1024 / 1024).toFixed(1)} MiB (typed arrays + maps); heap + array buffers growth over 100,000 failures ${((heapAfter - heapBefore) / 1024 / 1024).toFixed(1)} MiB (whole process: index, pattern states, SQLite)${global.gc ? '' : ' (run node --expose-gc for a settled figure)'}`);
  console.log(`record a failure: p50 ${fmt(recordP50At1k)} at 1,000, p50 ${fmt(recordP50)} over the last 10,000 of 100,000`);
  small.db.close();
  large.db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
