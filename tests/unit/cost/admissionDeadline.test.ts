import { describe, expect, it } from 'vitest';
import { guardedGenerate, type GuardDeps } from '../../../src/agents/guardedCall.js';
import { systemClock } from '../../../src/clock.js';
import { AdmissionGate } from '../../../src/cost/admissionGate.js';
import { CancelledError } from '../../../src/errors.js';
import type { Provider } from '../../../src/providers/types.js';

/** A model whose cost is unknown, a budget applying, and one call already in its window. */
function fullWindow() {
  const gate = new AdmissionGate({ observed: () => false });
  gate.admit('k', true, new AbortController().signal); // holds the only place
  let reserved = 0;
  const cost = {
    admit: (_p: string, _m: string, signal: AbortSignal) => gate.admit('k', true, signal),
    estimateMaxCostUsd: () => 0.01,
    reserve: () => {
      reserved++;
      throw new Error('never reached: the call waits for its place first');
    },
  } as unknown as GuardDeps['cost'];
  const deps = { cost, healing: { call: async () => { throw new Error('not called'); } }, clock: systemClock, atomic: (fn) => fn() } as GuardDeps;
  const provider = { id: 'google_gemini' } as Provider;
  return { deps, provider, reserved: () => reserved };
}

const request = { model: 'm', prompt: 'p', maxOutputTokens: 10 } as Parameters<typeof guardedGenerate>[2];
const booking = { trialId: null, taskId: null, tags: [] };

describe('waiting for a place in the budget admission window', () => {
  it("ends at the call's deadline (timeout_ms) with code timeout, never sent", async () => {
    const { deps, provider, reserved } = fullWindow();
    const call = guardedGenerate(deps, provider, request, {
      booking,
      signal: new AbortController().signal,
      timeoutMs: 60_000,
      deadline: systemClock.now() + 30,
      promptTokens: 1,
    });
    await expect(call).rejects.toMatchObject({ code: 'timeout', message: expect.stringMatching(/admission window until its deadline/) });
    expect(reserved()).toBe(0);
  });

  it('still ends on cancel as cancelled when a deadline is set too', async () => {
    const { deps, provider } = fullWindow();
    const abort = new AbortController();
    const call = guardedGenerate(deps, provider, request, { booking, signal: abort.signal, timeoutMs: 60_000, deadline: systemClock.now() + 60_000, promptTokens: 1 });
    abort.abort();
    await expect(call).rejects.toBeInstanceOf(CancelledError);
  });
});
