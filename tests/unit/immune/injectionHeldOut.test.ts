import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoreInjection } from '../../../src/immune/guardrails/injection.js';
import { makeTempDir } from '../../helpers/paths.js';
import { testOutputDir } from '../../helpers/testOutput.js';
import { recallAtFpr, rocAuc } from './rankMetrics.js';

/**
 * Held-out evaluation of the injection detector on PyPI's bastioncorpus (labelled malicious and
 * benign "looks like an attack" prompts). Nothing in the detector was fitted or tuned on it: it
 * is downloaded here, at test time, and never committed. Without network or pip the test is
 * skipped loudly; under CI (CI=true) it fails instead, because CI must measure it.
 */
interface Row {
  text: string;
  label: 'malicious' | 'benign';
  lang?: string;
  category?: string;
}

function fetchCorpus(): Row[] | string {
  const dir = makeTempDir('bastioncorpus-');
  try {
    execFileSync('pip', ['download', 'bastioncorpus', '--no-deps', '-d', dir, '--quiet', '--disable-pip-version-check'], { stdio: 'pipe', timeout: 120_000 });
    const wheel = fs.readdirSync(dir).find((f) => f.endsWith('.whl'));
    if (!wheel) return 'pip download produced no wheel';
    const jsonl = execFileSync(
      'python3',
      ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); n=[x for x in z.namelist() if x.endswith(".jsonl")][0]; sys.stdout.write(z.read(n).decode())', path.join(dir, wheel)],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    return jsonl
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Row)
      .map((r) => ({ ...r, text: r.text.replace('{canary}', 'CANARY-7f3a') }));
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? 'unknown error';
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const corpus = fetchCorpus();
const unavailable = typeof corpus === 'string';
if (unavailable) {
  const banner = `\n${'!'.repeat(78)}\n!! SKIPPED: held-out injection corpus (bastioncorpus) unavailable: ${corpus}\n!! The detector's ROC AUC was NOT measured. CI requires it (CI=true makes this a failure).\n${'!'.repeat(78)}\n`;
  process.stderr.write(banner);
}

describe('injection detector on held-out bastioncorpus', () => {
  it.runIf(unavailable && process.env.CI === 'true')('is available under CI', () => {
    expect.fail(`bastioncorpus could not be fetched under CI: ${String(corpus)}`);
  });

  it.skipIf(unavailable)('separates malicious from benign prompts (ROC AUC, recall at 1% FPR)', () => {
    const rows = corpus as Row[];
    const scored = rows.map((r) => ({ ...r, score: scoreInjection(r.text).score }));
    const pos = scored.filter((r) => r.label === 'malicious').map((r) => r.score);
    const neg = scored.filter((r) => r.label === 'benign').map((r) => r.score);
    const auc = rocAuc(pos, neg);
    const at1 = recallAtFpr(pos, neg, 0.01);
    const guardThreshold = 0.6;
    const report = {
      rows: rows.length,
      malicious: pos.length,
      benign: neg.length,
      roc_auc: Number(auc.toFixed(4)),
      recall_at_1pct_fpr: Number(at1.recall.toFixed(4)),
      threshold_at_1pct_fpr: Number(at1.threshold.toFixed(4)),
      at_guard_threshold: {
        threshold: guardThreshold,
        recall: Number((pos.filter((s) => s >= guardThreshold).length / pos.length).toFixed(4)),
        false_positive_rate: Number((neg.filter((s) => s >= guardThreshold).length / neg.length).toFixed(4)),
      },
    };
    fs.writeFileSync(path.join(testOutputDir('immune'), 'injection-heldout.json'), JSON.stringify(report, null, 2));
    process.stderr.write(`bastioncorpus (held out): ${JSON.stringify(report)}\n`);
    expect(pos.length).toBeGreaterThan(0);
    expect(neg.length).toBeGreaterThan(0);
    // The goal is 0.85; this floor catches a regression of what was measured (see the report).
    if (auc < 0.85) process.stderr.write(`!! injection detector ROC AUC ${auc.toFixed(3)} is below the 0.85 goal\n`);
    // Measured once, after the detector was developed on tests/fixtures/injection: 0.7997 (recall at 1% FPR 0.3729).
    expect(auc).toBeGreaterThanOrEqual(0.78);
  });
});

describe('the metrics themselves', () => {
  it('computes AUC and recall at an FPR bound', () => {
    expect(rocAuc([0.9, 0.8], [0.1, 0.2])).toBe(1);
    expect(rocAuc([0.5], [0.5])).toBe(0.5);
    expect(recallAtFpr([0.9, 0.7, 0.3], [0.8, 0.1], 0.01)).toEqual({ recall: 1 / 3, threshold: 0.8 });
  });
});
