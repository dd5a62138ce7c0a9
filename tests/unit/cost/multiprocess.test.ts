import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/paths.js';
import { makeHarness, ZONE, type Harness } from './setup.js';

/**
 * Two real processes on one SQLite file. The child runs the compiled service from dist/
 * (`npm test` builds first); without a build these tests are skipped with a message.
 */
const CHILD = path.join(REPO_ROOT, 'tests', 'fixtures', 'costChild.mjs');
const COMPILED = path.join(REPO_ROOT, 'dist', 'src', 'cost', 'costService.js');
const haveBuild = fs.existsSync(COMPILED);
if (!haveBuild) console.warn(`multiprocess cost tests skipped: ${COMPILED} is missing; run "npm run build" first.`);

function startChild(opts: Record<string, unknown>): { child: ChildProcess; lines: AsyncIterator<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function nextJson(lines: AsyncIterator<string>): Promise<Record<string, unknown>> {
  const { value, done } = await lines.next();
  if (done) throw new Error('child exited without output');
  return JSON.parse(value) as Record<string, unknown>;
}

describe.skipIf(!haveBuild)('two processes sharing one database', () => {
  let h: Harness;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.length = 0;
    h.close();
  });

  it('never book more than the limit together, and refuse with BudgetExceededError', async () => {
    h = makeHarness({ now: Date.now() });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 0.3 });
    const opts = { mode: 'race', dbFile: h.dbFile, timeZone: ZONE, attempts: 40, maxCostUsd: 0.01, inputTokens: 10_000 };
    const a = startChild(opts);
    const b = startChild(opts);
    children.push(a.child, b.child);
    expect(await Promise.all([nextJson(a.lines), nextJson(b.lines)])).toEqual([{ ready: true }, { ready: true }]);
    a.child.stdin!.write('go\n');
    b.child.stdin!.write('go\n');
    // Each books its first call before either races on: one the scheduler starts late is not shut out.
    expect(await Promise.all([nextJson(a.lines), nextJson(b.lines)])).toEqual([{ first: 1 }, { first: 1 }]);
    a.child.stdin!.write('go\n');
    b.child.stdin!.write('go\n');
    const [ra, rb] = await Promise.all([nextJson(a.lines), nextJson(b.lines)]);
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect((ra.ok as number) + (rb.ok as number)).toBe(30); // exactly floor(0.30 / 0.01) calls fit
    expect(ra.ok as number).toBeGreaterThan(0);
    expect(rb.ok as number).toBeGreaterThan(0);
    const refusals = [...(ra.refusals as Array<Record<string, string>>), ...(rb.refusals as Array<Record<string, string>>)];
    expect(refusals).toHaveLength(50);
    for (const r of refusals) {
      expect(r.name).toBe('BudgetExceededError');
      expect(r.code).toBe('budget_exceeded');
      expect(r.message).toMatch(/^daily budget for google_gemini is \$0\.30, /);
    }
    const booked = h.db.prepare('SELECT COUNT(*) AS n, SUM(cost_nusd) AS nusd FROM ledger').get() as { n: number; nusd: number };
    expect(booked).toEqual({ n: 30, nusd: 300_000_000 });
    expect(h.service.summary({ period: 'today' }).totals.usd).toBe(0.3);
  });

  it('a reservation held by a live process stays; once that process is killed (SIGKILL) it is released at start', async () => {
    h = makeHarness({ now: Date.now() });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const holder = startChild({ mode: 'hold', dbFile: h.dbFile, timeZone: ZONE, maxCostUsd: 0.8 });
    children.push(holder.child);
    const first = await nextJson(holder.lines);
    expect(first.pid).toBe(holder.child.pid);
    expect(h.service.releaseStale()).toBe(0); // alive: not ours to release
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).toThrow(/\$0\.80 reserved by running calls/);

    holder.child.kill('SIGKILL');
    await holder.exited;
    const restarted = h.another(); // the next server start on this file
    expect(restarted.releaseStale()).toBe(1);
    expect(h.db.prepare('SELECT state FROM budget_reservations WHERE id = ?').get(first.reserved)).toEqual({ state: 'expired' });
    expect(() => restarted.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).not.toThrow();
  });

  it('a live owner frozen past its lease (SIGSTOP) keeps its reservation: it is held and reported late, freed only once the owner is gone', async () => {
    h = makeHarness({ now: Date.now() });
    h.service.setBudget({ provider: 'google_gemini', dailyLimitUsd: 1 });
    const holder = startChild({ mode: 'hold', dbFile: h.dbFile, timeZone: ZONE, maxCostUsd: 0.8, ttlMs: 1_000 });
    children.push(holder.child);
    const first = await nextJson(holder.lines);
    holder.child.kill('SIGSTOP');
    // Long past its lease by our clock: the frozen owner cannot renew it.
    h.clock.advance(10 * 60_000);
    expect(h.service.releaseStale()).toBe(0);
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).toThrow(
      new RegExp(`\\$0\\.80 of what is reserved belongs to live process ${holder.child.pid} whose lease ran out`),
    );
    expect(h.service.lateLeases()).toEqual([expect.objectContaining({ id: first.reserved, ownerPid: holder.child.pid, amountNano: 800_000_000 })]);
    expect(h.service.summary({ period: 'today' }).warnings.join('\n')).toMatch(/belong to live process \d+ that stopped renewing them/);
    expect(h.logLines.some((l) => l.includes('WARN') && l.includes(`process ${holder.child.pid} is alive but has not renewed`))).toBe(true);
    expect(h.db.prepare('SELECT state FROM budget_reservations WHERE id = ?').get(first.reserved)).toEqual({ state: 'open' });

    holder.child.kill('SIGCONT');
    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(h.service.releaseStale()).toBe(1);
    expect(() => h.service.reserve({ provider: 'google_gemini', model: 'test-model', maxCostUsd: 0.5 })).not.toThrow();
  });
});
