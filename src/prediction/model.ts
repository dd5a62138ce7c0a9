import { FEATURE_SET_VERSION, META_FEATURE_NAMES, metaFeatures, TextVectorizer, type MetaContext, type NearestFailure, type PreCallInput, type SparseVector, type VectorizerJson } from './features.js';
import { VoteForest, type ForestJson } from './forest.js';
import { SparseLogistic, type LogisticJson } from './logistic.js';
import type { Metrics } from './metrics.js';

/**
 * A trained failure predictor: text TF-IDF → sparse logistic regression → text risk; the dense
 * meta features plus that text risk → forest → vote share = risk. Serialised as one JSON file.
 */
export const MODEL_FILE_FORMAT = 'task-orchestrator.failure-model.v2';

export interface TrainingSummary {
  rows: number;
  train_rows: number;
  holdout_rows: number;
  failure_rate: number;
  split: string;
  unlabelled_lines: number;
  bad_lines: number;
  metrics: Metrics;
  baseline_metrics: Metrics;
  /** Hold-out ROC AUC of the linear stage alone (text + meta → logistic), before the forest. */
  linear_roc_auc: number | null;
  /** Rows in each tree's bootstrap sample. */
  forest_rows: number;
  /** Newest training rows kept from the forest to choose forest_weight. */
  validation_rows: number;
  seconds: number;
}

export interface FailureModelJson {
  format: typeof MODEL_FILE_FORMAT;
  feature_set: string;
  model_version: string;
  created_at: string;
  threshold: number;
  uses_nearest_failure: boolean;
  /** risk = forest_weight × vote share + (1 − forest_weight) × linear score. */
  forest_weight: number;
  meta: { names: string[]; model_failure_rate: Record<string, number>; global_failure_rate: number; mean: number[]; std: number[] };
  vectorizer: VectorizerJson;
  logistic: LogisticJson;
  forest: ForestJson;
  training: TrainingSummary;
}

export interface RiskExplanation {
  risk: number;
  textRisk: number;
  topFeatures: Array<{ feature: string; weight: number }>;
}

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export const FOREST_COLUMNS = [...META_FEATURE_NAMES, 'text_risk'] as const;

export class FailureModel {
  private constructor(
    readonly json: FailureModelJson,
    private readonly vectorizer: TextVectorizer,
    private readonly logistic: SparseLogistic,
    private readonly forest: VoteForest,
    private readonly meta: MetaContext,
  ) {}

  get version(): string {
    return this.json.model_version;
  }

  get threshold(): number {
    return this.json.threshold;
  }

  static create(parts: {
    /** Without `training` while it is being evaluated: the summary is added, then the file is checked by fromJSON. */
    json: Omit<FailureModelJson, 'vectorizer' | 'logistic' | 'forest' | 'training'> & { training?: TrainingSummary };
    vectorizer: TextVectorizer;
    logistic: SparseLogistic;
    forest: VoteForest;
  }): FailureModel {
    const json = { ...parts.json, vectorizer: parts.vectorizer.toJSON(), logistic: parts.logistic.toJSON(), forest: parts.forest.toJSON() } as FailureModelJson;
    return new FailureModel(json, parts.vectorizer, parts.logistic, parts.forest, metaContext(json));
  }

  /** Checks a parsed model file; throws ModelFileError saying what is wrong. */
  static fromJSON(value: unknown): FailureModel {
    const json = value as FailureModelJson;
    if (typeof value !== 'object' || value === null) throw new ModelFileError('not a JSON object');
    if (json.format !== MODEL_FILE_FORMAT) throw new ModelFileError(`format is ${JSON.stringify(json.format ?? null)}, expected ${MODEL_FILE_FORMAT}`);
    if (json.feature_set !== FEATURE_SET_VERSION) {
      throw new ModelFileError(`trained on feature set ${JSON.stringify(json.feature_set ?? null)}; this version computes ${FEATURE_SET_VERSION}: retrain it`);
    }
    if (!json.meta || JSON.stringify(json.meta.names) !== JSON.stringify(META_FEATURE_NAMES) || json.meta.mean?.length !== META_FEATURE_NAMES.length || json.meta.std?.length !== META_FEATURE_NAMES.length) throw new ModelFileError('its meta feature list does not match this version: retrain it');
    if (typeof json.forest_weight !== 'number' || !(json.forest_weight >= 0 && json.forest_weight <= 1)) throw new ModelFileError('forest_weight must be a number in 0..1');
    if (typeof json.threshold !== 'number' || !(json.threshold >= 0 && json.threshold <= 1)) throw new ModelFileError('threshold must be a number in 0..1');
    if (typeof json.model_version !== 'string' || json.model_version === '') throw new ModelFileError('model_version is missing');
    const v = json.vectorizer;
    if (!v || !Array.isArray(v.vocabulary) || !Array.isArray(v.wordIdf) || v.wordIdf.length !== v.vocabulary.length || !Number.isInteger(v.buckets) || !Array.isArray(v.bucketIdf) || v.bucketIdf.length !== v.buckets) {
      throw new ModelFileError('the text vectorizer is malformed');
    }
    const vectorizer = TextVectorizer.fromJSON(v);
    if (!json.logistic || !Array.isArray(json.logistic.weights) || json.logistic.weights.length !== vectorizer.dimension + META_FEATURE_NAMES.length || typeof json.logistic.bias !== 'number') {
      throw new ModelFileError('the text model does not match its vectorizer');
    }
    const logistic = SparseLogistic.fromJSON(json.logistic);
    let forest: VoteForest;
    try {
      forest = VoteForest.fromJSON(json.forest);
    } catch (err) {
      throw new ModelFileError(`the forest cannot be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
    const model = new FailureModel(json, vectorizer, logistic, forest, metaContext(json));
    // A model that cannot score one prompt is not a model.
    let probe: number;
    try {
      probe = model.predict({ operation: 'agent', prompt: 'probe' });
    } catch (err) {
      throw new ModelFileError(`it cannot score a prompt: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!Number.isFinite(probe)) throw new ModelFileError('it scores a prompt as NaN');
    return model;
  }

  private metaOf(input: PreCallInput, nearestFailure?: NearestFailure): number[] {
    return metaFeatures(input, nearestFailure && this.json.uses_nearest_failure ? { ...this.meta, nearestFailure } : this.meta);
  }

  /** The linear model's input: the text TF-IDF and the standardised meta features. */
  linearInput(input: PreCallInput, meta: readonly number[]): SparseVector {
    return withMeta(this.vectorizer.transform(input), meta, this.json.meta, this.vectorizer.dimension);
  }

  predict(input: PreCallInput, nearestFailure?: NearestFailure): number {
    const meta = this.metaOf(input, nearestFailure);
    return this.blend(meta, this.logistic.predict(this.linearInput(input, meta)));
  }

  private blend(meta: readonly number[], textRisk: number): number {
    const w = this.json.forest_weight;
    return w * this.forest.voteShare([...meta, textRisk]) + (1 - w) * textRisk;
  }

  explain(input: PreCallInput, nearestFailure?: NearestFailure, top = 5): RiskExplanation {
    const meta = this.metaOf(input, nearestFailure);
    const x = this.linearInput(input, meta);
    const textRisk = this.logistic.predict(x);
    const risk = this.blend(meta, textRisk);
    const name = (i: number) => (i < this.vectorizer.dimension ? this.vectorizer.featureName(i) : `meta:${META_FEATURE_NAMES[i - this.vectorizer.dimension]!}`);
    const topFeatures = [
      { feature: 'text_risk', weight: round(textRisk) },
      ...this.logistic.contributions(x, top).map((c) => ({ feature: name(c.index), weight: round(c.contribution) })),
    ].slice(0, top);
    return { risk, textRisk, topFeatures };
  }
}

/** Weight of the meta block against the L2-normalised text block in the linear model. */
const META_SCALE = 1 / Math.sqrt(META_FEATURE_NAMES.length);

/** Appends standardised meta features after the text dimensions. */
export function withMeta(x: SparseVector, meta: readonly number[], scale: { mean: number[]; std: number[] }, offset: number): SparseVector {
  const indices = [...x.indices];
  const values = [...x.values];
  meta.forEach((v, j) => {
    const z = Math.max(-5, Math.min(5, (v - scale.mean[j]!) / scale.std[j]!)) * META_SCALE;
    if (z !== 0) {
      indices.push(offset + j);
      values.push(z);
    }
  });
  return { indices, values };
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;

function metaContext(json: FailureModelJson): MetaContext {
  return { modelFailureRate: new Map(Object.entries(json.meta.model_failure_rate)), globalFailureRate: json.meta.global_failure_rate };
}
