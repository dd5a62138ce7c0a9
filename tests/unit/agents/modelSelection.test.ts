import { describe, expect, it } from 'vitest';
import { classifyTask, selectModel, type SelectionSignals } from '../../../src/agents/modelSelection.js';

const TIERS = ['lite', 'flash', 'pro'];
const PRICE: Record<string, number> = { lite: 0.001, flash: 0.01, pro: 0.1 };

function signals(prompt: string, over: Partial<SelectionSignals> = {}): SelectionSignals {
  return {
    prompt,
    promptTokens: Math.ceil(prompt.length / 4),
    hasSchema: false,
    tiers: TIERS,
    isAvailable: () => true,
    maxCostUsd: (m) => PRICE[m]!,
    remainingBudgetUsd: () => undefined,
    ...over,
  };
}

describe('classifyTask', () => {
  it.each([
    ['Summarize this article in three bullets', 'summary'],
    ['Translate to German: good morning', 'summary'],
    ['Extract every email address from the text below', 'extraction'],
    ['Implement a function that merges two sorted arrays in TypeScript', 'code'],
    ['```js\nconst x = 1\n```\nwhat does this do', 'code'],
    ['Why does the moon have phases? Reason step by step', 'reasoning'],
    ['Hello there', 'general'],
  ])('%s → %s', (prompt, kind) => {
    expect(classifyTask(prompt)).toBe(kind);
  });
});

describe('selectModel', () => {
  it.each([
    ['Summarize this email', {}, 'lite', /summary task/],
    ['Extract the names as JSON', { hasSchema: true }, 'lite', /structured output/],
    ['Write a python function to parse dates', {}, 'flash', /code task/],
    ['Prove that the algorithm is correct for all edge cases', {}, 'pro', /reasoning task/],
    ['Design the architecture of a distributed queue in Rust code', {}, 'pro', /code task/],
    ['Hello', {}, 'lite', /general task/],
    ['Hello', { promptTokens: 50_000 }, 'flash', /50000 prompt tokens/],
  ] as const)('%s %o → %s', (prompt, over, model, reason) => {
    const choice = selectModel(signals(prompt, over));
    expect(choice.model).toBe(model);
    expect(choice.reason).toMatch(reason);
  });

  it('steps down to a tier the remaining budget can pay for', () => {
    const choice = selectModel(signals('Prove this theorem rigorously', { remainingBudgetUsd: () => 0.02 }));
    expect(choice.model).toBe('flash');
    expect(choice.reason).toMatch(/budget left for pro \$0\.0200 → flash/);
  });

  it('steps down past a model whose own budget is spent, though the others have room', () => {
    const choice = selectModel(signals('Prove this theorem rigorously', { remainingBudgetUsd: (m) => (m === 'pro' ? 0 : undefined) }));
    expect(choice.model).toBe('flash');
    expect(choice.reason).toMatch(/budget left for pro \$0\.0000 → flash/);
  });

  it('routes around an open breaker: up when affordable, else down', () => {
    const up = selectModel(signals('Write a function', { isAvailable: (m) => m !== 'flash' }));
    expect(up.model).toBe('pro');
    expect(up.reason).toMatch(/flash unavailable \(breaker open\) → pro/);
    const down = selectModel(signals('Write a function', { isAvailable: (m) => m !== 'flash', remainingBudgetUsd: () => 0.05 }));
    expect(down.model).toBe('lite');
  });

  it('steps up on high predicted failure risk and honours a minimum tier', () => {
    expect(selectModel(signals('Summarize', { failureRisk: (m) => (m === 'lite' ? 0.8 : 0.1) })).model).toBe('flash');
    expect(selectModel(signals('Summarize', { failureRisk: () => 0.2 })).model).toBe('lite');
    expect(selectModel(signals('Summarize', { minTier: 1 })).reason).toMatch(/escalated to flash/);
  });

  it('keeps the choice and says so when every tier is unavailable', () => {
    const choice = selectModel(signals('Summarize', { isAvailable: () => false }));
    expect(choice.model).toBe('lite');
    expect(choice.reason).toMatch(/every tier unavailable/);
  });
});
