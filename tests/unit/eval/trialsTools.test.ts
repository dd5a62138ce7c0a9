import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppServices } from '../../../src/app.js';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { trialMigrations, TrialStore } from '../../../src/eval/trialStore.js';
import { trialsExport } from '../../../src/tools/trials/trialsExport.js';
import { trialsGet } from '../../../src/tools/trials/trialsGet.js';
import { trialsList } from '../../../src/tools/trials/trialsList.js';
import type { ToolContext, ToolDefinition } from '../../../src/tools/types.js';
import { makeTempDir } from '../../helpers/paths.js';

const KEY = 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI';

let dir: string;
let db: Db;
let clock: ManualClock;
let store: TrialStore;
let services: AppServices;

const toolCtx: ToolContext = {
  signal: new AbortController().signal,
  wantsProgress: false,
  reportProgress: async () => {},
  createMessage: undefined,
  request: { requestId: 1, caller: { kind: 'stdio-client' } },
};

/** Parses arguments with the tool's own input schema and checks the answer against its output schema. */
async function call(tool: ToolDefinition, args: Record<string, unknown>) {
  const out = await tool.handler(tool.inputSchema.parse(args), services, toolCtx);
  tool.outputSchema.parse(out.structured);
  return out as { structured: Record<string, unknown>; text: string };
}

beforeEach(() => {
  dir = makeTempDir('trial-tools-');
  db = openDatabase(path.join(dir, 'test.db'), { migrations: trialMigrations });
  db.pragma('synchronous = OFF');
  clock = new ManualClock(Date.UTC(2026, 0, 15, 12));
  store = new TrialStore(db, clock);
  const config = loadConfig({ TASK_ORCHESTRATOR_HOME: dir });
  // Only what the trials tools touch; the rest of AppServices is not used by them.
  services = { config, clock, db, trials: store } as unknown as AppServices;
  for (let i = 0; i < 3; i++) {
    clock.advance(60_000);
    const t = store.create({ prompt: `Question ${i} with ${KEY}\n and more`, tags: i === 2 ? ['x'] : [] });
    store.markRunning(t.id);
    store.complete(t.id, { output: `Answer ${i} ${'z'.repeat(300)}`, model: 'gemini-2.5-flash', inputTokens: 5, outputTokens: 7, costUsd: 0.002, latencyMs: 50 });
    store.grade(t.id, [{ type: 'non_empty', pass: true, score: 1, reason: 'ok', status: 'graded', required: true, weight: 1 }], i !== 1, { score: 1 });
  }
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('trials tools', () => {
  it('trials_list shows short summaries, newest first', async () => {
    const { structured, text } = await call(trialsList, { status: 'passed' });
    const trials = structured.trials as Array<{ status: string; prompt_preview: string }>;
    expect(structured.total).toBe(2);
    expect(trials.map((t) => t.prompt_preview)).toEqual([`Question 2 with ${KEY} and more`, `Question 0 with ${KEY} and more`]);
    expect(text.split('\n')[0]).toBe('2 of 2 trials');
  });

  it('trials_list filters by tag and time, and rejects a vague date', async () => {
    const { structured } = await call(trialsList, { tag: 'x', from: '2026-01-15T12:02:00Z' });
    expect(structured.total).toBe(1);
    expect(() => trialsList.inputSchema.parse({ from: 'last week' })).toThrow(/ISO date/);
  });

  it('trials_get returns one trial, cut to max_chars', async () => {
    const id = store.list({ status: 'failed' }).trials[0]!.id;
    const { structured, text } = await call(trialsGet, { id, max_chars: 100 });
    expect(structured).toMatchObject({ id, status: 'failed', truncated: true, cost_usd: 0.002 });
    expect((structured.output as string).length).toBeLessThan(160);
    expect(text).toContain('- non_empty: pass — ok');
  });

  it('trials_get says when an answer was cut off at the token limit', async () => {
    clock.advance(60_000);
    const t = store.create({ prompt: 'long question' });
    store.markRunning(t.id);
    store.complete(t.id, { output: 'cut o', model: 'gemini-2.5-flash', inputTokens: 5, outputTokens: 2, costUsd: 0, latencyMs: 5, finishReason: 'length' });
    store.grade(t.id, [], true);
    const { structured, text } = await call(trialsGet, { id: t.id });
    expect(structured.finish_reason).toBe('length');
    expect(text).toContain('truncated at max_output_tokens');
  });

  it('trials_get names an unknown id', async () => {
    await expect(call(trialsGet, { id: 'tr_missing' })).rejects.toThrow('No trial with id tr_missing');
  });

  it('trials_export writes a redacted file under exports/ and never overwrites', async () => {
    const { structured } = await call(trialsExport, { format: 'chat', file_name: 'ft.jsonl' });
    const file = path.join(dir, 'exports', 'ft.jsonl');
    expect(structured).toEqual({ count: 2, path: file, truncated: false });
    const content = fs.readFileSync(file, 'utf8');
    expect(content).not.toContain(KEY);
    expect(content.trim().split('\n')).toHaveLength(2);
    await expect(call(trialsExport, { format: 'chat', file_name: 'ft.jsonl' })).rejects.toThrow('ft.jsonl already exists');
  });

  it('trials_export names its default file by format and time', async () => {
    const { structured } = await call(trialsExport, {});
    expect(structured.path).toBe(path.join(dir, 'exports', 'trials-records-20260115T120300Z.jsonl'));
    expect(structured.count).toBe(3);
  });

  it('two default exports at the same instant both succeed, to different files', async () => {
    // The clock does not move between the calls: the same second, even the same millisecond.
    const first = await call(trialsExport, {});
    const second = await call(trialsExport, {});
    expect(first.structured.path).toBe(path.join(dir, 'exports', 'trials-records-20260115T120300Z.jsonl'));
    expect(second.structured.path).not.toBe(first.structured.path);
    expect(second.structured.path).toBe(path.join(dir, 'exports', 'trials-records-20260115T120300Z-2.jsonl'));
    expect(second.text).toContain(second.structured.path as string);
    for (const { structured } of [first, second]) {
      expect(structured.count).toBe(3);
      expect(fs.readFileSync(structured.path as string, 'utf8').trim().split('\n')).toHaveLength(3);
    }
  });

  it('two inline exports too large to return fall back to two different files', async () => {
    const t = store.create({ prompt: 'big' });
    store.markRunning(t.id);
    store.complete(t.id, { output: 'y'.repeat(300_000), model: 'm', inputTokens: 1, outputTokens: 1, costUsd: 0, latencyMs: 1 });
    const first = await call(trialsExport, { inline: true });
    const second = await call(trialsExport, { inline: true });
    expect(second.structured.path).not.toBe(first.structured.path);
    for (const { structured } of [first, second]) {
      expect(structured.count).toBe(4);
      expect(fs.readFileSync(structured.path as string, 'utf8').trim().split('\n')).toHaveLength(4);
    }
  });

  it('trials_export rejects a path instead of a file name', () => {
    expect(() => trialsExport.inputSchema.parse({ file_name: '../../etc/passwd' })).toThrow();
    expect(() => trialsExport.inputSchema.parse({ file_name: '/tmp/x.jsonl' })).toThrow();
  });

  it('trials_export inline returns the JSONL and says when it is cut', async () => {
    const { structured } = await call(trialsExport, { inline: true, limit: 2 });
    expect(structured.path).toBeNull();
    expect(structured.truncated).toBe(false);
    const lines = (structured.jsonl as string).trim().split('\n').map((l) => JSON.parse(l) as { format: string; input: { prompt: string } });
    expect(lines).toHaveLength(2);
    expect(lines[0]!.format).toBe('task-orchestrator.trial.v2');
    expect(lines[0]!.input.prompt).toBe('Question 0 with [REDACTED]\n and more');
  });

  it('trials_export inline falls back to a file when the JSONL is too large', async () => {
    const t = store.create({ prompt: 'big' });
    store.markRunning(t.id);
    store.complete(t.id, { output: 'y'.repeat(300_000), model: 'm', inputTokens: 1, outputTokens: 1, costUsd: 0, latencyMs: 1 });
    const { structured, text } = await call(trialsExport, { inline: true });
    expect(structured.jsonl).toBeUndefined();
    expect(structured.count).toBe(4);
    expect(fs.existsSync(structured.path as string)).toBe(true);
    expect(text).toContain('(too large to return inline)');
  });
});
