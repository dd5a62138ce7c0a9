import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type Options, type Plugin, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { InvalidInputError, errorMessage } from '../../errors.js';
import { LinearRegexSyntaxError, ajvLinearRegExp } from './linearRegex.js';

/** Drafts we compile for: 2019-09/2020-12 schemas use Ajv2020, everything else draft-07. */
type Draft = 'draft7' | 'draft2020';

export interface SchemaCheck {
  valid: boolean;
  /** Human-readable validation errors, at most `maxErrors`, each bounded in length. */
  errors: string[];
  errorCount: number;
}

export interface JsonSchemaCacheOptions {
  /** How many compiled schemas to keep (least recently used are dropped). Default 200. */
  maxEntries?: number;
}

const AJV_OPTIONS: Options = {
  // Response schemas written for Gemini carry keywords Ajv does not know (propertyOrdering, ...).
  strict: false,
  allErrors: true,
  logger: false,
  validateFormats: true,
  // `pattern` keywords come from the caller: linear-time matching (see linearRegex.ts).
  code: { regExp: ajvLinearRegExp },
};

/**
 * Compiles JSON Schemas with Ajv 8 once per distinct schema (keyed by its JSON text) and keeps
 * them in a bounded LRU. Formats (date-time, email, uri, ...) are checked when ajv-formats is
 * installed; without it, `format` is ignored.
 */
export class JsonSchemaCache {
  private readonly entries = new Map<string, ValidateFunction>();
  private readonly maxEntries: number;
  private readonly ajv: Partial<Record<Draft, Ajv>> = {};
  private readonly formatsPlugin: Plugin<unknown> | undefined;

  constructor(opts: JsonSchemaCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 200;
    this.formatsPlugin = loadFormatsPlugin();
  }

  /** Whether format keywords are enforced (ajv-formats found). */
  get checksFormats(): boolean {
    return this.formatsPlugin !== undefined;
  }

  /** The compiled validator; throws InvalidInputError naming the problem when the schema is invalid. */
  compile(schema: Record<string, unknown>, subject: 'json_schema grader' | 'response_schema' = 'json_schema grader'): ValidateFunction {
    const key = JSON.stringify(schema);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const { $schema, ...rest } = schema;
    const draft: Draft = typeof $schema === 'string' && /2019-09|2020-12/.test($schema) ? 'draft2020' : 'draft7';
    let validate: ValidateFunction;
    try {
      validate = this.instance(draft).compile(rest);
    } catch (err) {
      const detail = errorMessage(err).slice(0, 300);
      const what = subject === 'response_schema' ? 'response_schema' : 'json_schema grader: the schema';
      const problem =
        err instanceof LinearRegexSyntaxError
          ? `has a pattern the linear-time regex engine (RE2, so no pattern can freeze the server) cannot run: no lookaround or backreferences (${detail})`
          : `is not a valid JSON Schema (${detail})`;
      throw new InvalidInputError(
        subject === 'response_schema' ? `${what} ${problem}; nothing was sent or spent.` : `${what} ${problem}. Fix the schema or use json_valid.`,
      );
    }
    this.entries.set(key, validate);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return validate;
  }

  /** Validates a parsed value against a schema. */
  check(schema: Record<string, unknown>, value: unknown, maxErrors = 5): SchemaCheck {
    const validate = this.compile(schema);
    if (validate(value)) return { valid: true, errors: [], errorCount: 0 };
    const errs = validate.errors ?? [];
    return { valid: false, errors: errs.slice(0, maxErrors).map(describeError), errorCount: errs.length };
  }

  get size(): number {
    return this.entries.size;
  }

  private instance(draft: Draft): Ajv {
    let ajv = this.ajv[draft];
    if (!ajv) {
      ajv = draft === 'draft2020' ? new Ajv2020(AJV_OPTIONS) : new Ajv(AJV_OPTIONS);
      if (this.formatsPlugin) this.formatsPlugin(ajv, undefined);
      this.ajv[draft] = ajv;
    }
    return ajv;
  }
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  let text = `${where} ${e.message ?? 'is invalid'}`;
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') {
    text += ` ("${e.params.additionalProperty}")`;
  } else if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
    text += `: ${JSON.stringify(e.params.allowedValues)}`;
  }
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** ajv-formats is optional: it ships with the MCP SDK today, but nothing here requires it. */
function loadFormatsPlugin(): Plugin<unknown> | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('ajv-formats') as Plugin<unknown> | { default: Plugin<unknown> };
    return typeof mod === 'function' ? mod : mod.default;
  } catch {
    return undefined;
  }
}
