import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CONFIG_VARIABLES, ConfigError, resolveDataDir, type Env } from './config.js';

export const CONFIG_FILE_NAME = 'config.json';

/** Where the data directory is decides where the file is, so the file cannot move it. */
const LOCATION_VARIABLES = new Set(['TASK_ORCHESTRATOR_HOME', 'XDG_DATA_HOME']);

const fileSchema = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.record(z.string(), z.unknown())]),
  'must be a JSON object of {"VARIABLE": value}',
);

export interface LayeredEnv {
  /** The environment with the file's variables underneath it. */
  env: Env;
  /** The file, when there is one. */
  file: string | undefined;
  /** Variables whose value came from the file (for error messages). */
  fromFile: ReadonlySet<string>;
  /** Things worth a log line, e.g. a file holding keys that other users can read. */
  warnings: string[];
}

/**
 * The environment over the data directory's optional config.json. The file holds the same
 * variables as the environment, so the README's one table documents both; values may be
 * strings, numbers, booleans, lists (for comma lists) or objects (for TASK_ORCHESTRATOR_PRICES).
 * A variable set (non-empty) in the environment wins, so a client's `env` block overrides it.
 */
export function withConfigFile(env: Env): LayeredEnv {
  const file = path.join(resolveDataDir(env), CONFIG_FILE_NAME);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { env, file: undefined, fromFile: new Set(), warnings: [] };
    throw new ConfigError(file, `cannot be read (${code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    // Not V8's message: it quotes the text around the error, which may be part of an API key.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new ConfigError(file, `is not valid JSON${position === undefined ? '' : ` (${lineAndColumn(text, Number(position))})`}`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${String(issue.path[0])} in ${file}` : file;
    throw new ConfigError(where, issue.path.length > 0 ? 'must be a string, number, boolean, list of strings or object' : issue.message);
  }

  const fileVars: Env = {};
  for (const [name, value] of Object.entries(parsed.data)) {
    if (LOCATION_VARIABLES.has(name)) throw new ConfigError(`${name} in ${file}`, 'cannot be set there: the file lives in the data directory it would choose');
    if (!CONFIG_VARIABLES.includes(name)) throw new ConfigError(`${name} in ${file}`, 'is not a configuration variable (README.md lists them)');
    fileVars[name] = typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  const merged: Env = { ...fileVars };
  const fromFile = new Set(Object.keys(fileVars));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || (value.trim() === '' && fromFile.has(name))) continue;
    merged[name] = value;
    fromFile.delete(name);
  }

  const warnings: string[] = [];
  const holdsSecret = [...fromFile].some((name) => /KEY|SECRET|WEBHOOK_URL/.test(name));
  if (holdsSecret && process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) {
    warnings.push(`${file} holds API keys and other users can read it; chmod 600 it`);
  }
  return { env: merged, file, fromFile, warnings };
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}
