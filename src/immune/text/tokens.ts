import { createRequire } from 'node:module';

/**
 * Tokenising and stemming through natural's deep modules only: its root import prints to stdout,
 * reads .env from the working directory and loads database drivers (a test holds us to this).
 */
const require = createRequire(import.meta.url);

interface NaturalTokenizer {
  tokenize(text: string): string[];
}
interface NaturalStemmer {
  stem(word: string): string;
}

const AggressiveTokenizer = require('natural/lib/natural/tokenizers/aggressive_tokenizer.js') as new () => NaturalTokenizer;
const porterStemmer = require('natural/lib/natural/stemmers/porter_stemmer.js') as NaturalStemmer;
const { words: stopwordList } = require('natural/lib/natural/util/stopwords.js') as { words: string[] };

const tokenizer = new AggressiveTokenizer();
const STOPWORDS: ReadonlySet<string> = new Set(stopwordList);
/** Placeholders the masker writes (<num>, <path>, ...) survive tokenising as their own terms. */
const PLACEHOLDER = /<(num|id|uuid|hex|path|url|email|date|time|secret)>/g;

/** Lower-cased, stemmed content words of `text` (stopwords and 1-letter tokens dropped). */
export function stemmedTerms(text: string): string[] {
  const prepared = text.replace(PLACEHOLDER, ' zz$1 ');
  const out: string[] = [];
  for (const raw of tokenizer.tokenize(prepared)) {
    const word = raw.toLowerCase().replace(/^['\-/]+|['\-/]+$/g, '');
    if (word.length < 2 || STOPWORDS.has(word)) continue;
    for (const part of word.includes('/') || word.includes('-') ? word.split(/[-/]/) : [word]) {
      if (part.length < 2 || STOPWORDS.has(part)) continue;
      out.push(porterStemmer.stem(part));
    }
  }
  return out;
}

/** Term -> count. */
export function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of stemmedTerms(text)) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}
