import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/clock.js';
import { metricsTable, MODEL_FILE, saveModel } from '../src/prediction/modelFile.js';
import { rocAuc } from '../src/prediction/metrics.js';
import { parseRecordLine, type LabelledRow } from '../src/prediction/records.js';
import { trainFailureModel } from '../src/prediction/train.js';
import { generateRecords } from '../tests/helpers/failureData.js';
import { fmt, percentile } from './stats.js';

/**
 * Failure predictor: train on 10,000 generated records (target ≤ 10 s on 2 cores), predict one
 * call (target p50 ≤ 0.5 ms), model file size, and the hold-out AUC table against the baseline
 * "recent failure rate of this model" and the rule's own probabilities (the ceiling).
 */
export async function run(): Promise<void> {
  const data = generateRecords(10_000, 42);
  const rows = data.map((d, i) => parseRecordLine(JSON.stringify(d.record), i + 1)).flatMap((p) => (p.kind === 'row' ? [p.row] : [])) as LabelledRow[];
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  // Wall time per stage (when each stage finished), to show where training time goes.
  const stageEnds = new Map<string, number>();
  const { model, summary } = trainFailureModel(rows, systemClock, {}, (step, done, total) => {
    if (done === total) stageEnds.set(step, performance.now() - started);
  });
  const trainMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  let previous = 0;
  const stages = [...stageEnds].map(([step, end]) => {
    const line = `${step} ${((end - previous) / 1000).toFixed(2)} s`;
    previous = end;
    return line;
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-predict-'));
  try {
    saveModel(dir, model);
    const bytes = fs.statSync(path.join(dir, MODEL_FILE)).size;
    const inputs = rows.slice(0, 2_000).map((r) => r.input);
    for (const input of inputs.slice(0, 200)) model.predict(input);
    const times: number[] = [];
    for (const input of inputs) {
      const t = performance.now();
      model.predict(input);
      times.push(performance.now() - t);
    }
    const holdout = data.slice(Math.round(data.length * 0.8));
    const ceiling = rocAuc(holdout.map((d) => d.trueRisk), holdout.map((d) => d.label));
    console.log(`train on ${rows.length} rows: ${(trainMs / 1000).toFixed(2)} s (target ≤ 10 s; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`);
    // CPU time is what the load of other processes inflates least (training is single-threaded).
    console.log(`  process CPU time ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s; stages: ${stages.join(', ')}; forest weight ${model.json.forest_weight}`);
    console.log(`predict one call: p50 ${fmt(percentile(times, 50))}, p95 ${fmt(percentile(times, 95))} (target p50 ≤ 0.5 ms)`);
    console.log(`model file: ${(bytes / 1024).toFixed(0)} KiB`);
    console.log(`hold-out ROC AUC: model ${summary.metrics.roc_auc}, linear stage ${summary.linear_roc_auc?.toFixed(4)}, baseline ${summary.baseline_metrics.roc_auc}, true probabilities ${ceiling?.toFixed(4)}`);
    console.log(metricsTable(summary));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
