import type { z } from 'zod';

/** At most this many problems are listed: the model fixes them and calls again. */
const MAX_LISTED = 3;
/** A shown value is cut here: the model sent it, it needs only enough to recognise it. */
const SHOWN_CHARS = 60;

type Issue = z.core.$ZodIssue;
type Schema = z.core.$ZodType;
type Path = ReadonlyArray<PropertyKey>;

/**
 * The one wording of argument errors, for every tool: each problem names the field, what was
 * sent, what is allowed, and what is missing, e.g.
 * `period: "week" is not allowed; allowed: today | month | all | {from, to}`.
 * zod's own message is kept where a schema wrote one (a refinement, a custom `error`); its
 * generic ones ("Invalid input", "Invalid option: …") are replaced by a description of the
 * schema at the issue's path.
 */
export function formatArgumentIssues(schema: Schema, issues: readonly Issue[]): string {
  const lines = issues.slice(0, MAX_LISTED).map((issue) => formatIssue(schema, issue, []));
  const more = issues.length > MAX_LISTED ? `; and ${issues.length - MAX_LISTED} more` : '';
  return lines.join('; ') + more;
}

function formatIssue(root: Schema, issue: Issue, prefix: Path): string {
  const path = [...prefix, ...issue.path];
  const where = path.length > 0 ? path.map(String).join('.') : 'arguments';
  const at = schemaAt(root, path);
  const allowed = at ? describe(at) : undefined;
  const generic = issue.message.startsWith('Invalid');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = at ? objectKeys(at) : undefined;
      const names = issue.keys.map((k) => `"${k}"`).join(', ');
      return `${where}: unknown argument${issue.keys.length > 1 ? 's' : ''} ${names}${keys ? `; allowed: ${keys.join(', ')}` : ''}`;
    }
    case 'invalid_union': {
      if (!generic) return `${where}: ${issue.message}`;
      if ('discriminator' in issue && issue.discriminator) {
        const options = (issue as { options?: unknown[] }).options ?? [];
        return `${where}: ${shown(issue.input)} is not allowed; allowed: ${options.map(String).join(' | ')}`;
      }
      // A branch whose own fields failed (not its type) says more than "none matched".
      const closest = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
      if (closest) return closest.slice(0, MAX_LISTED).map((i) => formatIssue(root, i, path)).join('; ');
      return missingOr(where, issue.input, allowed);
    }
    case 'invalid_type':
    case 'invalid_value':
      if (!generic) return `${where}: ${issue.message}`;
      return missingOr(where, issue.input, allowed ?? ('values' in issue ? issue.values.map((v) => String(v)).join(' | ') : issue.expected));
    default:
      return `${where}: ${issue.message}`;
  }
}

function missingOr(where: string, input: unknown, allowed: string | undefined): string {
  if (input === undefined) return `${where}: missing (required${allowed ? `: ${allowed}` : ''})`;
  return `${where}: ${shown(input)} is not allowed${allowed ? `; allowed: ${allowed}` : ''}`;
}

function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text;
}

type Def = {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  entries?: Record<string, unknown>;
  values?: unknown[];
  valueType?: Schema;
  getter?: () => Schema;
};

const def = (s: Schema): Def => s._zod.def as unknown as Def;

/** Wrappers that do not change which values are allowed (besides null, described apart). */
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function unwrap(s: Schema): Schema {
  let current = s;
  for (let i = 0; i < 20; i++) {
    const d = def(current);
    if (WRAPPERS.has(d.type) && d.innerType) current = d.innerType;
    else if (d.type === 'pipe' && d.in) current = d.in;
    else if (d.type === 'lazy' && d.getter) current = d.getter();
    else break;
  }
  return current;
}

/** The schema that validates the value at `path`, when the path can be followed. */
function schemaAt(root: Schema, path: Path): Schema | undefined {
  let current: Schema | undefined = root;
  for (const key of path) {
    if (!current) return undefined;
    current = childOf(current, key);
  }
  return current;
}

function childOf(s: Schema, key: PropertyKey): Schema | undefined {
  const d = def(unwrap(s));
  if (d.type === 'nullable' && d.innerType) return childOf(d.innerType, key);
  if (d.type === 'object' && d.shape) return d.shape[String(key)];
  if (d.type === 'array' && d.element) return d.element;
  if (d.type === 'record' && d.valueType) return d.valueType;
  if (d.type === 'union' && d.options) {
    for (const option of d.options) {
      const child = childOf(option, key);
      if (child) return child;
    }
  }
  return undefined;
}

function objectKeys(s: Schema): string[] | undefined {
  const d = def(unwrap(s));
  if (d.type === 'nullable' && d.innerType) return objectKeys(d.innerType);
  if (d.type === 'union' && d.options) return d.options.map(objectKeys).find((keys) => keys !== undefined);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

/** What a schema allows, in a few words: `today | month | all | {from, to}`, `a number or null`. */
export function describe(s: Schema, depth = 0): string {
  const d = def(unwrap(s));
  if (depth > 3) return d.type;
  switch (d.type) {
    case 'enum':
      return Object.values(d.entries ?? {}).map(String).join(' | ');
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' | ');
    case 'object':
      return `{${Object.keys(d.shape ?? {}).join(', ')}}`;
    case 'union':
      return (d.options ?? []).map((o) => describe(o, depth + 1)).join(' | ');
    case 'nullable':
      return `${d.innerType ? describe(d.innerType, depth + 1) : 'a value'} or null`;
    case 'array':
      return `a list of ${d.element ? describe(d.element, depth + 1) : 'values'}`;
    case 'record':
      return 'an object';
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return `a ${d.type}`;
    case 'int':
      return 'an integer';
    default:
      return d.type;
  }
}
