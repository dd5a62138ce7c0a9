import type { SparseVector } from './features.js';
import { seededRandom, shuffle } from './random.js';

/**
 * Logistic regression on sparse vectors, fitted by SGD with L2 regularisation. Small on purpose:
 * no maintained package does sparse input in Node; the text features are thousands of dimensions
 * with a few hundred non-zeros per row, so one epoch costs O(non-zeros).
 */
export interface LogisticJson {
  weights: number[];
  bias: number;
}

export interface LogisticOptions {
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
}

export const DEFAULT_LOGISTIC: LogisticOptions = { epochs: 10, learningRate: 0.5, l2: 1e-4, seed: 1 };

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

export class SparseLogistic {
  private constructor(private readonly w: Float64Array, private bias: number) {}

  static fromJSON(json: LogisticJson): SparseLogistic {
    return new SparseLogistic(Float64Array.from(json.weights), json.bias);
  }

  toJSON(): LogisticJson {
    return { weights: Array.from(this.w, (v) => Math.round(v * 1e6) / 1e6), bias: Math.round(this.bias * 1e6) / 1e6 };
  }

  get dimension(): number {
    return this.w.length;
  }

  static fit(xs: readonly SparseVector[], ys: readonly number[], dimension: number, opts: LogisticOptions = DEFAULT_LOGISTIC): SparseLogistic {
    const model = new SparseLogistic(new Float64Array(dimension), 0);
    const w = model.w;
    const prior = ys.reduce((s, y) => s + y, 0) / Math.max(1, ys.length);
    // Start at the base rate: the weights then only learn what moves risk away from it.
    model.bias = Math.log((prior + 1e-3) / (1 - prior + 1e-3));
    const order = xs.map((_, i) => i);
    const random = seededRandom(opts.seed);
    // Lazy L2: weights are scaled by one shared factor instead of touching every weight per step.
    let scale = 1;
    let step = 0;
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      shuffle(order, random);
      for (const i of order) {
        const x = xs[i]!;
        const rate = opts.learningRate / (1 + opts.learningRate * opts.l2 * step++);
        let z = model.bias;
        for (let k = 0; k < x.indices.length; k++) z += w[x.indices[k]!]! * scale * x.values[k]!;
        const g = sigmoid(z) - ys[i]!;
        scale *= 1 - rate * opts.l2;
        if (scale < 1e-6) {
          for (let j = 0; j < w.length; j++) w[j]! *= scale;
          scale = 1;
        }
        for (let k = 0; k < x.indices.length; k++) w[x.indices[k]!]! -= (rate * g * x.values[k]!) / scale;
        model.bias -= rate * g;
      }
    }
    for (let j = 0; j < w.length; j++) w[j]! *= scale;
    return model;
  }

  /** The log-odds. */
  margin(x: SparseVector): number {
    let z = this.bias;
    for (let k = 0; k < x.indices.length; k++) z += (this.w[x.indices[k]!] ?? 0) * x.values[k]!;
    return z;
  }

  predict(x: SparseVector): number {
    return sigmoid(this.margin(x));
  }

  /** The dimensions that push this input's risk up most: weight × value, largest first. */
  contributions(x: SparseVector, top: number): Array<{ index: number; contribution: number }> {
    return x.indices
      .map((index, k) => ({ index, contribution: (this.w[index] ?? 0) * x.values[k]! }))
      .filter((c) => c.contribution > 0)
      .sort((a, b) => b.contribution - a.contribution)
      .slice(0, top);
  }
}
