/**
 * TF-IDF vectors with cosine similarity over an inverted index: a look-up touches only the
 * patterns that share a term with the query, never every pattern. Terms found in more than
 * `maxDocFraction` of the documents are skipped at query time (they carry almost no weight and
 * would make every look-up a scan).
 */
export interface Match {
  id: string;
  similarity: number;
}

export interface QueryOptions {
  k: number;
  threshold: number;
  /** Only documents this accepts are returned. */
  accept?: ((id: string) => boolean) | undefined;
}

interface Doc {
  id: string;
  /** Term -> 1 + ln(count). */
  tf: Map<string, number>;
  norm: number;
}

export interface TfIdfIndexOptions {
  /** Documents a vector keeps at most this many terms (the most frequent). */
  maxTermsPerDoc?: number;
  maxDocFraction?: number;
}

export class TfIdfIndex {
  private readonly docs = new Map<number, Doc>();
  private readonly ids = new Map<string, number>();
  private readonly postings = new Map<string, Map<number, number>>();
  private nextKey = 1;
  /** Document count when norms were last computed; norms are refreshed as the corpus grows. */
  private normsAtSize = 0;
  private readonly maxTerms: number;
  private readonly maxDocFraction: number;

  constructor(opts: TfIdfIndexOptions = {}) {
    this.maxTerms = opts.maxTermsPerDoc ?? 64;
    this.maxDocFraction = opts.maxDocFraction ?? 0.02;
  }

  get size(): number {
    return this.docs.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Adds or replaces a document from its term counts. */
  set(id: string, counts: ReadonlyMap<string, number>): void {
    this.remove(id);
    const key = this.nextKey++;
    const tf = new Map<string, number>();
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, this.maxTerms);
    for (const [term, count] of top) {
      const weight = 1 + Math.log(count);
      tf.set(term, weight);
      let list = this.postings.get(term);
      if (!list) this.postings.set(term, (list = new Map()));
      list.set(key, weight);
    }
    const doc: Doc = { id, tf, norm: 0 };
    this.docs.set(key, doc);
    this.ids.set(id, key);
    if (this.docs.size > this.normsAtSize * 1.25 + 8) this.refreshNorms();
    else doc.norm = this.normOf(doc.tf);
  }

  remove(id: string): void {
    const key = this.ids.get(id);
    if (key === undefined) return;
    const doc = this.docs.get(key)!;
    for (const term of doc.tf.keys()) {
      const list = this.postings.get(term)!;
      list.delete(key);
      if (list.size === 0) this.postings.delete(term);
    }
    this.docs.delete(key);
    this.ids.delete(id);
  }

  /** The `k` most similar documents with similarity >= threshold, best first. */
  query(counts: ReadonlyMap<string, number>, opts: QueryOptions): Match[] {
    const n = this.docs.size;
    if (n === 0 || counts.size === 0) return [];
    const maxDf = Math.max(8, Math.floor(n * this.maxDocFraction));
    const scores = new Map<number, number>();
    let queryNormSq = 0;
    for (const [term, count] of counts) {
      const list = this.postings.get(term);
      const idf = this.idf(list?.size ?? 0);
      const qw = (1 + Math.log(count)) * idf;
      queryNormSq += qw * qw;
      if (!list || list.size > maxDf) continue;
      const factor = qw * idf;
      for (const [key, weight] of list) scores.set(key, (scores.get(key) ?? 0) + factor * weight);
    }
    const queryNorm = Math.sqrt(queryNormSq);
    const found: Match[] = [];
    for (const [key, dot] of scores) {
      const doc = this.docs.get(key)!;
      const similarity = doc.norm > 0 ? Math.min(1, dot / (queryNorm * doc.norm)) : 0;
      if (similarity < opts.threshold) continue;
      if (opts.accept && !opts.accept(doc.id)) continue;
      found.push({ id: doc.id, similarity });
    }
    found.sort((a, b) => b.similarity - a.similarity || (a.id < b.id ? -1 : 1));
    return found.slice(0, opts.k);
  }

  /** Rough bytes held by the index (strings at 2 bytes a char, map entries at ~40 bytes). */
  approximateBytes(): number {
    let bytes = 0;
    for (const [term, list] of this.postings) bytes += 2 * term.length + 80 + list.size * 40;
    for (const doc of this.docs.values()) bytes += 2 * doc.id.length + 120 + doc.tf.size * 40;
    return bytes;
  }

  private idf(df: number): number {
    return Math.log((this.docs.size + 1) / (df + 1)) + 1;
  }

  private normOf(tf: ReadonlyMap<string, number>): number {
    let sum = 0;
    for (const [term, weight] of tf) {
      const w = weight * this.idf(this.postings.get(term)?.size ?? 0);
      sum += w * w;
    }
    return Math.sqrt(sum);
  }

  private refreshNorms(): void {
    for (const doc of this.docs.values()) doc.norm = this.normOf(doc.tf);
    this.normsAtSize = this.docs.size;
  }
}
