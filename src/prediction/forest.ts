import { RandomForestClassifier } from 'ml-random-forest';
import { seededRandom, shuffle } from './random.js';

/**
 * ml-random-forest on the dense features, where it is strong: few columns, bounded rows. Its
 * split search costs about (rows × label changes) per column and node, so training takes a
 * stratified sample of at most `maxRows`. Risk is the share of trees voting "fails": its
 * predictProbability is off for small forests.
 */
export interface ForestOptions {
  trees: number;
  maxDepth: number;
  /** Share of columns each tree sees (ml-random-forest samples features per tree). */
  maxFeatures: number;
  minNumSamples: number;
  /** Rows the forest trains on at most (a stratified sample of the training split). */
  maxRows: number;
  seed: number;
}

export const DEFAULT_FOREST: ForestOptions = { trees: 25, maxDepth: 6, maxFeatures: 0.6, minNumSamples: 8, maxRows: 500, seed: 7 };

export type ForestJson = Array<ReturnType<RandomForestClassifier['toJSON']>>;

/**
 * One single-tree ml-random-forest per tree (each with its own bagging and feature sample, as
 * inside one forest): training can report progress tree by tree, and votes are read directly.
 */
export class VoteForest {
  private constructor(private readonly forests: RandomForestClassifier[]) {}

  get trees(): number {
    return this.forests.length;
  }

  static fit(rows: readonly number[][], labels: readonly (0 | 1)[], opts: ForestOptions = DEFAULT_FOREST, onTree?: (done: number, total: number) => void): VoteForest {
    const picked = stratifiedSample(labels, opts.maxRows, opts.seed);
    const x = picked.map((i) => [...rows[i]!]);
    const y = picked.map((i) => labels[i]!);
    if (new Set(y).size < 2) throw new Error('training data needs both passed and failed trials');
    const seeds = seededRandom(opts.seed);
    const forests: RandomForestClassifier[] = [];
    for (let t = 0; t < opts.trees; t++) {
      const forest = new RandomForestClassifier({
        nEstimators: 1,
        maxFeatures: opts.maxFeatures,
        replacement: false,
        useSampleBagging: true,
        noOOB: true,
        seed: Math.floor(seeds() * 2 ** 31),
        treeOptions: { maxDepth: opts.maxDepth, minNumSamples: opts.minNumSamples },
      });
      forest.train(x, y);
      forests.push(forest);
      onTree?.(t + 1, opts.trees);
    }
    return new VoteForest(forests);
  }

  static fromJSON(json: ForestJson): VoteForest {
    if (!Array.isArray(json) || json.length === 0) throw new Error('the forest has no trees');
    return new VoteForest(json.map((tree) => RandomForestClassifier.load(tree)));
  }

  toJSON(): ForestJson {
    return this.forests.map((f) => f.toJSON());
  }

  /** Share of trees predicting class 1 (a fail). */
  voteShare(row: readonly number[]): number {
    // Each tree's own classify + argmax, without the per-call matrix views predict() builds
    // (those cost more than the trees themselves for one row).
    let yes = 0;
    for (const forest of this.forests) {
      const { estimators, indexes } = forest as unknown as TreeAccess;
      const columns = indexes[0]!;
      const x = columns.map((c) => row[c]!);
      if (estimators[0]!.root.classify(x).maxRowIndex(0)[1] === 1) yes++;
    }
    return yes / this.forests.length;
  }
}

/** The parts of a trained ml-random-forest a single-row vote reads. */
interface TreeAccess {
  indexes: number[][];
  estimators: Array<{ root: { classify(row: number[]): { maxRowIndex(row: number): [number, number] } } }>;
}

/** At most `max` indices, each class kept in its share, in shuffled order. */
function stratifiedSample(labels: readonly (0 | 1)[], max: number, seed: number): number[] {
  const random = seededRandom(seed);
  const byClass: [number[], number[]] = [[], []];
  labels.forEach((y, i) => byClass[y].push(i));
  if (labels.length <= max) return shuffle(labels.map((_, i) => i), random);
  const keep = (ids: number[]) => shuffle(ids, random).slice(0, Math.max(1, Math.round((ids.length / labels.length) * max)));
  return shuffle([...keep(byClass[0]), ...keep(byClass[1])], random);
}
