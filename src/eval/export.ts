import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { AppError, errorMessage, InvalidInputError, redactSecrets } from '../errors.js';
import { TRIAL_STATUSES, type Trial, type TrialCursor, type TrialFilters, type TrialStatus, type TrialStore } from './trialStore.js';

/**
 * Training data out of the trial store, as JSONL:
 * - `records`: our own versioned record per trial (format "task-orchestrator.trial.v2"): an
 *   `input` section (what was known before the call: prompt, system, model, schema, graders,
 *   sizes) and an `outcome` section (verdict, output, grading, cost, latency, attempts, error).
 * - `chat`: {"messages": [system?, user, assistant]} for supervised fine-tuning; only passed,
 *   completely graded trials unless told otherwise.
 * Every string is passed through redactSecrets (prompts often contain pasted keys). Rows are
 * read in keyset pages and written with back-pressure, so memory stays flat.
 */

export const TRIAL_RECORD_FORMAT = 'task-orchestrator.trial.v2';
/** The previous record format, still readable by the trainer (src/prediction/records.ts). */
export const TRIAL_RECORD_FORMAT_V1 = 'task-orchestrator.trial.v1';
export const EXPORT_FORMATS = ['records', 'chat'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  format: ExportFormat;
  filters?: TrialFilters | undefined;
  /** Literal secrets to redact (config.secrets), on top of the built-in key/JWT patterns. */
  secrets?: readonly string[] | undefined;
  /** Stop after this many records. */
  limit?: number | undefined;
  /** chat only: also export trials whose grading was incomplete (a required judge could not grade). */
  includeIncomplete?: boolean | undefined;
  /** With a path: fail (InvalidInputError) instead of replacing an existing file. */
  noClobber?: boolean | undefined;
  /**
   * With noClobber, for a name the user did not choose: when it is taken, write to the first free
   * `name-2.jsonl`, `name-3.jsonl`… instead of failing (two default exports in one second).
   */
  numberIfTaken?: boolean | undefined;
}

export interface ExportResult {
  count: number;
  /** The file written, when `out` was a path. */
  path?: string;
}

const PAGE_SIZE = 200;

/**
 * Format 2 (current) splits a record in two: `input` holds only what is known before the call
 * (what a failure predictor may learn from), `outcome` everything the call produced (the label
 * and what would leak it: attempts, retries, error code, output). Format 1 records
 * (TrialRecordV1, a flat mix of both) are still read by the trainer.
 */
export interface TrialRecordV2 {
  format: typeof TRIAL_RECORD_FORMAT;
  id: string;
  created_at: string;
  updated_at: string;
  input: TrialRecordInput;
  outcome: TrialRecordOutcome;
}

/** Known before the call. */
export interface TrialRecordInput {
  provider: string | null;
  /** The model the call was first sent to (before any escalation); null when never chosen. */
  model: string | null;
  task_id: number | null;
  parent_run_id: string | null;
  tags: string[];
  prompt: string;
  processed_prompt: string | null;
  system: string | null;
  response_schema: Record<string, unknown> | null;
  /**
   * The graders the call was judged by; null when the trial ended before grading (the store
   * keeps no spec then, so this is unknown, not empty).
   */
  graders: Array<{ type: string; required: boolean }> | null;
  features: {
    prompt_chars: number;
    prompt_words: number;
    prompt_lines: number;
    processed_prompt_chars: number | null;
    system_chars: number;
    has_system: boolean;
    has_response_schema: boolean;
    tag_count: number;
    created_hour_utc: number;
    created_weekday_utc: number;
  };
}

/** What the call produced. */
export interface TrialRecordOutcome {
  status: TrialStatus;
  /** true/false once graded; null otherwise. */
  passed: boolean | null;
  /** The model that gave the answer kept (after escalation). */
  model: string | null;
  model_reason: string | null;
  escalated: boolean;
  output: string | null;
  output_chars: number | null;
  parsed_json: unknown;
  finish_reason: string | null;
  error: { code: string; message: string | null } | null;
  grading: {
    score: number | null;
    incomplete: boolean;
    results: Array<{ type: string; status: string; pass: boolean | null; score: number | null; required: boolean; weight: number; reason: string }>;
  } | null;
  usage: { input_tokens: number; output_tokens: number };
  cost_usd: number;
  latency_ms: number | null;
  attempts: number;
  retried: boolean;
}

/** Format 1 ("task-orchestrator.trial.v1"), written before 2026-12: pre-call and outcome fields mixed. */
export interface TrialRecordV1 {
  format: typeof TRIAL_RECORD_FORMAT_V1;
  id: string;
  created_at: string;
  updated_at: string;
  status: TrialStatus;
  passed: boolean | null;
  provider: string | null;
  model: string | null;
  model_reason: string | null;
  task_id: number | null;
  parent_run_id: string | null;
  tags: string[];
  prompt: string;
  processed_prompt: string | null;
  system: string | null;
  response_schema: Record<string, unknown> | null;
  output: string | null;
  parsed_json: unknown;
  error: { code: string; message: string | null } | null;
  grading: TrialRecordOutcome['grading'];
  usage: { input_tokens: number; output_tokens: number };
  cost_usd: number;
  latency_ms: number | null;
  attempts: number;
  features: Record<string, unknown> & { grader_types?: string[] };
}

export interface ChatExample {
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
}

/** One trial as a record; sizes are measured on the original text, every string is redacted. */
export function toTrialRecord(trial: Trial, secrets: readonly string[] = []): TrialRecordV2 {
  const created = new Date(trial.created_at_ms);
  const results = trial.grader_results;
  const escalated = trial.model_reason !== null && ESCALATED.test(trial.model_reason);
  const record: TrialRecordV2 = {
    format: TRIAL_RECORD_FORMAT,
    id: trial.id,
    created_at: trial.created_at,
    updated_at: trial.updated_at,
    input: {
      provider: trial.provider,
      model: escalated ? firstChosenModel(trial.model_reason!) ?? trial.model : trial.model,
      task_id: trial.task_id,
      parent_run_id: trial.parent_run_id,
      tags: trial.tags,
      prompt: trial.prompt,
      processed_prompt: trial.processed_prompt,
      system: trial.system,
      response_schema: trial.response_schema,
      graders: results === null ? null : results.map((r) => ({ type: r.type, required: r.required })),
      features: {
        prompt_chars: trial.prompt.length,
        prompt_words: countWords(trial.prompt),
        prompt_lines: trial.prompt === '' ? 0 : trial.prompt.split('\n').length,
        processed_prompt_chars: trial.processed_prompt?.length ?? null,
        system_chars: trial.system?.length ?? 0,
        has_system: trial.system !== null && trial.system !== '',
        has_response_schema: trial.response_schema !== null,
        tag_count: trial.tags.length,
        created_hour_utc: created.getUTCHours(),
        created_weekday_utc: created.getUTCDay(),
      },
    },
    outcome: {
      status: trial.status,
      passed: trial.status === 'passed' ? true : trial.status === 'failed' ? false : null,
      model: trial.model,
      model_reason: trial.model_reason,
      escalated,
      output: trial.output,
      output_chars: trial.output?.length ?? null,
      parsed_json: trial.parsed_json,
      finish_reason: trial.finish_reason,
      error: trial.error_code === null ? null : { code: trial.error_code, message: trial.error_message },
      grading:
        results === null
          ? null
          : {
              score: trial.score,
              incomplete: trial.grading_incomplete,
              results: results.map((r) => ({
                type: r.type,
                status: r.status,
                pass: r.pass,
                score: r.score,
                required: r.required,
                weight: r.weight,
                reason: r.reason,
              })),
            },
      usage: { input_tokens: trial.input_tokens, output_tokens: trial.output_tokens },
      cost_usd: trial.cost_usd,
      latency_ms: trial.latency_ms,
      attempts: trial.attempts,
      retried: trial.attempts > 1,
    },
  };
  return redactDeep(record, secrets);
}

/** Model selection writes "…; escalated to MODEL" when a failed answer was retried on a higher tier. */
const ESCALATED = /\bescalated to \S+/;

/** The model the first choice named ("code task, ~12 prompt tokens → MODEL; …"), if it says. */
function firstChosenModel(reason: string): string | undefined {
  return /→ ([^\s;]+)/.exec(reason)?.[1];
}

/** One trial as a chat fine-tuning example, or undefined when it has no output. */
export function toChatExample(trial: Trial, secrets: readonly string[] = []): ChatExample | undefined {
  if (trial.output === null) return undefined;
  const messages: ChatExample['messages'] = [];
  if (trial.system) messages.push({ role: 'system', content: trial.system });
  messages.push({ role: 'user', content: trial.processed_prompt ?? trial.prompt });
  messages.push({ role: 'assistant', content: trial.output });
  return redactDeep({ messages }, secrets);
}

/** Object keys whose string values are secrets whatever they look like (e.g. in parsed_json). */
const SECRET_KEY = /^(?:x-goog-)?api[-_]?key$|secret|passw(?:or)?d|^(?:access|refresh|auth|bearer)[-_]?token$|^authorization$/i;

/** Redacts every string (values and keys) in a JSON-like value, and values under secret-named keys. */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactSecrets(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) {
        out[redactSecrets(k, secrets)] = typeof inner === 'string' && inner !== '' && SECRET_KEY.test(k) ? '[REDACTED]' : walk(inner);
      }
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

/** The filters an export actually applies: chat defaults to passed trials. */
export function effectiveFilters(opts: ExportOptions): TrialFilters {
  const filters = { ...(opts.filters ?? {}) };
  if (opts.format === 'chat' && filters.status === undefined) filters.status = 'passed';
  return filters;
}

/**
 * Writes trials as JSONL to a stream (left open; the caller owns it) or to a file path (written
 * to a temporary file, then renamed, so a failed export leaves no half file).
 */
export async function exportTrials(store: TrialStore, opts: ExportOptions, out: Writable | string): Promise<ExportResult> {
  if (typeof out !== 'string') return { count: await writeTrials(store, opts, out) };
  const target = path.resolve(out);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  const stream = fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  try {
    await once(stream, 'open');
    const count = await writeTrials(store, opts, stream);
    stream.end();
    await once(stream, 'finish');
    await new Promise<void>((resolve, reject) => stream.close((err) => (err ? reject(err) : resolve())));
    let written = target;
    if (opts.noClobber) {
      written = linkUnclaimed(temp, target, opts.numberIfTaken ?? false);
      fs.rmSync(temp, { force: true });
    } else {
      fs.renameSync(temp, target);
    }
    return { count, path: written };
  } catch (err) {
    stream.destroy();
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/** How many numbered names (`-2` … `-1000`) are tried before giving up. */
const MAX_NUMBERED = 1000;

/**
 * Links `temp` to `target`, or with `numbered` to the first free `stem-2.ext`, `stem-3.ext`…;
 * link() refuses to replace an existing file, atomically, so two exports racing for one name
 * cannot both get it. Returns the path written.
 */
function linkUnclaimed(temp: string, target: string, numbered: boolean): string {
  const ext = path.extname(target);
  const stem = target.slice(0, target.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? target : `${stem}-${n}${ext}`;
    try {
      fs.linkSync(temp, candidate);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!numbered) throw new InvalidInputError(`${path.basename(target)} already exists in ${path.dirname(target)}; choose another file name.`);
      if (n >= MAX_NUMBERED) {
        throw new InvalidInputError(`${path.basename(target)} and ${MAX_NUMBERED - 1} numbered variants already exist in ${path.dirname(target)}; choose a file name.`);
      }
    }
  }
}

async function writeTrials(store: TrialStore, opts: ExportOptions, stream: Writable): Promise<number> {
  const secrets = opts.secrets ?? [];
  const filters = effectiveFilters(opts);
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  let count = 0;
  let cursor: TrialCursor | undefined;
  while (count < limit) {
    const page = store.page(filters, cursor, PAGE_SIZE);
    if (page.length === 0) break;
    const last = page[page.length - 1]!;
    cursor = { createdAtMs: last.created_at_ms, id: last.id };
    for (const trial of page) {
      if (count >= limit) break;
      let line: string;
      if (opts.format === 'chat') {
        if (trial.grading_incomplete && !opts.includeIncomplete) continue;
        const example = toChatExample(trial, secrets);
        if (!example) continue;
        line = JSON.stringify(example);
      } else {
        line = JSON.stringify(toTrialRecord(trial, secrets));
      }
      if (!stream.write(`${line}\n`)) await once(stream, 'drain');
      count++;
    }
    if (page.length < PAGE_SIZE) break;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// CLI: task-orchestrator export ...

export interface ExportCliDeps {
  store: TrialStore;
  secrets: readonly string[];
  stdout: Writable;
  stderr: Writable;
}

export const EXPORT_USAGE = `Usage: task-orchestrator export [options]

Writes trials as JSONL (secrets redacted) to --out, or to stdout.

  --format records|chat   records: task-orchestrator.trial.v2 records (default)
                          chat: {"messages": [...]} fine-tuning examples (passed trials by default)
  --status S              ${TRIAL_STATUSES.join('|')} (repeatable)
  --model M               only this model
  --tag T                 only trials with this tag
  --from D                created at or after D (YYYY-MM-DD, UTC, or ISO date-time)
  --to D                  created before D (a bare date includes that day)
  --limit N               at most N records
  --include-incomplete    chat: also trials whose grading was incomplete
  --out FILE              write to FILE instead of stdout
  -h, --help              show this help
`;

/** Runs the export command; returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runExportCli(argv: readonly string[], deps: ExportCliDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        format: { type: 'string' },
        status: { type: 'string', multiple: true },
        model: { type: 'string' },
        tag: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        out: { type: 'string' },
        'include-incomplete': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    deps.stderr.write(`export: ${errorMessage(err)}\n\n${EXPORT_USAGE}`);
    return 2;
  }
  if (values.help) {
    deps.stderr.write(EXPORT_USAGE);
    return 0;
  }
  try {
    const format = values.format ?? 'records';
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new InvalidInputError(`--format must be records or chat (got "${format}")`);
    const statuses = values.status ?? [];
    const badStatus = statuses.find((s) => !(TRIAL_STATUSES as readonly string[]).includes(s));
    if (badStatus !== undefined) throw new InvalidInputError(`--status must be one of ${TRIAL_STATUSES.join(', ')} (got "${badStatus}")`);
    let limit: number | undefined;
    if (values.limit !== undefined) {
      limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError(`--limit must be a positive integer (got "${values.limit}")`);
    }
    const filters: TrialFilters = {
      status: statuses.length > 0 ? (statuses as TrialStatus[]) : undefined,
      model: values.model,
      tag: values.tag,
      from: values.from,
      to: values.to,
    };
    // Validate the dates before anything is written.
    deps.store.count(filters);
    const opts: ExportOptions = {
      format: format as ExportFormat,
      filters,
      secrets: deps.secrets,
      limit,
      includeIncomplete: values['include-incomplete'] ?? false,
    };
    const result = await exportTrials(deps.store, opts, values.out ?? deps.stdout);
    deps.stderr.write(`Exported ${result.count} ${format === 'chat' ? 'chat examples' : 'trial records'}${result.path ? ` to ${result.path}` : ''}.\n`);
    return 0;
  } catch (err) {
    const usage = err instanceof AppError && err.code === 'invalid_input';
    deps.stderr.write(`export: ${redactSecrets(errorMessage(err), deps.secrets)}\n`);
    return usage ? 2 : 1;
  }
}

function countWords(text: string): number {
  const m = text.match(/\S+/g);
  return m ? m.length : 0;
}
