import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { FEATURE_SET_VERSION, META_FEATURE_NAMES, metaFeatures, TextVectorizer, type MetaContext, type NearestFailure, type SparseVector } from './features.js';
import { DEFAULT_FOREST, VoteForest, type ForestOptions } from './forest.js';
import { DEFAULT_LOGISTIC, SparseLogistic, type LogisticOptions } from './logistic.js';
import { evaluate, rocAuc } from './metrics.js';
import { FailureModel, MODEL_FILE_FORMAT, withMeta, type TrainingSummary } from './model.js';
import type { LabelledRow } from './records.js';

/**
 * Training. The hold-out is time-ordered: the newest `holdoutShare` of the trials. A predictor
 * serves the future from the past; a shuffled split would put retries and near-copies of one
 * session's prompts on both sides and overstate the score, and "recent failure rate of this
 * model" (the baseline) only means something when the past comes first.
 */
export interface TrainOptions {
  holdoutShare: number;
  /** is_high_risk at or above this vote share. */
  threshold: number;
  /** The false-positive rate recall is reported at. */
  fprTarget: number;
  vocabulary: { maxTerms: number; minDf: number; buckets: number };
  logistic: LogisticOptions;
  forest: ForestOptions;
  /** Folds for the out-of-fold text risk the forest trains on (so it does not trust an overfit score). */
  textFolds: number;
  /** Newest share of the training part the forest does not see: it picks the blend weight. */
  validationShare: number;
  /** Trials of a model the baseline looks back over. */
  baselineWindow: number;
  /** Supplied only when the memory it reads holds nothing newer than each trial. */
  nearestFailure?: NearestFailure | undefined;
  unlabelledLines?: number;
  badLines?: number;
}

export const DEFAULT_TRAIN: TrainOptions = {
  holdoutShare: 0.2,
  threshold: 0.5,
  fprTarget: 0.1,
  vocabulary: { maxTerms: 4_000, minDf: 2, buckets: 2_048 },
  logistic: DEFAULT_LOGISTIC,
  forest: DEFAULT_FOREST,
  textFolds: 3,
  validationShare: 0.15,
  baselineWindow: 200,
};

export type TrainProgress = (step: string, done: number, total: number) => void;

/** Smoothing of per-model failure rates toward the overall rate (pseudo-trials). */
const RATE_PRIOR = 10;

export function trainFailureModel(rows: readonly LabelledRow[], clock: Clock, options: Partial<TrainOptions> = {}, progress: TrainProgress = () => {}): { model: FailureModel; summary: TrainingSummary } {
  const opts = { ...DEFAULT_TRAIN, ...options };
  const started = clock.now();
  const sorted = [...rows].sort((a, b) => a.createdAtMs - b.createdAtMs || a.line - b.line);
  const cut = Math.round(sorted.length * (1 - opts.holdoutShare));
  const train = sorted.slice(0, cut);
  const holdout = sorted.slice(cut);
  const yTrain = train.map((r) => r.label);
  if (new Set(yTrain).size < 2) throw new Error('the training part needs both passed and failed trials');
  if (holdout.length === 0) throw new Error('too few trials for a hold-out');

  const failures = yTrain.reduce<number>((s, y) => s + y, 0);
  const globalRate = failures / train.length;
  const perModel = new Map<string, { n: number; fails: number }>();
  for (const r of train) {
    const m = r.input.model;
    if (!m || m === 'auto') continue;
    const c = perModel.get(m) ?? { n: 0, fails: 0 };
    c.n++;
    c.fails += r.label;
    perModel.set(m, c);
  }
  const modelRate: Record<string, number> = {};
  for (const [m, c] of perModel) modelRate[m] = Math.round(((c.fails + RATE_PRIOR * globalRate) / (c.n + RATE_PRIOR)) * 1e4) / 1e4;
  const meta: MetaContext = { modelFailureRate: new Map(Object.entries(modelRate)), globalFailureRate: globalRate, nearestFailure: opts.nearestFailure };

  const metaTrain = train.map((r) => metaFeatures(r.input, meta));
  const mean = META_FEATURE_NAMES.map((_, j) => metaTrain.reduce((acc, m) => acc + m[j]!, 0) / metaTrain.length);
  const std = META_FEATURE_NAMES.map((_, j) => Math.sqrt(metaTrain.reduce((acc, m) => acc + (m[j]! - mean[j]!) ** 2, 0) / metaTrain.length) || 1);
  const scale = { mean: mean.map((v) => Math.round(v * 1e6) / 1e6), std: std.map((v) => Math.round(v * 1e6) / 1e6) };

  progress('text features', 0, 1);
  const vectorizer = TextVectorizer.fit(train.map((r) => r.input), opts.vocabulary);
  const xTrain = train.map((r, i) => withMeta(vectorizer.transform(r.input), metaTrain[i]!, scale, vectorizer.dimension));
  const dimension = vectorizer.dimension + META_FEATURE_NAMES.length;
  progress('text features', 1, 1);

  // Out-of-fold text risk for the forest's training rows, then the text model on all of them.
  const folds = opts.textFolds;
  const oof = new Array<number>(train.length).fill(0);
  for (let f = 0; f < folds; f++) {
    progress('text model', f, folds + 1);
    const inFold = (i: number) => i % folds === f;
    const fitX: SparseVector[] = [];
    const fitY: number[] = [];
    xTrain.forEach((x, i) => {
      if (!inFold(i)) {
        fitX.push(x);
        fitY.push(yTrain[i]!);
      }
    });
    const foldModel = SparseLogistic.fit(fitX, fitY, dimension, opts.logistic);
    xTrain.forEach((x, i) => {
      if (inFold(i)) oof[i] = foldModel.predict(x);
    });
  }
  const logistic = SparseLogistic.fit(xTrain, yTrain, dimension, opts.logistic);
  progress('text model', folds + 1, folds + 1);

  // The forest learns on the older rows; the newest ones (scored out of sample on both stages)
  // choose how much of the forest's vote share to blend with the linear score.
  const dense = train.map((_, i) => [...metaTrain[i]!, oof[i]!]);
  const fitRows = Math.round(train.length * (1 - opts.validationShare));
  const forest = VoteForest.fit(dense.slice(0, fitRows), yTrain.slice(0, fitRows), opts.forest, (done, total) => progress('forest', done, total));
  const forestWeight = chooseForestWeight(
    dense.slice(fitRows).map((row) => forest.voteShare(row)),
    oof.slice(fitRows),
    yTrain.slice(fitRows),
  );

  const createdAt = new Date(clock.now()).toISOString();
  const partial = {
    format: MODEL_FILE_FORMAT as typeof MODEL_FILE_FORMAT,
    feature_set: FEATURE_SET_VERSION,
    model_version: '',
    created_at: createdAt,
    threshold: opts.threshold,
    uses_nearest_failure: opts.nearestFailure !== undefined,
    forest_weight: forestWeight,
    meta: { names: [...META_FEATURE_NAMES], model_failure_rate: modelRate, global_failure_rate: Math.round(globalRate * 1e4) / 1e4, ...scale },
  };
  let model = FailureModel.create({ json: partial, vectorizer, logistic, forest });

  progress('evaluation', 0, 1);
  const yHold = holdout.map((r) => r.label);
  const scores = holdout.map((r) => model.predict(r.input, opts.nearestFailure));
  const linearScores = holdout.map((r) => logistic.predict(withMeta(vectorizer.transform(r.input), metaFeatures(r.input, meta), scale, vectorizer.dimension)));
  const baseline = recentModelFailureRate(train, holdout, opts.baselineWindow, globalRate);
  const summary: TrainingSummary = {
    rows: sorted.length,
    train_rows: train.length,
    holdout_rows: holdout.length,
    failure_rate: Math.round((sorted.reduce((s, r) => s + r.label, 0) / sorted.length) * 1e4) / 1e4,
    split: `time-ordered: the newest ${Math.round(opts.holdoutShare * 100)}% held out`,
    unlabelled_lines: opts.unlabelledLines ?? 0,
    bad_lines: opts.badLines ?? 0,
    metrics: evaluate(scores, yHold, opts.threshold, opts.fprTarget),
    baseline_metrics: evaluate(baseline, yHold, opts.threshold, opts.fprTarget),
    linear_roc_auc: rocAuc(linearScores, yHold),
    forest_rows: Math.min(fitRows, opts.forest.maxRows),
    validation_rows: train.length - fitRows,
    seconds: Math.round((clock.now() - started) / 10) / 100,
  };
  progress('evaluation', 1, 1);
  const body = { ...model.json, training: summary };
  const version = `fp-${createdAt.slice(0, 10).replaceAll('-', '')}-${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 8)}`;
  model = FailureModel.fromJSON({ ...body, model_version: version });
  return { model, summary };
}

/** The weight of the forest's vote share (against the linear score) with the best validation AUC. */
export function chooseForestWeight(votes: readonly number[], linear: readonly number[], labels: readonly number[]): number {
  let best = { weight: 1, auc: -1 };
  for (let k = 10; k >= 0; k--) {
    const weight = k / 10;
    const auc = rocAuc(votes.map((v, i) => weight * v + (1 - weight) * linear[i]!), labels) ?? -1;
    if (auc > best.auc) best = { weight, auc };
  }
  return best.weight;
}

/**
 * The baseline: each hold-out trial scored by its model's failure rate over that model's last
 * `window` training trials (the overall rate for a model never seen).
 */
export function recentModelFailureRate(train: readonly LabelledRow[], holdout: readonly LabelledRow[], window: number, globalRate: number): number[] {
  const recent = new Map<string, number[]>();
  for (const r of train) {
    const key = r.input.model ?? '';
    const list = recent.get(key) ?? [];
    list.push(r.label);
    if (list.length > window) list.shift();
    recent.set(key, list);
  }
  return holdout.map((r) => {
    const list = recent.get(r.input.model ?? '');
    return list && list.length > 0 ? list.reduce((s, y) => s + y, 0) / list.length : globalRate;
  });
}
