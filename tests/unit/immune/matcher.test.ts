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
