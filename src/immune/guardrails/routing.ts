/**
 * Learned routing: per model, how the calls of the matched patterns went. A model with recorded
 * failures and no passes is risky; one that passed, or has not failed yet, is not. Model
 * selection starts higher when the cheap tier's risk is above one half.
 */
export interface ModelOutcome {
  model: string;
  failures: number;
  passes: number;
}

/** Laplace-smoothed failure rate, weighted by each pattern's similarity; undefined when never tried. */
export function failureRiskFor(outcomes: ReadonlyArray<{ similarity: number; models: readonly ModelOutcome[] }>): (model: string) => number | undefined {
  const table = new Map<string, { fail: number; pass: number }>();
  for (const { similarity, models } of outcomes) {
    for (const m of models) {
      const row = table.get(m.model) ?? { fail: 0, pass: 0 };
      row.fail += similarity * m.failures;
      row.pass += similarity * m.passes;
      table.set(m.model, row);
    }
  }
  return (model) => {
    const row = table.get(model);
    if (!row || row.fail + row.pass === 0) return undefined;
    return (row.fail + 0.5) / (row.fail + row.pass + 1);
  };
}

/** The cheapest tier not predicted to fail, when cheaper tiers are; undefined when the cheapest is fine. */
export function routedTier(tiers: readonly string[], risk: (model: string) => number | undefined): { from: string; to: string } | undefined {
  const first = tiers[0];
  if (first === undefined || (risk(first) ?? 0) <= 0.5) return undefined;
  const to = tiers.find((t) => (risk(t) ?? 0) <= 0.5);
  return to === undefined ? undefined : { from: first, to };
}
