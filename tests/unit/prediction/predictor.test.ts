import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock.js';
import { EventBus, type RiskAssessedEvent } from '../../../src/events.js';
import { toTrialRecord } from '../../../src/eval/export.js';
import type { Trial } from '../../../src/eval/trialStore.js';
import { runPredictCli, runTrainCli } from '../../../src/prediction/cli.js';
import { META_FEATURE_NAMES, metaFeatures, TextVectorizer } from '../../../src/prediction/features.js';
import { SparseLogistic } from '../../../src/prediction/logistic.js';
import { rocAuc } from '../../../src/prediction/metrics.js';
import { loadModel, MODEL_FILE, saveModel } from '../../../src/prediction/modelFile.js';
import type { FailureModel } from '../../../src/prediction/model.js';
import { failurePredictorPreCheck, toPreCallInput } from '../../../src/prediction/preCheck.js';
import { openFailurePredictor } from '../../../src/prediction/predictor.js';
import { parseRecordLine, type LabelledRow } from '../../../src/prediction/records.js';
import { trainFailureModel } from '../../../src/prediction/train.js';
import { generateRecords, toJsonl } from '../../helpers/failureData.js';

const clock = new ManualClock(Date.UTC(2026, 11, 1));
const data = generateRecords(2_000, 42);
const rows = data.map((d, i) => parseRecordLine(JSON.stringify(d.record), i + 1)).flatMap((p) => (p.kind === 'row' ? [p.row] : [])) as LabelledRow[];
let model: FailureModel;
let summary: ReturnType<typeof trainFailureModel>['summary'];
let dir: string;

function sink() {
  let text = '';
  const stream = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { stream, text: () => text };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'predictor-'));
  ({ model, summary } = trainFailureModel(rows, clock));
}, 300_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('training on a learnable rule plus noise', () => {
  it('reaches hold-out ROC AUC within 10% of the true probabilities, above the baseline', () => {
    const holdout = data.slice(Math.round(data.length * 0.8));
    const trueAuc = rocAuc(holdout.map((d) => d.trueRisk), holdout.map((d) => d.label))!;
    const auc = summary.metrics.roc_auc!;
    console.log(`hold-out AUC ${auc} (true probabilities ${trueAuc.toFixed(4)}, linear stage ${summary.linear_roc_auc}, baseline ${summary.baseline_metrics.roc_auc})`);
    expect(auc).toBeGreaterThanOrEqual(0.9 * trueAuc);
    expect(auc).toBeGreaterThan(summary.baseline_metrics.roc_auc!);
    expect(summary).toMatchObject({ rows: 2_000, train_rows: 1_600, holdout_rows: 400, split: expect.stringMatching(/time-ordered/) });
    for (const key of ['accuracy', 'precision', 'recall', 'f1', 'brier', 'recall_at_fpr'] as const) expect(summary.metrics[key]).toEqual(expect.any(Number));
  });

  it('reaches hold-out ROC AUC >= 0.8', () => {
    expect(summary.metrics.roc_auc).toBeGreaterThanOrEqual(0.8);
  });

  it('save → load gives identical predictions; files are private', () => {
    const out = path.join(dir, 'models', 'fp');
    const { modelPath, cardPath } = saveModel(out, model);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    expect(fs.statSync(modelPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(cardPath).mode & 0o777).toBe(0o600);
    const card = fs.readFileSync(cardPath, 'utf8');
    expect(card).toContain('failure-features.v1');
    expect(card).toMatch(/2000 labelled trials/);
    expect(card).toMatch(/baseline: recent failure rate/);
    const loaded = loadModel(out);
    expect(loaded.status).toBe('ready');
    if (loaded.status !== 'ready') return;
    const inputs = rows.slice(0, 200).map((r) => r.input);
    expect(inputs.map((i) => loaded.model.predict(i))).toEqual(inputs.map((i) => model.predict(i)));
    expect(loaded.model.version).toBe(model.version);
  });

  it('refuses corrupt, truncated and mismatched model files with a clear error', async () => {
    const write = (name: string, text: string) => {
      const d = path.join(dir, name);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, MODEL_FILE), text);
      return d;
    };
    const good = JSON.stringify(model.json);
    const cases: Array<[string, string, RegExp]> = [
      ['truncated', good.slice(0, good.length / 2), /not valid JSON/],
      ['garbage', 'hello', /not valid JSON/],
      ['feature-set', JSON.stringify({ ...model.json, feature_set: 'failure-features.v0' }), /feature set "failure-features.v0".*retrain/],
      ['format', JSON.stringify({ ...model.json, format: 'other' }), /format is "other"/],
      ['weights', JSON.stringify({ ...model.json, logistic: { ...model.json.logistic, weights: [1, 2] } }), /does not match its vectorizer/],
      ['forest', JSON.stringify({ ...model.json, forest: [] }), /forest cannot be loaded/],
      ['forest-columns', JSON.stringify({ ...model.json, forest: { ...model.json.forest, columns: [] } }), /forest cannot be loaded: the forest names no input columns/],
      ['forest-weight', JSON.stringify({ ...model.json, forest_weight: 2 }), /forest_weight must be a number in 0\.\.1/],
      ['v1 model', JSON.stringify({ ...model.json, format: 'task-orchestrator.failure-model.v1' }), /format is "task-orchestrator.failure-model.v1", expected task-orchestrator.failure-model.v2/],
    ];
    for (const [name, text, message] of cases) {
      const loaded = loadModel(write(name, text));
      expect(loaded.status, name).toBe('invalid');
      if (loaded.status === 'invalid') expect(loaded.error).toMatch(message);
      const predictor = await openFailurePredictor(path.join(dir, name));
      expect(predictor.assess({ operation: 'agent', prompt: 'x' })).toBeUndefined();
      expect(predictor.unavailableReason()).toMatch(/cannot be used.*task-orchestrator train/);
    }
  });
});

describe('no leakage: outcome fields never reach the features', () => {
  const trial = (over: Partial<Trial>): Trial => ({
    id: 't1', status: 'passed', prompt: 'Summarize the water cycle in exactly 5 words.', processed_prompt: null, guardrails: [], system: 'Be terse.',
    response_schema: null, output: 'Water evaporates, condenses, falls.', parsed_json: null, finish_reason: 'stop', provider: 'google_gemini',
    model: 'gemini-2.5-flash', model_reason: 'summary task, ~10 prompt tokens → gemini-2.5-flash', input_tokens: 10, output_tokens: 6, cost_usd: 0.001,
    latency_ms: 300, grader_results: [{ type: 'non_empty', status: 'graded', pass: true, score: 1, required: true, weight: 1, reason: 'ok' }] as never,
    score: 1, grading_incomplete: false, attempts: 1, error_code: null, error_message: null, task_id: null, tags: [], parent_run_id: null,
    created_at: '2026-06-01T10:00:00.000Z', created_at_ms: Date.UTC(2026, 5, 1, 10), updated_at: '2026-06-01T10:00:01.000Z', updated_at_ms: Date.UTC(2026, 5, 1, 10, 0, 1),
    ...over,
  });
  const features = (t: Trial) => {
    const parsed = parseRecordLine(JSON.stringify(toTrialRecord(t)), 1);
    if (parsed.kind !== 'row') throw new Error(parsed.kind);
    return { meta: metaFeatures(parsed.row.input, { modelFailureRate: new Map([['gemini-2.5-flash', 0.2]]), globalFailureRate: 0.3 }), input: parsed.row.input, label: parsed.row.label };
  };

  it('a passed and an errored (retried, escalated, no output) trial with the same input have identical features', () => {
    const passed = features(trial({}));
    const errored = features(trial({
      status: 'errored', output: null, finish_reason: null, grader_results: null, score: null, attempts: 4, error_code: 'provider_error',
      error_message: 'HTTP 503', latency_ms: 90_000, cost_usd: 0.5, input_tokens: 999, output_tokens: 0, updated_at: '2026-06-02T00:00:00.000Z',
    }));
    const escalated = features(trial({
      status: 'failed', model: 'gemini-2.5-pro', model_reason: 'summary task, ~10 prompt tokens → gemini-2.5-flash; escalated to gemini-2.5-pro', attempts: 2,
      grader_results: [{ type: 'non_empty', status: 'graded', pass: false, score: 0, required: true, weight: 1, reason: 'empty' }] as never, output: '',
    }));
    expect([passed.label, errored.label, escalated.label]).toEqual([0, 1, 1]);
    expect(errored.meta).toEqual(passed.meta);
    expect(escalated.meta).toEqual(passed.meta);
    // The store keeps no grader spec for a trial that errored before grading: unknown (null),
    // which the features read as the defaults, so "no graders" cannot stand for "errored".
    expect(errored.input.graders).toBeNull();
    expect({ ...errored.input, graders: passed.input.graders }).toEqual(passed.input);
    expect(escalated.input).toEqual(passed.input);
    expect(META_FEATURE_NAMES).toHaveLength(passed.meta.length);
  });

  it('the record format keeps every outcome field out of the input section', () => {
    const record = toTrialRecord(trial({ attempts: 3, error_code: 'timeout' }));
    expect(record.format).toBe('task-orchestrator.trial.v2');
    const inputKeys = JSON.stringify(record.input);
    for (const field of ['attempts', 'retried', 'error_code', 'output_chars', 'output', 'grading', 'latency', 'cost', 'status', 'finish_reason', 'escalated']) {
      expect(inputKeys).not.toContain(`"${field}`);
    }
    expect(record.outcome).toMatchObject({ attempts: 3, retried: true, error: { code: 'timeout' }, output_chars: 35 });
  });

  it('format 1 records are still read', () => {
    const v1 = { format: 'task-orchestrator.trial.v1', created_at: '2026-01-01T00:00:00Z', status: 'failed', prompt: 'p', model: 'm', attempts: 3, error: null, grading: { results: [{ type: 'contains', required: true }] } };
    const parsed = parseRecordLine(JSON.stringify(v1), 1);
    expect(parsed).toMatchObject({ kind: 'row', row: { label: 1, input: { prompt: 'p', model: 'm', graders: [{ type: 'contains', required: true }] } } });
    expect(JSON.stringify(parsed)).not.toContain('attempts');
  });
});

describe('the small parts', () => {
  it('sparse logistic regression learns a separable rule', () => {
    const xs = Array.from({ length: 400 }, (_, i) => ({ indices: [i % 2, 2 + (i % 7)], values: [1, 0.5] }));
    const ys = xs.map((_, i) => (i % 2 === 0 ? 1 : 0));
    const lr = SparseLogistic.fit(xs, ys, 9);
    expect(lr.predict({ indices: [0], values: [1] })).toBeGreaterThan(0.9);
    expect(lr.predict({ indices: [1], values: [1] })).toBeLessThan(0.1);
  });

  it('the vectorizer keeps a bounded vocabulary and L2-normalises', () => {
    const v = TextVectorizer.fit(rows.map((r) => r.input), { maxTerms: 50, minDf: 2, buckets: 64 });
    expect(v.dimension).toBe(114);
    const x = v.transform({ prompt: 'Write about the water cycle. Prove it.' });
    expect(Math.hypot(...x.values)).toBeCloseTo(1, 6);
  });
});

describe('serving', () => {
  it('without a model: no prediction, and the reason says how to train one', async () => {
    const predictor = await openFailurePredictor(path.join(dir, 'nothing-here'));
    expect(predictor.state.status).toBe('absent');
    expect(predictor.assess({ operation: 'agent', prompt: 'x' })).toBeUndefined();
    expect(predictor.unavailableReason()).toMatch(/No failure model is trained.*task-orchestrator train --data/);
    const events = new EventBus();
    const seen: RiskAssessedEvent[] = [];
    events.on('risk.assessed', (e) => seen.push(e));
    const verdict = await failurePredictorPreCheck({ predictor, events, clock, secrets: [] }).check(preCheckInput('x'), { signal: new AbortController().signal });
    expect(verdict).toEqual({ action: 'proceed' });
    expect(seen).toEqual([]);
  });

  it('as a pre-check: per-model risk for selection and a risk.assessed event, secrets redacted', async () => {
    const out = path.join(dir, 'serving');
    saveModel(out, model);
    const predictor = await openFailurePredictor(out);
    expect(predictor.state.status).toBe('ready');
    const events = new EventBus();
    const seen: RiskAssessedEvent[] = [];
    events.on('risk.assessed', (e) => seen.push(e));
    const check = failurePredictorPreCheck({ predictor, events, clock, secrets: ['s3cr3t-value'] });
    const hard = 'Write about the cache layer. Prove the recursive theorem s3cr3t-value data report user. Answer in exactly 7 words.';
    const verdict = await check.check(preCheckInput(hard), { signal: new AbortController().signal });
    expect(verdict.action).toBe('proceed');
    const lite = verdict.failureRisk!('gemini-2.5-flash-lite')!;
    const pro = verdict.failureRisk!('gemini-2.5-pro')!;
    expect(verdict.riskScore).toBe(lite);
    for (const r of [lite, pro]) expect(r).toBeGreaterThanOrEqual(0), expect(r).toBeLessThanOrEqual(1);
    expect(pro).toBe(predictor.assess({ ...toPreCallInput(preCheckInput(hard)), model: 'gemini-2.5-pro' })!.riskScore);
    expect(seen).toEqual([expect.objectContaining({ model: 'gemini-2.5-flash-lite', riskScore: lite, modelVersion: model.version, at: clock.now() })]);
    expect(seen[0]!.promptPreview).not.toContain('s3cr3t-value');
    const easy = predictor.assess({ operation: 'agent', prompt: 'Write about the water cycle. the data', model: 'gemini-2.5-pro' }, { explain: true })!;
    expect(easy.topFeatures[0]).toMatchObject({ feature: 'text_risk' });
  });
});

describe('the nearest-failure port (immune system)', () => {
  it('a model trained with the port reads it when serving; one trained without never calls it', async () => {
    const calls: Array<[string, string | null | undefined]> = [];
    // A memory that remembers the hard prompts (what an immune system would hold).
    const nearestFailure = (prompt: string, system?: string | null) => {
      calls.push([prompt, system]);
      return /prove|regex|recursive|concurrency|theorem|cryptographic/.test(prompt) ? { similarity: 0.9, failureRate: 0.8 } : undefined;
    };
    const withPort = trainFailureModel(rows.slice(0, 600), clock, { nearestFailure }).model;
    expect(withPort.json.uses_nearest_failure).toBe(true);
    const out = path.join(dir, 'with-port');
    saveModel(out, withPort);
    const predictor = await openFailurePredictor(out, { nearestFailure });
    calls.length = 0;
    const input = { operation: 'agent' as const, prompt: 'Write about the login flow. Prove the theorem.', system: 'Be terse.', model: 'gemini-2.5-flash' };
    const risk = predictor.assess(input)!.riskScore;
    expect(calls).toEqual([[input.prompt, input.system]]);
    expect(risk).toBe(withPort.predict(input, nearestFailure));
    expect(risk).not.toBe(withPort.predict(input, () => undefined));

    const plainDir = path.join(dir, 'without-port');
    saveModel(plainDir, model);
    const plain = await openFailurePredictor(plainDir, { nearestFailure });
    calls.length = 0;
    expect(plain.assess(input)!.riskScore).toBe(model.predict(input));
    expect(calls).toEqual([]);
  }, 120_000);
});

describe('CLI', () => {
  it('train skips bad lines by number, writes the model; predict scores stdin in order', async () => {
    const file = path.join(dir, 'train.jsonl');
    const lines = toJsonl(data.slice(0, 600)).split('\n');
    lines.splice(3, 0, '{not json');
    lines.splice(10, 0, JSON.stringify({ format: 'something.else', created_at: '2026-01-01T00:00:00Z' }));
    fs.writeFileSync(file, lines.join('\n'));
    const err = sink();
    const out = path.join(dir, 'cli-model');
    const code = await runTrainCli(['--data', file, '--out', out], { modelDir: '/nowhere', clock, stdin: new PassThrough(), stdout: sink().stream, stderr: err.stream });
    expect(code, err.text()).toBe(0);
    expect(err.text()).toContain(`${file}:4: skipped: not JSON`);
    expect(err.text()).toMatch(new RegExp(`${file}:11: skipped: format must be`));
    expect(err.text()).toMatch(/Read 600 labelled trials \(2 bad lines skipped/);
    expect(err.text()).toMatch(/\| failure predictor \| 0\.\d+/);
    expect(fs.existsSync(path.join(out, MODEL_FILE))).toBe(true);

    const stdin = new PassThrough();
    const stdout = sink();
    stdin.end(`${JSON.stringify(data[0]!.record)}\nnope\n${JSON.stringify(data[1]!.record)}\n`);
    expect(await runPredictCli(['--model', out], { modelDir: '/nowhere', clock, stdin, stdout: stdout.stream, stderr: sink().stream })).toBe(0);
    const answers = stdout.text().trim().split('\n').map((l) => JSON.parse(l) as { risk_score: number | null });
    expect(answers).toHaveLength(3);
    expect(answers[0]!.risk_score).toEqual(expect.any(Number));
    expect(answers[1]).toMatchObject({ risk_score: null, error: expect.stringMatching(/line 2: not JSON/) });
    const loaded = loadModel(out);
    if (loaded.status !== 'ready') throw new Error(loaded.status);
    expect(answers[2]!.risk_score).toBe(Math.round(loaded.model.predict(rows[1]!.input) * 1e4) / 1e4);
  }, 300_000);
});

function preCheckInput(prompt: string) {
  return {
    operation: 'agent' as const, prompt, system: undefined, provider: 'google_gemini', model: 'auto',
    tiers: ['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro'], responseSchema: undefined,
    graders: [{ type: 'non_empty' }], maxOutputTokens: 1000, taskId: null, tags: [],
  };
}
