import { afterEach, describe, expect, it } from 'vitest';
import type { AppServices } from '../../../src/app.js';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { ProviderError } from '../../../src/errors.js';
import { EventBus } from '../../../src/events.js';
import { silentLogger } from '../../../src/logger.js';
import { ProviderResilience } from '../../../src/resilience/providerResilience.js';
import { healingStatus } from '../../../src/tools/healing/healingStatus.js';
import type { ToolContext } from '../../../src/tools/types.js';
import { TEST_API_KEY } from '../../helpers/keys.js';

const SECRET = TEST_API_KEY;
const ctx: ToolContext = {
  signal: new AbortController().signal,
  wantsProgress: false,
  reportProgress: async () => {},
  createMessage: undefined,
  request: { requestId: 1, caller: { kind: 'stdio-client' } },
};

let healing: ProviderResilience | undefined;
afterEach(() => healing?.shutdown());

function setup() {
  const config = loadConfig({ HOME: '/tmp/healing-test', GEMINI_API_KEY: SECRET, TASK_ORCHESTRATOR_RETRY_MAX: '1' });
  const clock = new ManualClock();
  healing = new ProviderResilience({
    config,
    clock,
    logger: silentLogger,
    events: new EventBus(),
    random: () => 0,
    sleep: async (ms) => clock.advance(ms),
  });
  const services = { config, clock, logger: silentLogger, healing } as unknown as AppServices;
  return { healing, services, clock };
}

const fail503 = () =>
  Promise.reject(
    new ProviderError({ provider: 'google_gemini', model: 'gemini-2.5-flash', kind: 'http', status: 503, message: `busy, key ${SECRET}` }),
  );

describe('healing_status tool', () => {
  it('is read-only, takes no input and has a short description', () => {
    expect(healingStatus.name).toBe('healing_status');
    expect(healingStatus.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    expect(healingStatus.inputSchema.parse({})).toEqual({});
    expect(healingStatus.description.length).toBeLessThan(120);
  });

  it('reports nothing before any call', async () => {
    const { services } = setup();
    const out = await healingStatus.handler({}, services, ctx);
    expect(out.structured).toEqual({ breakers: [], retries: { retried: 0, gave_up: 0 }, recent_events: [] });
    expect(out.text).toContain('No provider calls yet');
  });

  it('snapshots an open breaker with redacted last error, counts and recovery events', async () => {
    const { healing, services, clock } = setup();
    const target = { provider: 'google_gemini', model: 'gemini-2.5-flash' };
    await healing.call(target, fail503).catch(() => undefined); // 2 attempts, gave up
    await healing.call(target, fail503).catch(() => undefined); // 3rd failure opens it
    await healing.call({ provider: 'google_gemini', model: 'gemini-2.5-pro' }, async () => 'ok');

    const out = await healingStatus.handler({}, services, ctx);
    const structured = healingStatus.outputSchema.parse(out.structured) as {
      breakers: Array<Record<string, unknown>>;
      retries: unknown;
      recent_events: Array<{ type: string; at: string }>;
    };
    expect(JSON.stringify(out)).not.toContain(SECRET);
    const open = structured.breakers.find((b) => b.model === 'gemini-2.5-flash')!;
    expect(open).toMatchObject({
      state: 'open',
      available: false,
      consecutive_failures: 3,
      total_failures: 3,
      total_successes: 0,
      retried: 1,
      gave_up: 2,
      opened_at: '2026-01-15T12:00:01.000Z',
      half_open_at: '2026-01-15T12:00:31.000Z',
      quota: null,
    });
    expect((open.last_error as { message: string }).message).toContain('[REDACTED]');
    expect(structured.breakers.find((b) => b.model === 'gemini-2.5-pro')).toMatchObject({ state: 'closed', total_successes: 1 });
    expect(structured.retries).toEqual({ retried: 1, gave_up: 2 });
    expect(structured.recent_events.map((e) => e.type)).toEqual(['retry_gave_up', 'opened', 'retry_gave_up']);
    expect(out.text).toContain('1 of 2 breakers not closed');
    expect(out.text).toContain('google_gemini/gemini-2.5-flash: open until 2026-01-15T12:00:31.000Z');

    // The half-open transition shows up on the next look, driven by the injected clock.
    clock.advance(30_000);
    const later = await healingStatus.handler({}, services, ctx);
    const events = (later.structured as { recent_events: Array<{ type: string }> }).recent_events;
    expect(events.at(-1)?.type).toBe('half_open');
  });

  it('shows each model’s concurrency limit and its rate-limit waits', async () => {
    const { healing, services } = setup();
    const target = { provider: 'google_gemini', model: 'gemini-2.5-flash' };
    let n = 0;
    const limitedOnce = async () => {
      if (n++ === 0) {
        throw new ProviderError({ provider: 'google_gemini', model: 'gemini-2.5-flash', kind: 'http', status: 429, message: 'slow down', retryAfterMs: 1_000 });
      }
      return 'ok';
    };
    await Promise.all([healing.call(target, limitedOnce), healing.call(target, limitedOnce)]);

    const out = await healingStatus.handler({}, services, ctx);
    const structured = healingStatus.outputSchema.parse(out.structured) as { breakers: Array<Record<string, unknown>> };
    expect(structured.breakers[0]).toMatchObject({
      state: 'closed',
      total_failures: 0,
      // Cut from 2 in flight to 1 by the 429, grown back to 2 by the next success.
      concurrency_limit: 2,
      in_flight: 0,
      // Only the call that was refused waited (the other's request had gone through).
      rate_limit: { hits: 1, waits: 1, total_wait_ms: 1_000, gate_until: null },
    });
    expect(out.text).toContain('rate-limited 1x, 1 waits (1000 ms), concurrency 2');
  });
});
