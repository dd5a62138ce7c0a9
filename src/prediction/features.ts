import { createRequire } from 'node:module';

/**
 * The one feature function, used by training and serving alike. It reads only a PreCallInput —
 * what is known before a call is sent — so no outcome (attempts, retries, error code, output)
 * can reach a model. Bump FEATURE_SET_VERSION whenever what these functions compute changes:
 * a model file trained on another version is refused at load.
 */
export const FEATURE_SET_VERSION = 'failure-features.v1';

// natural through deep imports only: its root import prints to stdout and reads .env.
const require = createRequire(import.meta.url);
const { WordTokenizer } = require('natural/lib/natural/tokenizers/regexp_tokenizer.js') as {
  WordTokenizer: new () => { tokenize(text: string): string[] };
};
const PorterStemmer = require('natural/lib/natural/stemmers/porter_stemmer.js') as { stem(word: string): string };

export interface PreCallInput {
  operation: 'agent' | 'judge';
  prompt: string;
  system?: string | null | undefined;
  provider?: string | null | undefined;
  /** The model about to be called; null/undefined/"auto" when not yet chosen. */
  model?: string | null | undefined;
  responseSchema?: Record<string, unknown> | null | undefined;
  /** Requested graders; null = unknown (then the defaults are assumed, as the pipeline does). */
  graders?: ReadonlyArray<{ type: string; required?: boolean | undefined }> | null | undefined;
  tags?: readonly string[] | undefined;
  createdAtMs?: number | undefined;
}

/**
 * Optional port to the immune system: how close the prompt is to the nearest remembered failure
 * (cosine 0..1) and that pattern's failure rate (0..1). Undefined when nothing is remembered.
 */
export type NearestFailure = (prompt: string, system?: string | null) => { similarity: number; failureRate: number } | undefined;

/** What a fitted model contributes to the meta features (fitted on training rows only). */
export interface MetaContext {
  /** Smoothed failure rate per model name in the training data. */
  modelFailureRate: ReadonlyMap<string, number>;
  globalFailureRate: number;
  nearestFailure?: NearestFailure | undefined;
}

const MODEL_GRADERS = new Set(['relevance', 'completeness', 'accuracy', 'format', 'code_quality', 'safety', 'performance']);
const PROVIDERS = ['google_gemini', 'openai_compatible', 'mcp_sampling'] as const;

export const META_FEATURE_NAMES = [
  'log_prompt_chars',
  'log_prompt_words',
  'log_prompt_lines',
  'code_blocks',
  'questions',
  'has_system',
  'log_system_chars',
  'has_response_schema',
  'schema_properties',
  'schema_depth',
  'asks_json',
  'asks_format',
  'asks_length_bound',
  'constraint_words',
  'graders',
  'required_graders',
  'model_graders',
  'json_graders',
  'length_graders',
  'text_match_graders',
  'is_judge',
  'provider_gemini',
  'provider_openai',
  'provider_sampling',
  'model_tier',
  'model_failure_rate',
  'digit_ratio',
  'upper_ratio',
  'urls',
  'non_ascii_ratio',
  'tags',
  'nearest_failure_similarity',
  'nearest_failure_rate',
] as const;

const JSON_ASK = /\bjson\b/i;
const FORMAT_ASK = /\b(table|bullet(ed)?|list|markdown|csv|yaml|xml|numbered|heading)\b/i;
const LENGTH_ASK = /\b(\d+|one|two|three|five|ten)\s+(words?|characters?|sentences?|lines?|paragraphs?|bullets?)\b|\b(at most|no more than|under|exactly)\s+\d+/i;
const CONSTRAINT_WORDS = /\b(must|exactly|only|never|always|strictly|do not|don't)\b/gi;

const count = (text: string, re: RegExp): number => (re.global ? (text.match(re)?.length ?? 0) : re.test(text) ? 1 : 0);

/** 0 cheapest, 0.5 middle, 1 strongest, from the model's name; 0.5 when unknown. */
export function modelTier(model: string | null | undefined): number {
  if (!model || model === 'auto') return 0.5;
  if (/lite|mini|nano|small|haiku|tiny|8b/i.test(model)) return 0;
  if (/\bpro\b|-pro|opus|ultra|large|70b|405b/i.test(model)) return 1;
  return 0.5;
}

function schemaShape(schema: unknown, depth = 1): { properties: number; depth: number } {
  if (typeof schema !== 'object' || schema === null || depth > 20) return { properties: 0, depth: 0 };
  let properties = 0;
  let deepest = depth;
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && typeof value === 'object' && value !== null) properties += Object.keys(value).length;
    if (typeof value === 'object' && value !== null) {
      const inner = schemaShape(value, depth + 1);
      properties += inner.properties;
      deepest = Math.max(deepest, inner.depth);
    }
  }
  return { properties, depth: deepest };
}

/** The dense features, in META_FEATURE_NAMES order. */
export function metaFeatures(input: PreCallInput, ctx: MetaContext): number[] {
  const prompt = input.prompt;
  const system = input.system ?? '';
  const both = `${system}\n${prompt}`;
  const chars = Math.max(1, prompt.length);
  const graders = input.graders ?? defaultGraders(input);
  const shape = schemaShape(input.responseSchema);
  const near = ctx.nearestFailure?.(prompt, input.system);
  const model = input.model && input.model !== 'auto' ? input.model : undefined;
  let digits = 0;
  let upper = 0;
  let nonAscii = 0;
  const scan = Math.min(prompt.length, 20_000);
  for (let i = 0; i < scan; i++) {
    const c = prompt.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 65 && c <= 90) upper++;
    else if (c > 127) nonAscii++;
  }
  const row = [
    Math.log1p(prompt.length),
    Math.log1p(prompt.match(/\S+/g)?.length ?? 0),
    Math.log1p(prompt === '' ? 0 : prompt.split('\n').length),
    Math.floor((prompt.match(/```/g)?.length ?? 0) / 2),
    Math.min(20, prompt.match(/\?/g)?.length ?? 0),
    system === '' ? 0 : 1,
    Math.log1p(system.length),
    input.responseSchema ? 1 : 0,
    Math.log1p(shape.properties),
    shape.depth,
    count(both, JSON_ASK),
    count(both, FORMAT_ASK),
    count(both, LENGTH_ASK),
    Math.min(20, count(both, CONSTRAINT_WORDS)),
    graders.length,
    graders.filter((g) => g.required !== false).length,
    graders.filter((g) => MODEL_GRADERS.has(g.type)).length,
    graders.filter((g) => g.type === 'json_valid' || g.type === 'json_schema').length,
    graders.filter((g) => g.type === 'length').length,
    graders.filter((g) => g.type === 'contains' || g.type === 'not_contains' || g.type === 'regex').length,
    input.operation === 'judge' ? 1 : 0,
    input.provider === PROVIDERS[0] ? 1 : 0,
    input.provider === PROVIDERS[1] ? 1 : 0,
    input.provider === PROVIDERS[2] ? 1 : 0,
    modelTier(model),
    model === undefined ? ctx.globalFailureRate : (ctx.modelFailureRate.get(model) ?? ctx.globalFailureRate),
    digits / Math.min(chars, 20_000),
    upper / Math.min(chars, 20_000),
    Math.min(20, prompt.match(/https?:\/\//g)?.length ?? 0),
    nonAscii / Math.min(chars, 20_000),
    input.tags?.length ?? 0,
    near?.similarity ?? 0,
    near?.failureRate ?? 0,
  ];
  return row;
}

/** What the pipeline grades by when the caller names no graders (see defaultGraderSpecs). */
function defaultGraders(input: PreCallInput): Array<{ type: string; required: boolean }> {
  return input.responseSchema ? [{ type: 'non_empty', required: true }, { type: 'json_schema', required: true }] : [{ type: 'non_empty', required: true }];
}

// ---------------------------------------------------------------------------------------------
// Text: TF-IDF over stemmed word unigrams and bigrams (a fitted, bounded vocabulary) plus hashed
// character 3-grams (no vocabulary: robust to typos and identifiers).

/** Characters of prompt/system read for text features: bounds serving time on huge prompts. */
const TEXT_LIMIT = 8_000;
const tokenizer = new WordTokenizer();

/** Stems remembered per vectorizer: Porter stemming is most of a short prompt's feature time. */
const STEM_CACHE_LIMIT = 50_000;

/** Word terms of one input: prompt terms as-is, system terms prefixed "s:". */
export function wordTerms(input: Pick<PreCallInput, 'prompt' | 'system'>, stems: Map<string, string> = new Map()): string[] {
  const stem = (token: string): string => {
    let s = stems.get(token);
    if (s === undefined) {
      s = PorterStemmer.stem(token);
      if (stems.size >= STEM_CACHE_LIMIT) stems.clear();
      stems.set(token, s);
    }
    return s;
  };
  const terms: string[] = [];
  const add = (text: string, prefix: string) => {
    const words = tokenizer.tokenize(text.slice(0, TEXT_LIMIT).toLowerCase()).map(stem);
    for (let i = 0; i < words.length; i++) {
      terms.push(prefix + words[i]!);
      if (i > 0) terms.push(`${prefix}${words[i - 1]!} ${words[i]!}`);
    }
  };
  add(input.prompt, '');
  if (input.system) add(input.system, 's:');
  return terms;
}

/** FNV-1a of the 3-grams of the lower-cased prompt, into `buckets` slots. */
export function charGramBuckets(text: string, buckets: number): number[] {
  const t = ` ${text.slice(0, TEXT_LIMIT).toLowerCase().replace(/\s+/g, ' ')} `;
  const out: number[] = [];
  for (let i = 0; i + 3 <= t.length; i++) {
    let h = 0x811c9dc5;
    for (let j = i; j < i + 3; j++) {
      h ^= t.charCodeAt(j);
      h = Math.imul(h, 0x01000193);
    }
    out.push((h >>> 0) % buckets);
  }
  return out;
}

export interface SparseVector {
  indices: number[];
  values: number[];
}

export interface VectorizerJson {
  vocabulary: string[];
  wordIdf: number[];
  buckets: number;
  bucketIdf: number[];
}

/** TF-IDF with sublinear term frequency, L2-normalised; indices: words, then char buckets. */
export class TextVectorizer {
  private readonly index: Map<string, number>;
  private readonly stems = new Map<string, string>();

  private constructor(private readonly json: VectorizerJson) {
    this.index = new Map(json.vocabulary.map((term, i) => [term, i]));
  }

  get dimension(): number {
    return this.json.vocabulary.length + this.json.buckets;
  }

  /** The name of one dimension, for explanations ("word:json", "chars:#123"). */
  featureName(i: number): string {
    return i < this.json.vocabulary.length ? `word:${this.json.vocabulary[i]!}` : `chars:#${i - this.json.vocabulary.length}`;
  }

  static fromJSON(json: VectorizerJson): TextVectorizer {
    return new TextVectorizer(json);
  }

  toJSON(): VectorizerJson {
    return this.json;
  }

  /** Keeps the `maxTerms` words found in most documents (at least `minDf`). */
  static fit(inputs: ReadonlyArray<Pick<PreCallInput, 'prompt' | 'system'>>, opts: { maxTerms: number; minDf: number; buckets: number }): TextVectorizer {
    const df = new Map<string, number>();
    const stems = new Map<string, string>();
    const bucketDf = new Array<number>(opts.buckets).fill(0);
    for (const input of inputs) {
      for (const term of new Set(wordTerms(input, stems))) df.set(term, (df.get(term) ?? 0) + 1);
      for (const b of new Set(charGramBuckets(input.prompt, opts.buckets))) bucketDf[b]! += 1;
    }
    const n = inputs.length;
    const kept = [...df].filter(([, d]) => d >= opts.minDf).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, opts.maxTerms);
    const idf = (d: number) => Math.log((n + 1) / (d + 1)) + 1;
    return new TextVectorizer({
      vocabulary: kept.map(([t]) => t),
      wordIdf: kept.map(([, d]) => idf(d)),
      buckets: opts.buckets,
      bucketIdf: bucketDf.map(idf),
    });
  }

  transform(input: Pick<PreCallInput, 'prompt' | 'system'>): SparseVector {
    const counts = new Map<number, number>();
    for (const term of wordTerms(input, this.stems)) {
      const i = this.index.get(term);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const offset = this.json.vocabulary.length;
    for (const b of charGramBuckets(input.prompt, this.json.buckets)) counts.set(offset + b, (counts.get(offset + b) ?? 0) + 1);
    const indices = [...counts.keys()].sort((a, b) => a - b);
    const values = indices.map((i) => (1 + Math.log(counts.get(i)!)) * (i < offset ? this.json.wordIdf[i]! : this.json.bucketIdf[i - offset]!));
    const norm = Math.sqrt(values.reduce((s, v) => s + v * v, 0)) || 1;
    return { indices, values: values.map((v) => v / norm) };
  }
}
