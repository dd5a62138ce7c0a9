import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../../src/app.js';
import { ManualClock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { NotConfiguredError } from '../../../src/errors.js';
import { saveModel } from '../../../src/prediction/modelFile.js';
import { openFailurePredictor } from '../../../src/prediction/predictor.js';
import { parseRecordLine, type LabelledRow } from '../../../src/prediction/records.js';
import { trainFailureModel } from '../../../src/prediction/train.js';
import { predictRisk } from '../../../src/tools/prediction/predictRisk.js';
import type { ToolContext } from '../../../src/tools/types.js';
import { generateRecords } from '../../helpers/failureData.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'predict-tool-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const ctx = {} as ToolContext;

async function services(modelDir: string): Promise<AppServices> {
  return { config: loadConfig({ TASK_ORCHESTRATOR_HOME: dir }), failurePredictor: await openFailurePredictor(modelDir) } as AppServices;
}

describe('predict_risk', () => {
  it('validates its input with zod', () => {
    expect(predictRisk.inputSchema.safeParse({ prompt: '' }).success).toBe(false);
    expect(predictRisk.inputSchema.safeParse({ prompt: 'x', graders: [{ nope: 1 }] }).success).toBe(false);
  });

  it('without a model: not_configured, saying how to train one', async () => {
    const args = predictRisk.inputSchema.parse({ prompt: 'Write about the water cycle.' });
    const err = await predictRisk.handler(args, await services(path.join(dir, 'none')), ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotConfiguredError);
    expect((err as Error).message).toMatch(/No failure model is trained.*task-orchestrator train --data/);
  });

  it('with a model: risk, threshold, top features and the model version', async () => {
    const rows = generateRecords(400, 3).map((d, i) => parseRecordLine(JSON.stringify(d.record), i + 1)).flatMap((p) => (p.kind === 'row' ? [p.row] : [])) as LabelledRow[];
    const { model } = trainFailureModel(rows, new ManualClock(Date.UTC(2026, 11, 1)));
    const modelDir = path.join(dir, 'm');
    saveModel(modelDir, model);
    const args = predictRisk.inputSchema.parse({ prompt: 'Prove the theorem. Answer in exactly 4 words.', model: 'gemini-2.5-flash-lite' });
    const out = await predictRisk.handler(args, await services(modelDir), ctx);
    expect(out.structured).toMatchObject({ threshold: 0.5, model_version: model.version, top_features: expect.arrayContaining([expect.objectContaining({ feature: 'text_risk' })]) });
    const { risk_score, is_high_risk } = out.structured as { risk_score: number; is_high_risk: boolean };
    expect(risk_score).toBeGreaterThanOrEqual(0);
    expect(is_high_risk).toBe(risk_score >= 0.5);
    expect(predictRisk.outputSchema.safeParse(out.structured).success).toBe(true);
  }, 120_000);
});
