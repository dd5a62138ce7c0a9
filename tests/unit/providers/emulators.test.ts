import { afterEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { GeminiProvider } from '../../../src/providers/gemini.js';
import { TEST_API_KEY } from '../../helpers/keys.js';
import { gate, waitFor } from '../../helpers/wait.js';
import { promptOf, startGeminiEmulator, type GeminiEmulator } from '../../helpers/geminiEmulator.js';

const MODEL = 'gemini-2.5-flash-lite';

let emulator: GeminiEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(opts: Parameters<typeof startGeminiEmulator>[0] = {}) {
  emulator = await startGeminiEmulator(opts);
  return { emulator, provider: new GeminiProvider({ apiKey: TEST_API_KEY, baseUrl: emulator.url, logger: silentLogger }) };
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof ProviderError ? `${err.kind}:${err.status ?? ''}` : 'other';
  }
}

describe('Gemini emulator', () => {
  it('holds hundreds of concurrent requests and reports maxInFlight', { timeout: 30_000 }, async () => {
    const { emulator: emu, provider } = await start();
    // Every answer waits for the gate: all 200 must be held open at once, however slow the machine.
    const held = gate();
    emu.setDefault({ kind: 'ok', release: held.promise });
    const pending = Promise.all(Array.from({ length: 200 }, (_, i) => provider.generate({ model: MODEL, prompt: `agent ${i}` })));
    await waitFor(() => emu.inFlight === 200, 20_000, '200 requests in flight');
    held.open();
    const results = await pending;
    expect(results.map((r) => r.text)).toEqual(Array.from({ length: 200 }, (_, i) => `echo: agent ${i}`));
    expect(emu.requests).toHaveLength(200);
    expect(emu.maxInFlight).toBe(200);
    expect(emu.inFlight).toBe(0);
    expect(emu.closedEarly).toBe(0);
  });

  it('consumes enqueued behaviours in order, then falls back to the default function', async () => {
    const { emulator: emu, provider } = await start();
    emu.setDefault((req) => ({ kind: 'ok', text: promptOf(req).includes('fail') ? 'bad' : `model=${req.model}` }));
    emu.enqueue({ kind: 'ok', text: 'first' }, { kind: 'error', status: 500 });
    expect(await outcome(provider.generate({ model: MODEL, prompt: 'a' }))).toBe('ok');
    expect(await outcome(provider.generate({ model: MODEL, prompt: 'b' }))).toBe('http:500');
    expect((await provider.generate({ model: MODEL, prompt: 'c' })).text).toBe(`model=${MODEL}`);
    expect((await provider.generate({ model: MODEL, prompt: 'please fail' })).text).toBe('bad');
  });

  it('injects failures at the configured rate, reproducibly for a seed', async () => {
    const runOnce = async () => {
      const { emulator: emu, provider } = await start({ failureRate: { rate: 0.3, status: 503 }, seed: 42 });
      const outcomes: string[] = [];
      for (let i = 0; i < 100; i++) outcomes.push(await outcome(provider.generate({ model: MODEL, prompt: `${i}` })));
      await emu.close();
      return outcomes;
    };
    const first = await runOnce();
    const second = await runOnce();
    expect(second).toEqual(first);
    const failures = first.filter((o) => o === 'http:503').length;
    expect(failures).toBeGreaterThan(15);
    expect(failures).toBeLessThan(45);
    expect(first.filter((o) => o !== 'ok' && o !== 'http:503')).toEqual([]);
  });

  it('applies latency and a behaviour delay', async () => {
    const { emulator: emu, provider } = await start({ latencyMs: 60 });
    emu.enqueue({ kind: 'ok', delayMs: 60 });
    const started = Date.now();
    await provider.generate({ model: MODEL, prompt: 'slow' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  // The hang never ends by itself: close() resolving within the test's 5 s timeout (the guard, not
  // a wall-clock assertion) means it cut the request.
  it('close() ends hanging requests and resolves promptly', { timeout: 5_000 }, async () => {
    const { emulator: emu, provider } = await start();
    emu.enqueue({ kind: 'hang' });
    const pending = outcome(provider.generate({ model: MODEL, prompt: 'x' }));
    await waitFor(() => emu.inFlight === 1);
    await emu.close();
    expect(await pending).toBe('network:');
  });

  it('answers unknown routes with a Google-shaped 404 and records them', async () => {
    const { emulator: emu } = await start();
    const res = await fetch(`${emu.url}/v1beta/models`, { method: 'GET' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe('NOT_FOUND');
    expect(emu.requests[0]).toMatchObject({ method: 'GET', endpoint: 'unknown' });
  });
});
