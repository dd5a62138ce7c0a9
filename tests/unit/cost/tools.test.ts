import { afterEach, describe, expect, it } from 'vitest';
import type { AppServices } from '../../../src/app.js';
import { costSetBudget } from '../../../src/tools/cost/costSetBudget.js';
import { costSummary } from '../../../src/tools/cost/costSummary.js';
import type { ToolContext } from '../../../src/tools/types.js';
import { makeHarness, tokensFor, type Harness } from './setup.js';

const ctx: ToolContext = { signal: new AbortController().signal, wantsProgress: false, reportProgress: async () => {}, createMessage: undefined, request: { requestId: 1, caller: { kind: 'stdio-client' } } };

describe('cost tools', () => {
  let h: Harness;
  afterEach(() => h.close());
  const services = () => ({ cost: h.service }) as unknown as AppServices;

  it('cost_set_budget takes the seed example and answers with the budget and current spend', async () => {
    h = makeHarness();
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(1.25), outputTokens: 0, status: 'ok' });
    const args = costSetBudget.inputSchema.parse({ provider: 'google_gemini', daily_limit: 5.0, monthly_limit: 50.0 });
    const out = await costSetBudget.handler(args, services(), ctx);
    expect(costSetBudget.outputSchema.parse(out.structured)).toBeTruthy();
    expect(out.structured).toMatchObject({ removed: false, budget: { provider: 'google_gemini', daily_limit_usd: 5, daily: { spent_usd: 1.25, remaining_usd: 3.75 } } });
    expect(out.text).toBe('Budget set. google_gemini: today $1.25 of $5.00 (25%), month $1.25 of $50.00 (2%)');
    const removed = await costSetBudget.handler(costSetBudget.inputSchema.parse({ provider: 'google_gemini', daily_limit: null, monthly_limit: null }), services(), ctx);
    expect(removed.structured).toMatchObject({ removed: true });
  });

  it.each([
    [{ provider: 'google_gemini', daily_limit: -1 }],
    [{ provider: 'google_gemini', daily_limit: Number.NaN }],
    [{ provider: 'google_gemini', monthly_limit: '5' }],
    [{ provider: 'anthropic', daily_limit: 1 }],
    [{ provider: 'google_gemini', model: '', daily_limit: 1 }],
  ])('cost_set_budget rejects %j', (input) => {
    expect(costSetBudget.inputSchema.safeParse(input).success).toBe(false);
  });

  it('cost_set_budget without any limit is an actionable error', async () => {
    h = makeHarness();
    await expect(costSetBudget.handler(costSetBudget.inputSchema.parse({ provider: 'google_gemini' }), services(), ctx)).rejects.toThrow(/daily_limit and\/or monthly_limit/);
  });

  it('cost_summary answers within its output schema, with a readable text', async () => {
    h = makeHarness();
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 5 });
    h.service.record({ provider: 'google_gemini', model: 'test-model', inputTokens: tokensFor(0.5), outputTokens: 0, status: 'ok', taskId: 7 });
    for (const input of [{}, { period: 'month', group_by: 'model' }, { period: { from: '2026-11-01', to: '2026-11-27T12:00:00+01:00' }, group_by: 'task' }]) {
      const out = await costSummary.handler(costSummary.inputSchema.parse(input), services(), ctx);
      expect(costSummary.outputSchema.parse(out.structured)).toBeTruthy();
    }
    const out = await costSummary.handler(costSummary.inputSchema.parse({}), services(), ctx);
    expect(out.text.split('\n')).toEqual([
      'today (Europe/Berlin): $0.50 over 1 calls (500000 in / 0 out tokens)',
      '  provider google_gemini: $0.50 (1 calls)',
      'budget google_gemini: today $0.50 of $5.00 (10%), month no limit',
    ]);
    expect(costSummary.inputSchema.safeParse({ period: { from: 'last week', to: '2026-11-01' } }).success).toBe(false);
    expect(costSummary.annotations.readOnlyHint).toBe(true);
  });
});
