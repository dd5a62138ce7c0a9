/** Hold-out metrics of a risk score against labels (1 = failed). */
export interface Metrics {
  rows: number;
  positives: number;
  threshold: number;
  accuracy: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** Null when the hold-out has only one class. */
  roc_auc: number | null;
  brier: number;
  /** The false-positive rate recall_at_fpr is measured at. */
  fpr_target: number;
  recall_at_fpr: number | null;
}

/** ROC AUC by the rank-sum (Mann–Whitney) formula; ties count half. */
export function rocAuc(scores: readonly number[], labels: readonly number[]): number | null {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (order[k]![1] === 1) {
      positives++;
      rankSum += rank;
    }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Recall at the lowest threshold whose false-positive rate stays ≤ fpr. */
export function recallAtFpr(scores: readonly number[], labels: readonly number[], fpr: number): number | null {
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => b[0] - a[0]);
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) {
      if (order[j]![1] === 1) tp++;
      else fp++;
      j++;
    }
    if (fp / negatives <= fpr) best = tp / positives;
    else break;
    i = j;
  }
  return best;
}

export function evaluate(scores: readonly number[], labels: readonly number[], threshold: number, fprTarget = 0.1): Metrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  let brier = 0;
  scores.forEach((s, i) => {
    const y = labels[i]!;
    const predicted = s >= threshold ? 1 : 0;
    if (predicted === 1 && y === 1) tp++;
    else if (predicted === 1) fp++;
    else if (y === 1) fn++;
    else tn++;
    brier += (s - y) ** 2;
  });
  const n = scores.length;
  const precision = tp + fp === 0 ? null : tp / (tp + fp);
  const recall = tp + fn === 0 ? null : tp / (tp + fn);
  const f1 = precision === null || recall === null || precision + recall === 0 ? null : (2 * precision * recall) / (precision + recall);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10_000) / 10_000);
  return {
    rows: n,
    positives: tp + fn,
    threshold,
    accuracy: round(n === 0 ? 0 : (tp + tn) / n)!,
    precision: round(precision),
    recall: round(recall),
    f1: round(f1),
    roc_auc: round(rocAuc(scores, labels)),
    brier: round(n === 0 ? 0 : brier / n)!,
    fpr_target: fprTarget,
    recall_at_fpr: round(recallAtFpr(scores, labels, fprTarget)),
  };
}
