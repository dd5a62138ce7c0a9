import {
  startHttpEmulator,
  type Behaviour,
  type ErrorBehaviour,
  type HttpEmulator,
  type HttpEmulatorOptions,
  type OkBehaviour,
  type RecordedRequest,
} from './httpEmulator.js';
import type { Env } from '../../src/config.js';
import { TEST_API_KEY } from './keys.js';
import { makeTempDir } from './paths.js';

export type {
  Behaviour,
  BehaviourFn,
  ErrorBehaviour,
  FailureRate,
  HangBehaviour,
  MalformedBehaviour,
  OkBehaviour,
  RawBehaviour,
  RecordedRequest,
} from './httpEmulator.js';

/**
 * A Gemini-compatible HTTP server for tests and benchmarks. It answers what @google/genai 2.x
 * sends with apiVersion 'v1beta':
 *   POST /v1beta/models/{model}:generateContent
 *   POST /v1beta/models/{model}:countTokens
 * Pass `emulator.url` as GEMINI_BASE_URL (or the provider's baseUrl).
 */
export type GeminiEmulator = HttpEmulator;
export type GeminiEmulatorOptions = HttpEmulatorOptions;

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const GOOGLE_MESSAGE: Record<number, string> = {
  400: 'Request contains an invalid argument.',
  401: 'Request had invalid authentication credentials.',
  403: 'The caller does not have permission',
  404: 'Requested entity was not found.',
  429: 'Resource has been exhausted (e.g. check quota).',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
  504: 'The request timed out. Please try again.',
};

/** The body Google sends for an error: {error: {code, message, status, details?}}. */
export function googleErrorBody(status: number, message?: string, details?: object[]): object {
  return {
    error: {
      code: status,
      message: message ?? GOOGLE_MESSAGE[status] ?? `HTTP ${status}`,
      status: GOOGLE_STATUS[status] ?? 'UNKNOWN',
      ...(details ? { details } : {}),
    },
  };
}

function retryInfo(seconds: number): object {
  return { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` };
}

/** 429 RESOURCE_EXHAUSTED with google.rpc.RetryInfo (what per-minute rate limits look like). */
export function rateLimited(retryDelaySeconds = 1, opts: { delayMs?: number } = {}): ErrorBehaviour {
  return {
    kind: 'error',
    status: 429,
    body: googleErrorBody(429, `Resource has been exhausted (e.g. check quota). Please retry in ${retryDelaySeconds}s.`, [
      retryInfo(retryDelaySeconds),
    ]),
    ...(opts.delayMs !== undefined ? { delayMs: opts.delayMs } : {}),
  };
}

/** 429 with a google.rpc.QuotaFailure naming a per-day quota, plus RetryInfo (free-tier daily cap). */
export function quotaExhaustedPerDay(
  opts: { quotaId?: string; model?: string; limit?: number; retryDelaySeconds?: number } = {},
): ErrorBehaviour {
  const quotaId = opts.quotaId ?? 'GenerateRequestsPerDayPerProjectPerModel-FreeTier';
  const model = opts.model ?? 'gemini-2.5-flash';
  const limit = opts.limit ?? 250;
  const retry = opts.retryDelaySeconds ?? 15.5;
  const metric = 'generativelanguage.googleapis.com/generate_content_free_tier_requests';
  return {
    kind: 'error',
    status: 429,
    body: googleErrorBody(
      429,
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, ' +
        `head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: ${metric}, limit: ${limit}, ` +
        `model: ${model}\nPlease retry in ${retry}s.`,
      [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            { quotaMetric: metric, quotaId, quotaDimensions: { location: 'global', model }, quotaValue: String(limit) },
          ],
        },
        {
          '@type': 'type.googleapis.com/google.rpc.Help',
          links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }],
        },
        retryInfo(retry),
      ],
    ),
  };
}

/** A Google-shaped 5xx (503 UNAVAILABLE "model is overloaded" by default). */
export function serverError(status = 503, message?: string): ErrorBehaviour {
  return { kind: 'error', status, body: googleErrorBody(status, message) };
}

/** A Google-shaped 400 INVALID_ARGUMENT. */
export function badRequest(message = 'Request contains an invalid argument.'): ErrorBehaviour {
  return { kind: 'error', status: 400, body: googleErrorBody(400, message) };
}

export const hang = (): Behaviour => ({ kind: 'hang' });
export const malformed = (body?: string): Behaviour => (body === undefined ? { kind: 'malformed' } : { kind: 'malformed', body });

interface GeminiContent {
  role?: string;
  parts?: Array<{ text?: string }>;
}

function textOf(content: GeminiContent | undefined): string {
  return (content?.parts ?? []).map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
}

/** The user prompt of a recorded Gemini request (all text parts of all contents). */
export function promptOf(req: RecordedRequest): string {
  const body = req.body as { contents?: GeminiContent[] } | undefined;
  return (body?.contents ?? []).map(textOf).join('\n');
}

/** The system instruction of a recorded Gemini request, if any. */
export function systemOf(req: RecordedRequest): string | undefined {
  const body = req.body as { systemInstruction?: GeminiContent } | undefined;
  return body?.systemInstruction ? textOf(body.systemInstruction) : undefined;
}

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/** A JSON value that satisfies simple schemas: objects, required props, strings, numbers, booleans, enums, arrays. */
export function sampleForSchema(schema: unknown, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 8) return null;
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if ('const' in s) return s.const;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options) && options.length > 0) return sampleForSchema(options[0], depth + 1);
  }
  const rawType = s.type;
  const type = (Array.isArray(rawType) ? rawType.find((t) => t !== 'null') : rawType) as string | undefined;
  switch (typeof type === 'string' ? type.toLowerCase() : s.properties ? 'object' : undefined) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(props)) out[name] = sampleForSchema(sub, depth + 1);
      return out;
    }
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 1;
      return Array.from({ length: Math.max(1, min) }, () => sampleForSchema(s.items, depth + 1));
    }
    case 'string':
      return typeof s.minLength === 'number' && s.minLength > 7 ? 'x'.repeat(s.minLength) : 'emulated';
    case 'integer':
      return typeof s.minimum === 'number' ? Math.ceil(s.minimum) : 1;
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return null;
  }
}

/** The emulator's deterministic default answer for a request. */
export function defaultGeminiAnswer(req: RecordedRequest): string {
  const config = (req.body as { generationConfig?: Record<string, unknown> } | undefined)?.generationConfig;
  const schema = config?.responseJsonSchema ?? config?.responseSchema;
  if (config?.responseMimeType === 'application/json' && schema !== undefined) {
    return JSON.stringify(sampleForSchema(schema));
  }
  return `echo: ${promptOf(req).slice(0, 200)}`;
}

const MODEL_PATH = /^\/(v1beta|v1|v1alpha)\/models\/([^/:]+):(generateContent|countTokens)$/;

export function startGeminiEmulator(opts: GeminiEmulatorOptions = {}): Promise<GeminiEmulator> {
  return startHttpEmulator(
    {
      route(method, path) {
        const match = method === 'POST' ? MODEL_PATH.exec(path) : null;
        if (!match) return undefined;
        return { endpoint: match[3]!, model: decodeURIComponent(match[2]!) };
      },
      ok(req: RecordedRequest, behaviour: OkBehaviour) {
        const json = { 'content-type': 'application/json; charset=utf-8' };
        const inputText = `${systemOf(req) ?? ''}${promptOf(req)}`;
        if (req.endpoint === 'countTokens') {
          const totalTokens = behaviour.usage?.input ?? estimateTokens(inputText);
          return { status: 200, headers: json, body: JSON.stringify({ totalTokens }) };
        }
        const text = behaviour.text ?? defaultGeminiAnswer(req);
        const input = behaviour.usage?.input ?? estimateTokens(inputText);
        const output = behaviour.usage?.output ?? estimateTokens(text);
        const thoughts = behaviour.usage?.thoughts;
        const body = {
          candidates: [
            {
              content: { parts: [{ text }], role: 'model' },
              finishReason: behaviour.finishReason ?? 'STOP',
              index: 0,
            },
          ],
          usageMetadata: {
            promptTokenCount: input,
            candidatesTokenCount: output,
            totalTokenCount: input + output + (thoughts ?? 0),
            ...(thoughts !== undefined ? { thoughtsTokenCount: thoughts } : {}),
          },
          modelVersion: behaviour.model ?? req.model ?? 'unknown',
          responseId: `emu-${req.id}`,
        };
        return { status: 200, headers: json, body: JSON.stringify(body) };
      },
      errorBody: (status, message) => googleErrorBody(status, message),
    },
    opts,
  );
}

/** The environment of an in-process app on this emulator: a data directory of its own, fast retries. */
export function emulatedAppEnv(emulator: { url: string }, extra: Env = {}): Env {
  return {
    TASK_ORCHESTRATOR_HOME: makeTempDir(),
    GEMINI_API_KEY: TEST_API_KEY,
    GEMINI_BASE_URL: emulator.url,
    TASK_ORCHESTRATOR_RETRY_BASE_MS: '10',
    TASK_ORCHESTRATOR_RETRY_MAX_DELAY_MS: '20',
    ...extra,
  };
}
