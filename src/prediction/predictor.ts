import fs from 'node:fs';
import path from 'node:path';
import type { NearestFailure, PreCallInput } from './features.js';

/**
 * Serving. Light on purpose: the model code (natural, ml-random-forest) is imported only when a
 * model file exists, so a server without a trained model pays nothing at start-up. No model →
 * no prediction (undefined), never an invented one.
 */
export interface RiskAssessment {
  riskScore: number;
  isHighRisk: boolean;
  threshold: number;
  modelVersion: string;
  topFeatures: Array<{ feature: string; weight: number }>;
}

export type PredictorState =
  | { status: 'ready'; modelVersion: string; path: string }
  | { status: 'absent'; path: string }
  | { status: 'invalid'; path: string; error: string };

export interface FailurePredictor {
  readonly state: PredictorState;
  /** The risk of one call; undefined when no usable model is loaded. */
  assess(input: PreCallInput, opts?: { explain?: boolean }): RiskAssessment | undefined;
  /** What to tell a user who asked for a prediction and got none. */
  unavailableReason(): string;
}

export const TRAIN_HINT =
  'Train one: task-orchestrator export --format records --out trials.jsonl, then task-orchestrator train --data trials.jsonl (it needs passed and failed trials).';

export interface FailurePredictorOptions {
  /**
   * The immune system's port (optional): similarity of a prompt to the nearest remembered
   * failure and that pattern's failure rate. Called once per assessment, synchronously, only
   * when the loaded model was trained with it (model file `uses_nearest_failure`); otherwise
   * those two features stay 0 as in training and the port is never called.
   */
  nearestFailure?: NearestFailure | undefined;
}

/** Opens the model in `dir` (absent or broken is a state, not an exception). */
export async function openFailurePredictor(dir: string, opts: FailurePredictorOptions = {}): Promise<FailurePredictor> {
  // The name modelFile.ts writes (MODEL_FILE); repeated here so this check imports nothing heavy.
  const file = path.join(dir, 'failure-predictor.json');
  if (!fs.existsSync(file)) return new LoadedPredictor({ status: 'absent', path: file });
  const { loadModel } = await import('./modelFile.js');
  const loaded = loadModel(dir);
  return new LoadedPredictor(loaded, opts.nearestFailure);
}

type Loaded = Awaited<ReturnType<typeof import('./modelFile.js')['loadModel']>> | { status: 'absent'; path: string };

class LoadedPredictor implements FailurePredictor {
  readonly state: PredictorState;

  constructor(private readonly loaded: Loaded, private readonly nearestFailure?: NearestFailure) {
    this.state =
      loaded.status === 'ready'
        ? { status: 'ready', modelVersion: loaded.model.version, path: loaded.path }
        : loaded.status === 'invalid'
          ? { status: 'invalid', path: loaded.path, error: loaded.error }
          : { status: 'absent', path: loaded.path };
  }

  assess(input: PreCallInput, opts: { explain?: boolean } = {}): RiskAssessment | undefined {
    if (this.loaded.status !== 'ready') return undefined;
    const model = this.loaded.model;
    let riskScore: number;
    let topFeatures: RiskAssessment['topFeatures'] = [];
    if (opts.explain) {
      const e = model.explain(input, this.nearestFailure);
      riskScore = e.risk;
      topFeatures = e.topFeatures;
    } else {
      riskScore = model.predict(input, this.nearestFailure);
    }
    return { riskScore, isHighRisk: riskScore >= model.threshold, threshold: model.threshold, modelVersion: model.version, topFeatures };
  }

  unavailableReason(): string {
    const s = this.state;
    if (s.status === 'invalid') return `The failure model at ${s.path} cannot be used: ${s.error}. ${TRAIN_HINT}`;
    if (s.status === 'absent') return `No failure model is trained (looked for ${s.path}). ${TRAIN_HINT}`;
    return '';
  }
}
