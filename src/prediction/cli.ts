import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import { parseRecordLine, type LabelledRow } from './records.js';
import { loadModel, metricsTable, saveModel } from './modelFile.js';
import { trainFailureModel, type TrainProgress } from './train.js';

/** `task-orchestrator train` and `task-orchestrator predict`. */

export interface PredictionCliDeps {
  /** config.prediction.modelDir: the default --out / --model. */
  modelDir: string;
  clock: Clock;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
}

export const TRAIN_USAGE = `Usage: task-orchestrator train --data FILE.jsonl [--out DIR]

Trains the failure predictor on trial records (task-orchestrator export --format records).
The newest 20% of trials (by created_at) are held out; metrics are printed and saved.

  --data FILE    records JSONL (format task-orchestrator.trial.v2 or .v1)
  --out DIR      where the model goes (default: models/failure-predictor in the data directory,
                 or TASK_ORCHESTRATOR_MODEL_DIR)
  -h, --help     show this help
`;

export const PREDICT_USAGE = `Usage: task-orchestrator predict [--model DIR] < records.jsonl

Reads trial records as JSONL on stdin; writes one {"risk_score": …} line per input line, in order
(a line that cannot be read gets {"risk_score": null, "error": "…"}).

  --model DIR    the model directory (default: as for train)
  -h, --help     show this help
`;

/** A bar on a terminal, one line per step otherwise. */
function progressReporter(stderr: PredictionCliDeps['stderr']): TrainProgress {
  let lastStep = '';
  return (step, done, total) => {
    if (stderr.isTTY) {
      const width = 30;
      const filled = Math.round((done / Math.max(1, total)) * width);
      stderr.write(`\r${step.padEnd(14)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      if (done >= total) stderr.write('\n');
    } else if (step !== lastStep || done >= total) {
      if (done >= total || step !== lastStep) stderr.write(`${step}: ${done}/${total}\n`);
    }
    lastStep = step;
  };
}

export async function runTrainCli(argv: readonly string[], deps: PredictionCliDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { data: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    deps.stderr.write(`train: ${errorMessage(err)}\n\n${TRAIN_USAGE}`);
    return 2;
  }
  if (values.help) {
    deps.stderr.write(TRAIN_USAGE);
    return 0;
  }
  if (!values.data) {
    deps.stderr.write(`train: --data FILE.jsonl is required\n\n${TRAIN_USAGE}`);
    return 2;
  }
  const rows: LabelledRow[] = [];
  let bad = 0;
  let unlabelled = 0;
  try {
    const lines = readline.createInterface({ input: fs.createReadStream(values.data, { encoding: 'utf8' }), crlfDelay: Infinity });
    let n = 0;
    for await (const text of lines) {
      n++;
      if (text.trim() === '') continue;
      const parsed = parseRecordLine(text, n);
      if (parsed.kind === 'row') rows.push(parsed.row);
      else if (parsed.kind === 'unlabelled') unlabelled++;
      else {
        bad++;
        if (bad <= 20) deps.stderr.write(`${values.data}:${n}: skipped: ${parsed.reason}\n`);
      }
    }
  } catch (err) {
    deps.stderr.write(`train: cannot read ${values.data}: ${errorMessage(err)}\n`);
    return 1;
  }
  if (bad > 20) deps.stderr.write(`… and ${bad - 20} more bad lines\n`);
  deps.stderr.write(`Read ${rows.length} labelled trials (${bad} bad lines skipped, ${unlabelled} without a verdict).\n`);
  const failures = rows.filter((r) => r.label === 1).length;
  if (rows.length < 20 || failures === 0 || failures === rows.length) {
    deps.stderr.write(`train: need at least 20 labelled trials with both passed and failed ones (have ${rows.length}, ${failures} failed)\n`);
    return 1;
  }
  try {
    const { model, summary } = trainFailureModel(rows, deps.clock, { badLines: bad, unlabelledLines: unlabelled }, progressReporter(deps.stderr));
    const dir = path.resolve(values.out ?? deps.modelDir);
    const written = saveModel(dir, model);
    deps.stderr.write(`\n${metricsTable(summary)}\n\nModel ${model.version} (${summary.split}; ${summary.seconds} s) written to ${written.modelPath}\nModel card: ${written.cardPath}\n`);
    return 0;
  } catch (err) {
    deps.stderr.write(`train: ${errorMessage(err)}\n`);
    return 1;
  }
}

export async function runPredictCli(argv: readonly string[], deps: PredictionCliDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { model: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    deps.stderr.write(`predict: ${errorMessage(err)}\n\n${PREDICT_USAGE}`);
    return 2;
  }
  if (values.help) {
    deps.stderr.write(PREDICT_USAGE);
    return 0;
  }
  const loaded = loadModel(path.resolve(values.model ?? deps.modelDir));
  if (loaded.status === 'absent') {
    deps.stderr.write(`predict: no model at ${loaded.path}; train one with task-orchestrator train --data FILE.jsonl\n`);
    return 1;
  }
  if (loaded.status === 'invalid') {
    deps.stderr.write(`predict: ${loaded.error}\n`);
    return 1;
  }
  const lines = readline.createInterface({ input: deps.stdin, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    const parsed = parseRecordLine(text, n);
    let out: string;
    if (parsed.kind === 'bad') out = JSON.stringify({ risk_score: null, error: `line ${n}: ${parsed.reason}` });
    else {
      // Unlabelled records (still running, cancelled) are scored too: only the input is read.
      const input = parsed.kind === 'row' ? parsed.row.input : parsed.input;
      out = JSON.stringify({ risk_score: Math.round(loaded.model.predict(input) * 1e4) / 1e4 });
    }
    if (!deps.stdout.write(`${out}\n`)) await new Promise((resolve) => deps.stdout.once('drain', resolve));
  }
  return 0;
}
