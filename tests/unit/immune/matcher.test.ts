import { describe, expect, it } from 'vitest';
import { TfIdfIndex } from '../../../src/immune/matcher.js';
import { promptTerms } from '../../../src/immune/patternMemory.js';

describe('TF-IDF matcher', () => {
  const index = new TfIdfIndex();
  index.set('invoice', promptTerms('Extract the invoice number, total amount and due date from this invoice as fields'));
  index.set('poem', promptTerms('Write a short poem about the autumn sea and falling leaves'));
  index.set('sql', promptTerms('Write a SQL query that joins orders and customers and counts orders per customer'));

  it('finds a differently worded prompt of the same kind, best first', () => {
    const found = index.query(promptTerms('From the attached invoices, extract each invoice total and its due date'), { k: 3, threshold: 0.2 });
    expect(found[0]?.id).toBe('invoice');
    expect(found.map((m) => m.id)).not.toContain('poem');
  });

  it('returns nothing for an unrelated prompt and honours k and threshold', () => {
    expect(index.query(promptTerms('What is the capital of Peru?'), { k: 3, threshold: 0.2 })).toEqual([]);
    expect(index.query(promptTerms('write'), { k: 1, threshold: 0 }).length).toBeLessThanOrEqual(1);
    const exact = index.query(promptTerms('Write a short poem about the autumn sea and falling leaves'), { k: 3, threshold: 0.99 });
    expect(exact.map((m) => m.id)).toEqual(['poem']);
  });

  it('touches only the postings of the query terms (no scan of every document)', () => {
    const big = new TfIdfIndex();
    for (let i = 0; i < 2000; i++) big.set(`d${i}`, new Map([[`w${i}`, 1], [`v${i % 50}`, 1]]));
    let visited = 0;
    const accept = () => {
      visited += 1;
      return true;
    };
    big.query(new Map([['w7', 1]]), { k: 5, threshold: 0, accept });
    expect(visited).toBe(1);
  });

  it('removes and replaces documents', () => {
    const i = new TfIdfIndex();
    i.set('a', promptTerms('alpha beta gamma'));
    i.set('a', promptTerms('delta epsilon'));
    expect(i.size).toBe(1);
    expect(i.query(promptTerms('alpha beta'), { k: 1, threshold: 0.01 })).toEqual([]);
    i.remove('a');
    expect(i.query(promptTerms('delta'), { k: 1, threshold: 0 })).toEqual([]);
  });
});

/** Brute-force TF-IDF cosine over every document: the reference the pruned index must agree with. */
function exhaustiveScorer(docs: Map<string, Map<string, number>>, maxTerms: number) {
  const vectors = new Map<string, Map<string, number>>();
  const df = new Map<string, number>();
  for (const [id, counts] of docs) {
    const top = new Map([...counts].sort((a, b) => b[1] - a[1]).slice(0, maxTerms).map(([t, c]) => [t, 1 + Math.log(c)]));
    vectors.set(id, top);
    for (const t of top.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  }
  const idf = (t: string) => Math.log((docs.size + 1) / ((df.get(t) ?? 0) + 1)) + 1;
  const norms = new Map([...vectors].map(([id, v]) => [id, Math.sqrt([...v].reduce((s, [t, w]) => s + (w * idf(t)) ** 2, 0))]));
  return (query: Map<string, number>, k: number) => {
    const q = new Map([...query].map(([t, c]) => [t, (1 + Math.log(c)) * idf(t)]));
    const qNorm = Math.sqrt([...q.values()].reduce((s, w) => s + w * w, 0));
    const scored: Array<{ id: string; similarity: number }> = [];
    for (const [id, v] of vectors) {
      let dot = 0;
      for (const [t, w] of v) dot += w * idf(t) * (q.get(t) ?? 0);
      if (dot > 0) scored.push({ id, similarity: dot / (qNorm * norms.get(id)!) });
    }
    return scored.sort((a, b) => b.similarity - a.similarity || (a.id < b.id ? -1 : 1)).slice(0, k);
  };
}

describe('pruned look-up against an exhaustive scan', () => {
  it('gives the same top-1 and at least 0.95 recall of the top 5 on 4,000 patterns', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const vocab = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const common = ['extract', 'summar', 'write', 'list', 'report', 'file', 'number'];
    const word = () => vocab[Math.floor(vocab.length * rand() ** 1.5)]!;
    const makeDoc = () => {
      const counts = new Map<string, number>();
      for (let i = 0; i < 8; i++) counts.set(word(), (counts.get(word()) ?? 0) + 1);
      for (const c of common) if (rand() < 0.5) counts.set(c, 1 + Math.floor(rand() * 3));
      return counts;
    };
    const docs = new Map<string, Map<string, number>>();
    const index = new TfIdfIndex({ maxTermsPerDoc: 64 });
    for (let i = 0; i < 4000; i++) {
      const d = makeDoc();
      docs.set(`p${i}`, d);
      index.set(`p${i}`, d);
    }
    // Replaced documents must not linger.
    for (let i = 0; i < 500; i++) {
      const d = makeDoc();
      docs.set(`p${i}`, d);
      index.set(`p${i}`, d);
    }
    const exhaustiveTopK = exhaustiveScorer(docs, 64);
    let sameTop1 = 0;
    let hits = 0;
    let expected = 0;
    const queries = 150;
    for (let q = 0; q < queries; q++) {
      // A query close to an existing pattern (shares most of its terms) plus noise, as a reworded prompt is.
      const base = docs.get(`p${Math.floor(rand() * 4000)}`)!;
      const query = new Map([...base].filter(() => rand() < 0.7));
      query.set(word(), 1);
      const truth = exhaustiveTopK(query, 5);
      const got = index.query(query, { k: 5, threshold: 0 });
      if (truth[0] && got[0]?.id === truth[0].id) sameTop1 += 1;
      // Norms are refreshed as the corpus grows, so similarities agree closely, not exactly.
      expect(Math.abs((got[0]?.similarity ?? 0) - (truth[0]?.similarity ?? 0))).toBeLessThan(0.02);
      const gotIds = new Set(got.map((m) => m.id));
      expected += truth.length;
      hits += truth.filter((t) => gotIds.has(t.id)).length;
    }
    expect(sameTop1).toBe(queries);
    expect(hits / expected).toBeGreaterThanOrEqual(0.95);
  });
});
