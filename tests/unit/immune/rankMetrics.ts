/** ROC AUC as the probability a random positive outscores a random negative (ties half). */
export function rocAuc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Recall at the lowest threshold whose false-positive rate is at most `fpr`. */
export function recallAtFpr(pos: number[], neg: number[], fpr: number): { recall: number; threshold: number } {
  const sortedNeg = [...neg].sort((a, b) => b - a);
  const allowed = Math.floor(neg.length * fpr);
  // Scores strictly above the (allowed+1)-th highest benign score keep FPR within the bound.
  const threshold = sortedNeg[allowed] ?? -Infinity;
  const recall = pos.filter((p) => p > threshold).length / pos.length;
  return { recall, threshold };
}
