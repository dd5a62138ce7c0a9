import type { ModelPrice } from '../config.js';

/**
 * Built-in list prices, USD per 1M tokens (standard paid tier, text input, interactive API;
 * batch and context-cache discounts are not modelled). Checked on 2026-11-27 against published
 * summaries of https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Pro 1.25/10 up to 200k
 * prompt tokens and 2.50/15 above; 2.5 Flash 0.30/2.50; 2.5 Flash-Lite 0.10/0.40; 2.0 Flash
 * 0.10/0.40; 2.0 Flash-Lite 0.075/0.30; 3 Flash preview 0.50/3.00; 3 Pro preview 2.00/12.00 up to
 * 200k, 4.00/18.00 above). Override or extend with TASK_ORCHESTRATOR_PRICES.
 */
export const PRICES_CHECKED_ON = '2026-11-27';

export const BUILTIN_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gemini-2.5-pro': { input: 1.25, output: 10.0, longContextThreshold: 200_000, inputLong: 2.5, outputLong: 15.0 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini-2.5-flash-lite': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
  'gemini-3-flash': { input: 0.5, output: 3.0 },
  'gemini-3-pro': { input: 2.0, output: 12.0, longContextThreshold: 200_000, inputLong: 4.0, outputLong: 18.0 },
  'gemini-3.1-pro': { input: 2.0, output: 12.0, longContextThreshold: 200_000, inputLong: 4.0, outputLong: 18.0 },
};

/**
 * Output tokens reserved at least, for a model that bills thinking as output (Gemini 2.5 and 3
 * report `thoughtsTokenCount` and bill it at the output rate). Observed, Gemini caps thinking and
 * answer together at maxOutputTokens; the docs say the two are separate. So a call reserves
 * max(max_output_tokens, this reserve): a tiny max_output_tokens cannot make a thinking model look
 * free, and what thinking costs beyond it is caught by the learned cost ratio (reservations.ts).
 * 2.5 Pro always thinks (its minimum budget is 128); Flash thinks dynamically; Flash-Lite does
 * not think unless asked. A Gemini model the table does not know is assumed to think.
 */
const THINKING_RESERVE_TOKENS: Readonly<Record<string, number>> = {
  'gemini-2.5-pro': 1024,
  'gemini-2.5-flash': 1024,
  'gemini-2.5-flash-lite': 0,
  'gemini-2.0-flash': 0,
  'gemini-2.0-flash-lite': 0,
  'gemini-3-flash': 1024,
  'gemini-3-pro': 1024,
  'gemini-3.1-pro': 1024,
};
const UNKNOWN_GEMINI_THINKING_RESERVE = 1024;

/** See THINKING_RESERVE_TOKENS; `canonicalModel` is the price-table key. */
export function thinkingReserveTokens(canonicalModel: string, priced: boolean): number {
  return THINKING_RESERVE_TOKENS[canonicalModel] ?? (!priced && canonicalModel.startsWith('gemini-') ? UNKNOWN_GEMINI_THINKING_RESERVE : 0);
}

/** The environment variable users set to price a model the table does not know. */
export const PRICES_ENV_VAR = 'TASK_ORCHESTRATOR_PRICES';

/**
 * Version-like suffixes that do not change the price: "-001", "-preview", "-preview-05-20",
 * "-exp", "-latest", "-2025-06-17". Anything else ("-image", "-tts", "-lite") is a different
 * model, so "gemini-2.5-flash-image" is NOT priced as "gemini-2.5-flash".
 */
const VERSION_SUFFIX = /^(?:-(?:\d{3}|preview|exp|experimental|latest|\d{2}-\d{2}|\d{4}-\d{2}-\d{2}|\d{4}|\d{8}))+$/;

/** Lower-case, trimmed, without "models/" (Gemini REST names) or a "google/" vendor prefix. */
export function normalizeModelName(model: string): string {
  let m = model.trim().toLowerCase();
  for (const prefix of ['publishers/google/models/', 'models/', 'google/']) {
    if (m.startsWith(prefix)) m = m.slice(prefix.length);
  }
  return m;
}

/** Integer picodollars per token (USD per 1M tokens x 1e6), so costs are exact integer sums. */
export interface TokenRates {
  inputPico: number;
  outputPico: number;
}

export interface PriceMatch {
  /** The table key that matched (the canonical model name for budgets and summaries). */
  key: string;
  price: ModelPrice;
}

export interface CostOf {
  /** Cost in nano-USD (1e-9), rounded up. */
  nanoUsd: number;
  usd: number;
  priceKnown: boolean;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

const toPico = (usdPerMillion: number) => Math.round(usdPerMillion * 1e6);

/** Rates for one call: the long-context tier applies when the prompt exceeds the threshold. */
export function ratesFor(price: ModelPrice, promptTokens: number): TokenRates {
  const long = price.longContextThreshold !== undefined && promptTokens > price.longContextThreshold;
  return {
    inputPico: toPico(long ? (price.inputLong ?? price.input) : price.input),
    outputPico: toPico(long ? (price.outputLong ?? price.output) : price.output),
  };
}

/** Exact cost of a usage at a price, in nano-USD (rounded up to the next nano-dollar). */
export function nanoCost(price: ModelPrice, usage: Usage): number {
  const rates = ratesFor(price, usage.inputTokens);
  const pico = clampTokens(usage.inputTokens) * rates.inputPico + clampTokens(usage.outputTokens) * rates.outputPico;
  return Math.ceil(pico / 1000);
}

function clampTokens(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : 0;
}

export const nanoToUsd = (nano: number) => nano / 1e9;
/** USD to nano-USD, rounded up (a limit or reservation never shrinks by rounding). */
export const usdToNano = (usd: number) => Math.ceil(Math.round(usd * 1e12) / 1000);

/**
 * The built-in table merged with `config.prices` (overrides win, keys normalised). Lookup is
 * exact first, then the longest key the name extends by a version-like suffix only.
 */
export class PriceTable {
  private readonly table: Map<string, ModelPrice>;
  /** Longest keys first, so "gemini-2.5-flash-lite-001" matches "-flash-lite", not "-flash". */
  private readonly keysByLength: string[];
  /** The most expensive known rates (long tiers included): what an unknown model is budgeted at. */
  readonly fallback: ModelPrice;

  constructor(overrides: Readonly<Record<string, ModelPrice>> = {}) {
    this.table = new Map();
    for (const [k, v] of Object.entries(BUILTIN_PRICES)) this.table.set(normalizeModelName(k), v);
    for (const [k, v] of Object.entries(overrides)) this.table.set(normalizeModelName(k), v);
    this.keysByLength = [...this.table.keys()].sort((a, b) => b.length - a.length);
    let input = 0;
    let output = 0;
    for (const p of this.table.values()) {
      input = Math.max(input, p.input, p.inputLong ?? 0);
      output = Math.max(output, p.output, p.outputLong ?? 0);
    }
    this.fallback = { input, output };
  }

  lookup(model: string): PriceMatch | undefined {
    const name = normalizeModelName(model);
    const exact = this.table.get(name);
    if (exact) return { key: name, price: exact };
    for (const key of this.keysByLength) {
      if (name.startsWith(key) && VERSION_SUFFIX.test(name.slice(key.length))) {
        return { key, price: this.table.get(key)! };
      }
    }
    return undefined;
  }

  /** The name budgets and summaries group by: the matched table key, else the normalised name. */
  canonicalModel(model: string): string {
    return this.lookup(model)?.key ?? normalizeModelName(model);
  }

  /**
   * Cost of a call. An unknown model is charged at `fallback` (the most expensive known rates)
   * with priceKnown=false — never a silent zero.
   */
  costOf(model: string, usage: Usage): CostOf {
    const match = this.lookup(model);
    const nanoUsd = nanoCost(match?.price ?? this.fallback, usage);
    return { nanoUsd, usd: nanoToUsd(nanoUsd), priceKnown: match !== undefined };
  }
}

/** Convenience: the cost of one call with the built-in table plus optional overrides. */
export function costOf(model: string, usage: Usage, overrides: Readonly<Record<string, ModelPrice>> = {}): { usd: number; priceKnown: boolean } {
  const { usd, priceKnown } = new PriceTable(overrides).costOf(model, usage);
  return { usd, priceKnown };
}

/** The hint an unknown price warning carries. */
export function unknownPriceHint(provider: string, model: string, fallback: ModelPrice): string {
  return (
    `No price is known for ${provider} model "${model}"; it is budgeted and booked at the most expensive known rates ` +
    `($${fallback.input}/$${fallback.output} per 1M input/output tokens). Set ${PRICES_ENV_VAR}, e.g. ` +
    `${PRICES_ENV_VAR}='{"${normalizeModelName(model)}":{"input":0.3,"output":2.5}}' (USD per 1M tokens; use 0 for a free local model).`
  );
}
