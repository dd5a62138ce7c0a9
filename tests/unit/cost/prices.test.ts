import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { PriceTable, costOf, normalizeModelName } from '../../../src/cost/prices.js';
import { makeHarness, type Harness } from './setup.js';

describe('built-in prices (USD per 1M tokens)', () => {
  // Hand-computed: tokens / 1e6 * rate.
  it.each([
    ['gemini-2.5-pro', 100_000, 10_000, 0.125 + 0.1],
    ['gemini-2.5-pro', 200_000, 0, 0.25], // exactly 200k prompt tokens: still the standard tier
    ['gemini-2.5-pro', 200_001, 0, 0.5000025], // above 200k: $2.50 / 1M input
    ['gemini-2.5-pro', 250_000, 10_000, 0.625 + 0.15], // long tier: $2.50 in, $15 out
    ['gemini-2.5-flash', 1_000_000, 1_000_000, 0.3 + 2.5],
    ['gemini-2.5-flash-lite', 1_000, 1_000, 0.0001 + 0.0004],
    ['gemini-2.0-flash', 2_000, 500, 0.0002 + 0.0002],
    ['gemini-2.0-flash-lite', 1_000, 1_000, 0.000075 + 0.0003],
    ['models/gemini-2.0-flash-001', 2_000, 500, 0.0004],
    ['gemini-2.5-flash-preview-05-20', 1_000_000, 0, 0.3],
    ['gemini-2.5-flash-lite-preview-06-17', 1_000_000, 0, 0.1],
    ['Gemini-2.5-Pro-Latest', 0, 1_000_000, 10],
  ])('%s: %i in / %i out costs $%d', (model, input, output, usd) => {
    const c = costOf(model, { inputTokens: input, outputTokens: output });
    expect(c.priceKnown).toBe(true);
    expect(c.usd).toBeCloseTo(usd, 9);
  });

  it('does not price a different model by its prefix (flash-image is not flash)', () => {
    const table = new PriceTable();
    expect(table.lookup('gemini-2.5-flash-image')).toBeUndefined();
    expect(table.lookup('gemini-2.5-pro-preview-tts')).toBeUndefined();
    expect(table.lookup('gemini-2.5-flash-lite-001')?.key).toBe('gemini-2.5-flash-lite');
  });

  it('charges an unknown model at the most expensive known rates, flagged priceKnown=false', () => {
    const table = new PriceTable();
    expect(table.fallback).toEqual({ input: 4, output: 18 });
    const c = table.costOf('mystery-model', { inputTokens: 1_000_000, outputTokens: 1_000_000 });
    expect(c).toEqual({ nanoUsd: 22e9, usd: 22, priceKnown: false });
  });

  it('merges TASK_ORCHESTRATOR_PRICES overrides over the table', () => {
    const overrides = { 'gpt-4o-mini': { input: 0.15, output: 0.6 }, 'models/gemini-2.5-flash': { input: 1, output: 1 }, pricey: { input: 50, output: 100 } };
    expect(costOf('gpt-4o-mini', { inputTokens: 1_000_000, outputTokens: 1_000_000 }, overrides)).toEqual({ usd: 0.75, priceKnown: true });
    expect(costOf('gemini-2.5-flash-001', { inputTokens: 1_000_000, outputTokens: 0 }, overrides).usd).toBe(1);
    expect(new PriceTable(overrides).fallback).toEqual({ input: 50, output: 100 });
  });

  it('normalises names', () => {
    expect(normalizeModelName('  models/Gemini-2.5-Flash ')).toBe('gemini-2.5-flash');
    expect(normalizeModelName('google/gemini-2.5-pro')).toBe('gemini-2.5-pro');
  });
});

describe('CostService pricing', () => {
  let h: Harness;
  afterEach(() => h.close());

  it('warns once (log + price.unknown) with a TASK_ORCHESTRATOR_PRICES hint, and books the fallback cost, never zero', () => {
    h = makeHarness();
    const e1 = h.service.record({ provider: 'openai_compatible', model: 'llama-local', inputTokens: 1000, outputTokens: 1000, status: 'ok' });
    h.service.record({ provider: 'openai_compatible', model: 'llama-local', inputTokens: 1000, outputTokens: 1000, status: 'ok' });
    expect(e1.price_known).toBe(false);
    expect(e1.cost_usd).toBeCloseTo(0.004 + 0.018, 9);
    expect(h.unknown).toEqual([{ provider: 'openai_compatible', model: 'llama-local' }]);
    const warn = h.logLines.filter((l) => l.includes('WARN') && l.includes('llama-local'));
    expect(warn).toHaveLength(1);
    expect(warn[0]).toContain('TASK_ORCHESTRATOR_PRICES');
    const summary = h.service.summary({ period: 'today' });
    expect(summary.warnings.join('\n')).toMatch(/2 call\(s\) to openai_compatible model "llama-local" had no known price/);
  });

  it('estimates an unknown model at the fallback price for reservations', () => {
    h = makeHarness();
    expect(h.service.priceFor('google_gemini', 'brand-new-model')).toBeUndefined();
    expect(h.service.estimateMaxCostUsd('google_gemini', 'brand-new-model', 1_000_000, 0)).toBe(4);
    expect(h.unknown).toHaveLength(1);
  });

  it('estimates with the long-context tier when the prompt crosses it', () => {
    h = makeHarness();
    expect(h.service.estimateMaxCostUsd('google_gemini', 'gemini-2.5-pro', 100_000, 8_192)).toBeCloseTo(0.125 + 0.08192, 9);
    expect(h.service.estimateMaxCostUsd('google_gemini', 'gemini-2.5-pro', 300_000, 8_192)).toBeCloseTo(0.75 + 0.12288, 9);
  });

  it('prices mcp_sampling at zero by definition (the host pays), without a warning', () => {
    h = makeHarness();
    const e = h.service.record({ provider: 'mcp_sampling', model: 'whatever-the-host-runs', inputTokens: 50_000, outputTokens: 5_000, status: 'ok' });
    expect(e.cost_usd).toBe(0);
    expect(e.price_known).toBe(true);
    expect(h.unknown).toHaveLength(0);
    expect(h.service.priceFor('mcp_sampling', 'x')).toEqual({ input: 0, output: 0 });
  });
});

describe('TASK_ORCHESTRATOR_PRICES errors name the field', () => {
  const errorFor = (value: string): ConfigError => {
    try {
      loadConfig({ TASK_ORCHESTRATOR_PRICES: value });
    } catch (err) {
      return err as ConfigError;
    }
    throw new Error('accepted');
  };

  it.each([
    ['{"gemini-x":{"input":-1,"output":1}}', 'TASK_ORCHESTRATOR_PRICES.gemini-x.input: expected a number ≥ 0 (USD per 1M input tokens), got -1'],
    ['{"gemini-x":{"input":0.3,"output":"2.5"}}', 'TASK_ORCHESTRATOR_PRICES.gemini-x.output: expected a number ≥ 0 (USD per 1M output tokens), got "2.5"'],
    ['{"gemini-x":{"input_per_million":0.3,"output":2.5}}', 'TASK_ORCHESTRATOR_PRICES.gemini-x.input: expected a number ≥ 0 (USD per 1M input tokens), got nothing'],
    ['{"gemini-x":{"input":1,"output":2,"longContextThreshold":1.5}}', 'TASK_ORCHESTRATOR_PRICES.gemini-x.longContextThreshold: expected a whole number of prompt tokens > 0, got 1.5'],
    ['{"gemini-x":5}', 'TASK_ORCHESTRATOR_PRICES.gemini-x: expected an object {"input": USD, "output": USD} (per 1M tokens), got 5'],
  ])('%s', (value, message) => {
    const error = errorFor(value);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe('TASK_ORCHESTRATOR_PRICES');
    expect(error.message).toBe(`Invalid configuration: ${message}`);
  });

  it('a value that is not a JSON object still says what the variable must be', () => {
    expect(errorFor('{bad json').message).toMatch(/^Invalid configuration: TASK_ORCHESTRATOR_PRICES must be a JSON object of \{model: \{input, output\}\}/);
  });
});
