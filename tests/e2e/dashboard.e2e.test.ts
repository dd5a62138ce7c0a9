import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ALL_MIGRATIONS } from '../../src/app.js';
import { openDatabase } from '../../src/db/database.js';
import { ImmuneSystem } from '../../src/immune/immuneSystem.js';
import { DEFAULT_IMMUNE_CONFIG } from '../../src/immune/config.js';
import { EventBus } from '../../src/events.js';
import { silentLogger } from '../../src/logger.js';
import { makeTempDir, SERVER_BIN } from '../helpers/paths.js';
import { testOutputDir } from '../helpers/testOutput.js';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH names another build, e.g. on a GitHub runner. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DAY = 86_400_000;

/** Fills a data directory with a week of failures, guarded calls, incidents and ledger rows. */
function seed(home: string): void {
  const db = openDatabase(path.join(home, 'orchestrator.db'), { migrations: ALL_MIGRATIONS });
  const now = Date.now();
  const events = new EventBus();
  const immune = new ImmuneSystem({ db, clock: { now: () => now }, logger: silentLogger, events, config: DEFAULT_IMMUNE_CONFIG, secrets: [] });
  immune.subscribe(events);
  const prompts = ['Extract the totals from invoice %', 'Summarise lease clause % for a tenant', 'Write SQL joining orders % and customers'];
  const graders = ['json_valid', 'contains', 'relevance'];
  let n = 0;
  for (let d = 6; d >= 0; d--) {
    for (let i = 0; i < 8 - d / 2; i++) {
      const k = (i + d) % 3;
      const failed = i % 3 !== 0;
      n += 1;
      immune.onTrialFinished({
        trialId: `tr_${n}`, status: failed ? 'failed' : 'passed', operation: 'agent', provider: 'google_gemini', model: k === 1 ? 'gemini-2.5-flash-lite' : 'gemini-2.5-flash',
        modelReason: '', escalated: false, prompt: prompts[k]!.replace('%', String(n)), processedPrompt: prompts[k]!.replace('%', String(n)), system: null, hasSystem: false, hasResponseSchema: false,
        output: 'x', finishReason: 'stop', error: null, attempts: 1, inputTokens: 10, outputTokens: 10, costUsd: 0.001, latencyMs: 10, taskId: null, tags: [], batchId: null,
        graderSpecs: [{ type: graders[k]! }],
        graderResults: failed ? [{ type: graders[k]!, pass: false, score: 0, reason: 'no', required: true, status: 'graded' }] : [],
        guardrails: d < 4 && i % 2 === 0 ? [{ id: `immune.learned.x.${graders[k]}`, kind: 'rewrite', reason: 'learned' }] : [],
        at: now - d * DAY - i * 60_000,
      });
      db.prepare(`INSERT INTO immune_checks (at_ms, operation, action, risk_score, matched, guardrails) VALUES (?, 'agent', ?, 0.5, 1, '[]')`).run(now - d * DAY, i % 4 === 0 ? 'blocked' : 'rewritten');
      db.prepare(`INSERT INTO ledger (time_ms, time_iso, provider, model, model_key, input_tokens, output_tokens, cost_nusd, cost_usd, tags, status, price_known)
        VALUES (?, '', 'google_gemini', 'gemini-2.5-flash', 'gemini-2.5-flash', 10, 10, 1000000, ?, '[]', 'ok', 1)`).run(now - d * DAY, 0.002 * (i + 1));
    }
    events.emit(d % 2 ? 'breaker.opened' : 'rate_limit.hit', { provider: 'google_gemini', model: 'gemini-2.5-flash', at: now - d * DAY, delayMs: 1000, until: now, concurrency: 2, reason: 'overloaded' } as never);
  }
  db.close();
}

// Skipped on a developer machine without a browser; CI must run it.
it.runIf(process.env.CI === 'true')('CI has the browser the dashboard test needs', () => {
  expect(fs.existsSync(CHROMIUM), `no browser at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`).toBe(true);
});

describe.skipIf(!fs.existsSync(CHROMIUM))('dashboard in headless Chromium', () => {
  let browser: Browser;
  let home: string;
  beforeAll(async () => {
    home = makeTempDir('dashboard-e2e-');
    seed(home);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('serves on 127.0.0.1: renders, every chart has data, no console error, no request leaves the machine', async () => {
    const child = spawn(process.execPath, [SERVER_BIN, 'dashboard', '--port', '0', '--days', '7'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TASK_ORCHESTRATOR_HOME: home } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`dashboard exited ${code}`)));
      });
      expect(JSON.parse(fs.readFileSync(path.join(home, 'dashboard.json'), 'utf8')).url).toBe(url);
      for (const scheme of ['light', 'dark'] as const) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, colorScheme: scheme });
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('request', (r) => requests.push(r.url()));
        await page.goto(url);
        await expect(page.locator('h1').textContent()).resolves.toContain('Failures');
        const charts = await page.locator('[data-chart]').evaluateAll((els) => els.map((e) => ({ id: e.getAttribute('data-chart'), points: Number(e.getAttribute('data-points')), bars: e.querySelectorAll('rect.bar').length })));
        expect(charts.map((c) => c.id).sort()).toEqual(['cost-per-day', 'failure-trend', 'failures-by-class', 'failures-by-grader', 'failures-by-model', 'guarded-calls', 'provider-incidents']);
        for (const c of charts) expect(c.points, c.id!).toBeGreaterThan(0);
        for (const c of charts) expect(c.bars, c.id!).toBeGreaterThan(0);
        await expect(page.locator('table tr').count()).resolves.toBeGreaterThan(3);
        expect(errors).toEqual([]);
        expect(requests.filter((r) => !r.startsWith(url))).toEqual([]);
        await page.screenshot({ path: path.join(testOutputDir('dashboard'), `dashboard-${scheme}.png`), fullPage: true });
        await page.close();
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
    }
    expect(fs.existsSync(path.join(home, 'dashboard.json'))).toBe(false);
  });

  it('--out writes one self-contained file (0600) that renders offline', async () => {
    const file = path.join(home, 'dash.html');
    const child = spawn(process.execPath, [SERVER_BIN, 'dashboard', '--out', file], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TASK_ORCHESTRATOR_HOME: home } });
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    expect(await page.locator('[data-chart]').count()).toBe(7);
    expect(requests.filter((r) => !r.startsWith('file://'))).toEqual([]);
    await page.close();
  });
});
