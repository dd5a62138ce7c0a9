import { RandomForestClassifier } from 'ml-random-forest';
import { seededRandom, shuffle } from './random.js';

/**
 * ml-random-forest on the dense features, where it is strong: few columns, bounded rows.
 *
 * Cost, measured: ml-cart proposes a threshold wherever the label changes along a column sorted
 * by value and pays O(rows) per threshold, so a tree costs ~O(rows² × columns). Quantising
 * columns does not change that (thresholds follow label changes, not distinct values; ordering
 * rows by label to merge them makes its class count, an indexOf per element, quadratic
 * instead). What does help: columns constant in the training data are dropped (each still cost
 * O(rows²) to search), and each tree gets its own bootstrap of at most `maxRows` rows, so the
 * forest as a whole sees many more rows than any one tree.
 *
 * Row bagging is ours (seeded, sized); feature sampling is the library's (maxFeatures, per
 * tree). Risk is the share of trees voting "fails": predictProbability is off for small forests.
 */
export interface ForestOptions {
  trees: number;
  maxDepth: number;
  /** Share of columns each tree sees (ml-random-forest samples features per tree). */
  maxFeatures: number;
  minNumSamples: number;
  /** Rows in each tree's bootstrap sample at most. */
  maxRows: number;
  seed: number;
}

export const DEFAULT_FOREST: ForestOptions = { trees: 25, maxDepth: 6, maxFeatures: 0.6, minNumSamples: 8, maxRows: 600, seed: 7 };

type TreeJson = ReturnType<RandomForestClassifier['toJSON']>;

export interface ForestJson {
  /** The input columns the trees read, in order (the others were constant in training). */
  columns: number[];
  trees: TreeJson[];
}

/**
 * One single-tree ml-random-forest per tree, each with its own bootstrap sample and feature
 * sample: training can report progress tree by tree, and votes are read directly.
 */
export class VoteForest {
  private constructor(
    private readonly columns: number[],
    private readonly forests: RandomForestClassifier[],
  ) {}

  get trees(): number {
    return this.forests.length;
  }

  static fit(rows: readonly number[][], labels: readonly (0 | 1)[], opts: ForestOptions = DEFAULT_FOREST, onTree?: (done: number, total: number) => void): VoteForest {
    if (new Set(labels).size < 2) throw new Error('training data needs both passed and failed trials');
    const width = rows[0]?.length ?? 0;
    const columns = Array.from({ length: width }, (_, c) => c).filter((c) => rows.some((r) => r[c] !== rows[0]![c]));
    if (columns.length === 0) throw new Error('every feature is constant in the training data');
    const kept = rows.map((r) => columns.map((c) => r[c]!));
    const random = seededRandom(opts.seed);
    const size = Math.min(rows.length, opts.maxRows);
    const forests: RandomForestClassifier[] = [];
    for (let t = 0; t < opts.trees; t++) {
      const picked = bootstrap(labels, size, random);
      const forest = new RandomForestClassifier({
        nEstimators: 1,
        maxFeatures: opts.maxFeatures,
        replacement: false,
        useSampleBagging: false,
        noOOB: true,
        seed: Math.floor(random() * 2 ** 31),
        treeOptions: { maxDepth: opts.maxDepth, minNumSamples: opts.minNumSamples },
      });
      forest.train(
        picked.map((i) => kept[i]!),
        picked.map((i) => labels[i]!),
      );
      forests.push(forest);
      onTree?.(t + 1, opts.trees);
    }
    return new VoteForest(columns, forests);
  }

  static fromJSON(json: ForestJson): VoteForest {
    if (typeof json !== 'object' || json === null || !Array.isArray(json.trees) || json.trees.length === 0) throw new Error('the forest has no trees');
    if (!Array.isArray(json.columns) || json.columns.length === 0 || !json.columns.every((c) => Number.isInteger(c) && c >= 0)) throw new Error('the forest names no input columns');
    return new VoteForest(json.columns, json.trees.map((tree) => RandomForestClassifier.load(tree)));
  }

  toJSON(): ForestJson {
    return { columns: this.columns, trees: this.forests.map((f) => f.toJSON()) };
  }

  /** Share of trees predicting class 1 (a fail). */
  voteShare(row: readonly number[]): number {
    const kept = this.columns.map((c) => row[c]!);
    // Each tree's own classify + argmax, without the per-call matrix views predict() builds
    // (those cost more than the trees themselves for one row).
    let yes = 0;
    for (const forest of this.forests) {
      const { estimators, indexes } = forest as unknown as TreeAccess;
      const x = indexes[0]!.map((c) => kept[c]!);
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

/** `size` indices drawn with replacement, holding both classes. */
function bootstrap(labels: readonly (0 | 1)[], size: number, random: () => number): number[] {
  const passes: number[] = [];
  const fails: number[] = [];
  for (let k = 0; k < size; k++) {
    const i = Math.floor(random() * labels.length);
    (labels[i] === 1 ? fails : passes).push(i);
  }
  if (fails.length === 0 || passes.length === 0) return bootstrap(labels, size, random);
  return shuffle([...passes, ...fails], random);
}
