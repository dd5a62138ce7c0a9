import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FailureModel, ModelFileError, type TrainingSummary } from './model.js';
import type { Metrics } from './metrics.js';

/** The model file and its card inside a model directory (models/failure-predictor by default). */
export const MODEL_FILE = 'failure-predictor.json';
export const MODEL_CARD = 'MODEL_CARD.md';

export type LoadedModel =
  | { status: 'ready'; model: FailureModel; path: string }
  | { status: 'absent'; path: string }
  | { status: 'invalid'; path: string; error: string };

/** Writes model + card, each to a temporary file then renamed (a crash leaves the old model). */
export function saveModel(dir: string, model: FailureModel): { modelPath: string; cardPath: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const modelPath = path.join(dir, MODEL_FILE);
  const cardPath = path.join(dir, MODEL_CARD);
  writePrivate(modelPath, JSON.stringify(model.json));
  writePrivate(cardPath, modelCard(model));
  return { modelPath, cardPath };
}

function writePrivate(file: string, text: string): void {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Reads and checks the model in `dir`; never throws for a missing or broken file. */
export function loadModel(dir: string): LoadedModel {
  const file = path.join(dir, MODEL_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'absent', path: file };
    return { status: 'invalid', path: file, error: `cannot read ${file}: ${(err as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: 'invalid', path: file, error: `${file} is not valid JSON (corrupt or truncated): retrain with task-orchestrator train` };
  }
  try {
    return { status: 'ready', model: FailureModel.fromJSON(parsed), path: file };
  } catch (err) {
    const why = err instanceof ModelFileError ? err.message : `unexpected content (${(err as Error).message})`;
    return { status: 'invalid', path: file, error: `${file} cannot be used: ${why}` };
  }
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));

export function metricsTable(s: TrainingSummary): string {
  const row = (name: string, m: Metrics) =>
    `| ${name} | ${num(m.roc_auc)} | ${pct(m.accuracy)} | ${pct(m.precision)} | ${pct(m.recall)} | ${num(m.f1)} | ${num(m.brier)} | ${pct(m.recall_at_fpr)} |`;
  return [
    `| scorer | ROC AUC | accuracy | precision | recall | F1 | Brier | recall at ${pct(s.metrics.fpr_target)} FPR |`,
    '|---|---|---|---|---|---|---|---|',
    row('failure predictor', s.metrics),
    row('baseline: recent failure rate of the model', s.baseline_metrics),
  ].join('\n');
}

export function modelCard(model: FailureModel): string {
  const j = model.json;
  const s = j.training;
  return `# Failure predictor ${j.model_version}

Predicts, before a call is sent, the probability that it fails (graders fail, or it errors for a
reason the prompt could cause). Trained ${j.created_at} by \`task-orchestrator train\`.

- Feature set: ${j.feature_set} (pre-call fields only: prompt, system, model, provider, schema, graders)
- Data: ${s.rows} labelled trials (${s.train_rows} train, ${s.holdout_rows} hold-out); ${s.bad_lines} bad lines skipped, ${s.unlabelled_lines} unlabelled
- Class balance: ${pct(s.failure_rate)} failed
- Split: ${s.split}
- Model: TF-IDF (${j.vectorizer.vocabulary.length} stemmed word terms + ${j.vectorizer.buckets} hashed character 3-gram buckets) → logistic regression → text risk; ${j.meta.names.length} meta features + text risk → ${j.forest.trees.length} trees (ml-random-forest on the ${j.forest.columns.length} non-constant columns, ${s.forest_rows} bootstrap rows each) → vote share
- High risk at: vote share ≥ ${j.threshold}
- Nearest-failure features: ${j.uses_nearest_failure ? 'used' : 'not used (zero)'}
- Training time: ${s.seconds} s

## Hold-out metrics (threshold ${j.threshold})

${metricsTable(s)}
`;
}
