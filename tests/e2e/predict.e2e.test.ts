import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRecords, toJsonl } from '../helpers/failureData.js';
import { makeTempDir, SERVER_BIN } from '../helpers/paths.js';

const home = makeTempDir('predict-e2e-');
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [SERVER_BIN, ...args], { input, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, TASK_ORCHESTRATOR_HOME: home }, timeout: 240_000 });

describe('train and predict through the built binary', () => {
  it('predict without a model says how to train one; train writes a private model; predict scores stdin in order', () => {
    const data = generateRecords(400, 7);
    const file = path.join(home, 'records.jsonl');
    fs.writeFileSync(file, toJsonl(data));

    const none = cli(['predict'], toJsonl(data.slice(0, 2)));
    expect(none.status).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/no model at .*failure-predictor.*task-orchestrator train --data/);

    const trained = cli(['train', '--data', file]);
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toBe('');
    expect(trained.stderr).toMatch(/Read 400 labelled trials/);
    expect(trained.stderr).toMatch(/\| baseline: recent failure rate of the model \|/);
    const modelDir = path.join(home, 'models', 'failure-predictor');
    expect(fs.statSync(path.join(modelDir, 'failure-predictor.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(modelDir).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(path.join(modelDir, 'MODEL_CARD.md'), 'utf8')).toMatch(/Class balance/);

    const predicted = cli(['predict'], toJsonl(data.slice(0, 5)));
    expect(predicted.status, predicted.stderr).toBe(0);
    const lines = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { risk_score: number });
    expect(lines).toHaveLength(5);
    for (const l of lines) expect(l.risk_score).toBeGreaterThanOrEqual(0);
  }, 300_000);
});
