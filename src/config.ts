import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { redactSecrets } from './errors.js';
import { LOG_LEVELS } from './logger.js';
import { alertRulesSchema, isWebhookSecret, type AlertingConfig } from './alerting/config.js';
import { immuneConfigFrom, immuneEnvShape, type ImmuneConfig } from './immune/config.js';

/**
 * All configuration, read once from the environment and validated with zod. Every number the
 * resilience, budget and agent layers use lives here, with its default, so the README can list
 * them in one table.
 */

export const DEFAULT_MODEL_TIERS = ['gemini-2.5-flash-lite', 'gemini-2.5-flash', 'gemini-2.5-pro'] as const;

/** Errors name what was expected and what was given: they reach the user as `VAR.model.field: …`. */
const priceNumber = (expected: string) => {
  const error = (iss: { input?: unknown }) => `expected ${expected}, got ${iss.input === undefined ? 'nothing' : JSON.stringify(iss.input)}`;
  return z.number({ error }).nonnegative({ error });
};

export const modelPriceSchema = z.object(
  {
    /** USD per million input tokens. */
    input: priceNumber('a number ≥ 0 (USD per 1M input tokens)'),
    /** USD per million output tokens. */
    output: priceNumber('a number ≥ 0 (USD per 1M output tokens)'),
    /** Prompts above this many tokens are billed at the long-context rates below. */
    longContextThreshold: priceNumber('a whole number of prompt tokens > 0').int().positive().optional(),
    inputLong: priceNumber('a number ≥ 0 (USD per 1M input tokens above longContextThreshold)').optional(),
    outputLong: priceNumber('a number ≥ 0 (USD per 1M output tokens above longContextThreshold)').optional(),
  },
  { error: (iss) => `expected an object {"input": USD, "output": USD} (per 1M tokens), got ${JSON.stringify(iss.input)}` },
);
export type ModelPrice = z.infer<typeof modelPriceSchema>;

export interface Config {
  dataDir: string;
  dbPath: string;
  logLevel: (typeof LOG_LEVELS)[number];
  tools: { selection: 'all' | 'core' | string[]; disabled: string[] };
  gemini: { apiKey: string | undefined; baseUrl: string | undefined };
  openai: { apiKey: string | undefined; baseUrl: string | undefined; defaultModel: string | undefined };
  models: { tiers: string[]; judge: string };
  /** Price overrides by model name, merged over the built-in table. */
  prices: Record<string, ModelPrice>;
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  breaker: { failureThreshold: number; resetTimeoutMs: number; minFailureRate: number };
  agents: {
    callTimeoutMs: number;
    progressIntervalMs: number;
    defaultMaxConcurrency: number;
    defaultMaxOutputTokens: number;
    /** A foreground spawn still running after this long answers with a run id and goes on in the background; 0 = never. */
    detachAfterMs: number;
  };
  budget: { timeZone: string; reservationTtlMs: number };
  /** How often a server frees what killed servers on the same file left running or held. */
  sweep: { intervalMs: number };
  langfuse: { publicKey: string; secretKey: string; baseUrl: string } | undefined;
  alerting: AlertingConfig;
  immune: ImmuneConfig;
  /** Literal secret values, scrubbed from every log line, trace and error text. */
  secrets: string[];
  /** Where the failure predictor's model lives (task-orchestrator train writes it there). */
  prediction: { modelDir: string };
}

export class ConfigError extends Error {
  /** `field`: the path inside a structured variable (TASK_ORCHESTRATOR_PRICES.my-model.input). */
  constructor(readonly variable: string, problem: string, field?: string) {
    super(field ? `Invalid configuration: ${field}: ${problem}` : `Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://host:port/path' });
const optionalUrl = z.preprocess(emptyToUndefined, httpUrl.optional());
// The Gemini client appends its own paths (/v1beta/models/…) to the base: a query or fragment
// would end up in the middle of the URL, so it is refused rather than silently mangled.
const optionalBaseUrl = z.preprocess(
  emptyToUndefined,
  httpUrl
    .refine((u) => !/[?#]/.test(u), 'must not carry a query string or fragment (the client appends its paths to it; the key goes in GEMINI_API_KEY)')
    .optional(),
);
const intWithDefault = (def: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));
const nameList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : []),
  z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower-case tool names separated by commas')),
);

/** Each variable with its schema; the key is the variable name, so errors can name it. */
const envSchema = z.object({
  TASK_ORCHESTRATOR_HOME: optionalString,
  XDG_DATA_HOME: optionalString,
  LOG_LEVEL: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : undefined),
    z.enum(LOG_LEVELS).default('info'),
  ),
  TASK_ORCHESTRATOR_TOOLS: z.preprocess(emptyToUndefined, z.string().default('all')),
  TASK_ORCHESTRATOR_DISABLED_TOOLS: nameList,
  GEMINI_API_KEY: optionalString,
  GOOGLE_API_KEY: optionalString,
  GEMINI_BASE_URL: optionalBaseUrl,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_MODEL: optionalString,
  TASK_ORCHESTRATOR_MODEL_TIERS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [...DEFAULT_MODEL_TIERS]),
    z.array(z.string().min(1)).min(1, 'must name at least one model'),
  ),
  TASK_ORCHESTRATOR_JUDGE_MODEL: z.preprocess(emptyToUndefined, z.string().default('gemini-2.5-flash-lite')),
  TASK_ORCHESTRATOR_PRICES: z.preprocess((v) => {
    if (typeof v !== 'string' || v.trim() === '') return {};
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return 'not JSON';
    }
  }, z.record(z.string(), modelPriceSchema, 'must be a JSON object of {model: {input, output}} in USD per million tokens')),
  TASK_ORCHESTRATOR_RETRY_MAX: intWithDefault(5, 0, 20),
  TASK_ORCHESTRATOR_RETRY_BASE_MS: intWithDefault(2_000, 0, 600_000),
  TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: intWithDefault(60_000, 0, 3_600_000),
  TASK_ORCHESTRATOR_BREAKER_THRESHOLD: intWithDefault(3, 1, 1_000),
  TASK_ORCHESTRATOR_BREAKER_RESET_MS: intWithDefault(30_000, 1, 86_400_000),
  TASK_ORCHESTRATOR_BREAKER_FAILURE_RATE: z.preprocess(emptyToUndefined, z.coerce.number().min(0).max(1).default(0.8)),
  TASK_ORCHESTRATOR_CALL_TIMEOUT_MS: intWithDefault(120_000, 100, 3_600_000),
  TASK_ORCHESTRATOR_PROGRESS_INTERVAL_MS: intWithDefault(10_000, 10, 60_000),
  TASK_ORCHESTRATOR_DETACH_AFTER_MS: intWithDefault(45_000, 0, 3_600_000),
  TASK_ORCHESTRATOR_MAX_CONCURRENCY: intWithDefault(5, 1, 100),
  TASK_ORCHESTRATOR_MAX_OUTPUT_TOKENS: intWithDefault(8_192, 1, 65_536),
  TASK_ORCHESTRATOR_TIMEZONE: z.preprocess(
    emptyToUndefined,
    z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
  ),
  TASK_ORCHESTRATOR_RESERVATION_TTL_MS: intWithDefault(30 * 60_000, 1_000, 86_400_000),
  TASK_ORCHESTRATOR_SWEEP_INTERVAL_MS: intWithDefault(60_000, 10, 86_400_000),
  LANGFUSE_PUBLIC_KEY: optionalString,
  LANGFUSE_SECRET_KEY: optionalString,
  LANGFUSE_BASE_URL: z.preprocess(emptyToUndefined, httpUrl.default('https://cloud.langfuse.com')),
  // Alerting (src/alerting).
  TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL: z.preprocess(emptyToUndefined, z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).optional()),
  TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET: z.preprocess(
    emptyToUndefined,
    z.string().refine(isWebhookSecret, 'must be "whsec_" followed by base64 of 16 to 64 bytes (a Standard Webhooks secret)').optional(),
  ),
  TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL: z.preprocess(emptyToUndefined, z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).optional()),
  TASK_ORCHESTRATOR_ALERT_RULES: z.preprocess((v) => {
    if (typeof v !== 'string' || v.trim() === '') return {};
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return 'not JSON';
    }
  }, alertRulesSchema),
  TASK_ORCHESTRATOR_ALERT_TIMEOUT_MS: intWithDefault(5_000, 100, 120_000),
  TASK_ORCHESTRATOR_ALERT_RETRY_BASE_MS: intWithDefault(1_000, 10, 3_600_000),
  TASK_ORCHESTRATOR_ALERT_MAX_ATTEMPTS: intWithDefault(10, 1, 100),
  // Above the longest cool-down (7 days), so pruning never lets a cooled-down alert fire again.
  TASK_ORCHESTRATOR_ALERT_RETENTION_DAYS: intWithDefault(90, 8, 36_500),
  TASK_ORCHESTRATOR_MODEL_DIR: optionalString,
  ...immuneEnvShape,
});

/** Every variable the configuration reads (also the keys config.json may hold). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function resolveDataDir(env: Env): string {
  const home = env.TASK_ORCHESTRATOR_HOME?.trim();
  if (home) return path.resolve(home);
  const xdg = env.XDG_DATA_HOME?.trim();
  if (xdg) return path.join(path.resolve(xdg), 'task-orchestrator');
  return path.join(env.HOME?.trim() || os.homedir(), '.task-orchestrator');
}

/** Reads and validates configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    if (issue.path.length > 1) throw new ConfigError(variable, issue.message, issue.path.map(String).join('.'));
    const shown = env[variable];
    const value = shown === undefined || /KEY|SECRET|WEBHOOK_URL/.test(variable) ? '' : ` (got "${redactSecrets(shown.slice(0, 80))}")`;
    throw new ConfigError(variable, `${issue.message}${value}`);
  }
  const e = parsed.data;

  if (Boolean(e.LANGFUSE_PUBLIC_KEY) !== Boolean(e.LANGFUSE_SECRET_KEY)) {
    throw new ConfigError(
      e.LANGFUSE_PUBLIC_KEY ? 'LANGFUSE_SECRET_KEY' : 'LANGFUSE_PUBLIC_KEY',
      'must be set together with its pair to enable Langfuse tracing',
    );
  }
  if (Boolean(e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL) !== Boolean(e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET)) {
    throw new ConfigError(
      e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL ? 'TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET' : 'TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL',
      'must be set together with its pair: webhook alerts are signed (Standard Webhooks)',
    );
  }
  if (e.TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS < e.TASK_ORCHESTRATOR_RETRY_BASE_MS) {
    throw new ConfigError('TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS', 'must not be below TASK_ORCHESTRATOR_RETRY_BASE_MS');
  }

  const toolsRaw = e.TASK_ORCHESTRATOR_TOOLS.trim();
  let selection: Config['tools']['selection'];
  if (toolsRaw === 'all' || toolsRaw === 'core') selection = toolsRaw;
  else {
    const names = toolsRaw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = names.find((n) => !/^[a-z][a-z0-9_]*$/.test(n));
    if (names.length === 0 || bad !== undefined) {
      throw new ConfigError('TASK_ORCHESTRATOR_TOOLS', `must be "core", "all" or a comma list of tool names (got "${toolsRaw.slice(0, 80)}")`);
    }
    selection = names;
  }

  const dataDir = resolveDataDir(env);
  let machineTimeZone: string | undefined;
  const geminiKey = e.GEMINI_API_KEY ?? e.GOOGLE_API_KEY;
  const slackUrl = e.TASK_ORCHESTRATOR_ALERT_SLACK_WEBHOOK_URL;
  const secrets = [
    geminiKey,
    e.OPENAI_API_KEY,
    e.LANGFUSE_SECRET_KEY,
    e.LANGFUSE_PUBLIC_KEY,
    env.JWT_SECRET_KEY,
    e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET,
    // A Slack webhook URL is a credential: its path is the token.
    slackUrl,
    slackUrl && new URL(slackUrl).pathname.length > 8 ? new URL(slackUrl).pathname : undefined,
  ].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );

  return {
    dataDir,
    dbPath: path.join(dataDir, 'orchestrator.db'),
    logLevel: e.LOG_LEVEL,
    tools: { selection, disabled: e.TASK_ORCHESTRATOR_DISABLED_TOOLS },
    gemini: { apiKey: geminiKey, baseUrl: e.GEMINI_BASE_URL },
    openai: { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, defaultModel: e.OPENAI_MODEL },
    models: { tiers: e.TASK_ORCHESTRATOR_MODEL_TIERS, judge: e.TASK_ORCHESTRATOR_JUDGE_MODEL },
    prices: e.TASK_ORCHESTRATOR_PRICES,
    retry: {
      maxRetries: e.TASK_ORCHESTRATOR_RETRY_MAX,
      baseDelayMs: e.TASK_ORCHESTRATOR_RETRY_BASE_MS,
      maxDelayMs: e.TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS,
    },
    breaker: {
      failureThreshold: e.TASK_ORCHESTRATOR_BREAKER_THRESHOLD,
      resetTimeoutMs: e.TASK_ORCHESTRATOR_BREAKER_RESET_MS,
      minFailureRate: e.TASK_ORCHESTRATOR_BREAKER_FAILURE_RATE,
    },
    agents: {
      callTimeoutMs: e.TASK_ORCHESTRATOR_CALL_TIMEOUT_MS,
      progressIntervalMs: e.TASK_ORCHESTRATOR_PROGRESS_INTERVAL_MS,
      defaultMaxConcurrency: e.TASK_ORCHESTRATOR_MAX_CONCURRENCY,
      defaultMaxOutputTokens: e.TASK_ORCHESTRATOR_MAX_OUTPUT_TOKENS,
      detachAfterMs: e.TASK_ORCHESTRATOR_DETACH_AFTER_MS,
    },
    budget: {
      // The machine's zone is looked up on first use: loading ICU costs ~20 ms of start-up.
      get timeZone() {
        return e.TASK_ORCHESTRATOR_TIMEZONE ?? (machineTimeZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone);
      },
      reservationTtlMs: e.TASK_ORCHESTRATOR_RESERVATION_TTL_MS,
    },
    sweep: { intervalMs: e.TASK_ORCHESTRATOR_SWEEP_INTERVAL_MS },
    langfuse:
      e.LANGFUSE_PUBLIC_KEY && e.LANGFUSE_SECRET_KEY
        ? { publicKey: e.LANGFUSE_PUBLIC_KEY, secretKey: e.LANGFUSE_SECRET_KEY, baseUrl: e.LANGFUSE_BASE_URL }
        : undefined,
    alerting: {
      webhook:
        e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL && e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET
          ? { url: e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_URL, secret: e.TASK_ORCHESTRATOR_ALERT_WEBHOOK_SECRET }
          : undefined,
      slack: slackUrl ? { url: slackUrl } : undefined,
      rules: e.TASK_ORCHESTRATOR_ALERT_RULES,
      delivery: {
        timeoutMs: e.TASK_ORCHESTRATOR_ALERT_TIMEOUT_MS,
        retryBaseMs: e.TASK_ORCHESTRATOR_ALERT_RETRY_BASE_MS,
        maxAttempts: e.TASK_ORCHESTRATOR_ALERT_MAX_ATTEMPTS,
      },
      retentionDays: e.TASK_ORCHESTRATOR_ALERT_RETENTION_DAYS,
    },
    immune: immuneConfigFrom(e),
    secrets,
    prediction: { modelDir: e.TASK_ORCHESTRATOR_MODEL_DIR ? path.resolve(e.TASK_ORCHESTRATOR_MODEL_DIR) : path.join(dataDir, 'models', 'failure-predictor') },
  };
}
