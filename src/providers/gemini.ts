import { ApiError, GoogleGenAI, type GenerateContentConfig, type GenerateContentResponse } from '@google/genai';
import { systemClock, type Clock } from '../clock.js';
import { NotConfiguredError, ProviderError, type QuotaInfo } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  abortKind,
  followSignal,
  networkCode,
  parseProtoDuration,
  parseRetryAfter,
  raceAbort,
  readTokenCounts,
  shortText,
} from './providerHttp.js';
import { NodeFetch, type FetchLike } from './nodeFetch.js';
import type { FinishReason, GenerateRequest, GenerateResult, Provider } from './types.js';

export interface GeminiProviderOptions {
  apiKey: string;
  /** Overrides https://generativelanguage.googleapis.com (GEMINI_BASE_URL; tests use the emulator). */
  baseUrl?: string | undefined;
  logger: Logger;
  /** Only used to turn an HTTP-date Retry-After into a delay. */
  clock?: Clock;
}

const PROVIDER_NAME = 'Gemini';

const SAFETY_REASONS = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

/** Gemini's finishReason → ours. CONTINUATION (more output available, not fetched) counts as length. */
export function mapGeminiFinishReason(reason: string | undefined): FinishReason {
  if (reason === 'STOP') return 'stop';
  if (reason === 'MAX_TOKENS' || reason === 'CONTINUATION') return 'length';
  if (reason !== undefined && SAFETY_REASONS.has(reason)) return 'safety';
  return 'other';
}

interface GoogleErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<Record<string, unknown>>;
  };
}

/** Facts from a Google error body: its message, status name, RetryInfo delay and QuotaFailure id. */
export function parseGoogleError(body: unknown): {
  message: string | undefined;
  status: string | undefined;
  retryAfterMs: number | undefined;
  quota: QuotaInfo | undefined;
} {
  const error = (body as GoogleErrorBody | undefined)?.error;
  let retryAfterMs: number | undefined;
  const quotaIds: string[] = [];
  for (const detail of Array.isArray(error?.details) ? error.details : []) {
    const type = typeof detail['@type'] === 'string' ? detail['@type'] : '';
    if (type.endsWith('google.rpc.RetryInfo')) {
      retryAfterMs = parseProtoDuration(detail.retryDelay) ?? retryAfterMs;
    } else if (type.endsWith('google.rpc.QuotaFailure') && Array.isArray(detail.violations)) {
      for (const violation of detail.violations as Array<Record<string, unknown>>) {
        if (typeof violation.quotaId === 'string' && violation.quotaId !== '') quotaIds.push(violation.quotaId);
      }
    }
  }
  // A daily cap is the fact that matters most (nothing helps until the day rolls over).
  const quotaId = quotaIds.find((id) => /PerDay/i.test(id)) ?? quotaIds[0];
  return {
    message: typeof error?.message === 'string' ? error.message : undefined,
    status: typeof error?.status === 'string' ? error.status : undefined,
    retryAfterMs,
    quota: quotaId === undefined ? undefined : { id: quotaId, perDay: /PerDay/i.test(quotaId) },
  };
}

/**
 * Google Gemini through @google/genai 2.x (Gemini Developer API, v1beta). One HTTP request per
 * call: the SDK's own retry is off unless `httpOptions.retryOptions` is set (we never set it) and
 * automatic continuation is turned off, so the resilience layer is the only place that retries.
 */
const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

export class GeminiProvider implements Provider {
  readonly id = 'google_gemini' as const;
  private readonly client: GoogleGenAI;
  private readonly apiKey: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  /** HTTP for the SDK; no timeouts of its own: calls are bounded by their AbortSignal. */
  private readonly http = new NodeFetch();

  constructor(opts: GeminiProviderOptions) {
    if (!opts.apiKey) throw new NotConfiguredError('Gemini needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY).');
    this.apiKey = opts.apiKey;
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.client = new GoogleGenAI({
      apiKey: opts.apiKey,
      // Explicit, so GOOGLE_GENAI_USE_VERTEXAI in the environment cannot switch backends.
      vertexai: false,
      apiVersion: 'v1beta',
      // Always explicit: left unset, the SDK would read GOOGLE_GEMINI_BASE_URL and send the key
      // to a host our configuration never showed.
      httpOptions: { baseUrl: opts.baseUrl ?? GEMINI_DEFAULT_BASE_URL },
    });
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const { model } = request;
    const call = followSignal(request.signal);
    const http = captureFetch(this.http.fetch);
    const started = this.clock.now();
    const config: GenerateContentConfig = {
      abortSignal: call.signal,
      automaticContinuation: false,
      httpOptions: { fetch: http.fetch },
    };
    if (request.system !== undefined && request.system !== '') config.systemInstruction = request.system;
    if (request.temperature !== undefined) config.temperature = request.temperature;
    if (request.maxOutputTokens !== undefined) config.maxOutputTokens = request.maxOutputTokens;
    if (request.responseSchema !== undefined) {
      config.responseMimeType = 'application/json';
      config.responseJsonSchema = request.responseSchema;
    }
    try {
      if (call.signal.aborted) throw call.signal.reason;
      const response = await raceAbort(
        this.client.models.generateContent({ model, contents: [{ role: 'user', parts: [{ text: request.prompt }] }], config }),
        call.signal,
      );
      const result = this.toResult(response, model);
      this.logger.debug('gemini call finished', {
        model,
        ms: this.clock.now() - started,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        finishReason: result.finishReason,
      });
      return result;
    } catch (err) {
      const error = this.toProviderError(err, model, call.signal, http.last());
      this.logger.debug('gemini call failed', { model, kind: error.kind, status: error.status, ms: this.clock.now() - started });
      throw error;
    } finally {
      call.dispose();
    }
  }

  async countTokens(request: Pick<GenerateRequest, 'model' | 'prompt' | 'system' | 'signal'>): Promise<number> {
    const { model } = request;
    const call = followSignal(request.signal);
    const http = captureFetch(this.http.fetch);
    // The Developer API's countTokens takes no systemInstruction: count it as a leading content.
    const contents = [
      ...(request.system ? [{ role: 'user', parts: [{ text: request.system }] }] : []),
      { role: 'user', parts: [{ text: request.prompt }] },
    ];
    try {
      if (call.signal.aborted) throw call.signal.reason;
      const response = await raceAbort(
        this.client.models.countTokens({ model, contents, config: { abortSignal: call.signal, httpOptions: { fetch: http.fetch } } }),
        call.signal,
      );
      if (typeof response.totalTokens !== 'number') {
        throw new ProviderError({
          provider: PROVIDER_NAME,
          model,
          kind: 'malformed',
          message: `${PROVIDER_NAME} ${model}: countTokens answered without totalTokens.`,
        });
      }
      return response.totalTokens;
    } catch (err) {
      throw this.toProviderError(err, model, call.signal, http.last());
    } finally {
      call.dispose();
    }
  }

  private toResult(response: GenerateContentResponse, model: string): GenerateResult {
    const candidate = response.candidates?.[0];
    const textParts = (candidate?.content?.parts ?? []).filter((p) => typeof p.text === 'string' && p.thought !== true);
    const text = textParts.map((p) => p.text).join('');
    const blockReason = response.promptFeedback?.blockReason;
    const finishReason: FinishReason = blockReason ? 'safety' : mapGeminiFinishReason(candidate?.finishReason);
    const usage = response.usageMetadata;
    // The SDK passes usageMetadata through as the server sent it, typed or not.
    const { counts, unreadable } = readTokenCounts({
      promptTokenCount: usage?.promptTokenCount,
      candidatesTokenCount: usage?.candidatesTokenCount,
      thoughtsTokenCount: usage?.thoughtsTokenCount,
    });
    if (unreadable.length > 0) {
      this.logger.warn('gemini reported token counts that are not counts; booked as 0', { model, fields: unreadable, usageMetadata: usage });
    }
    const modelVersion: unknown = response.modelVersion;
    const providerFinishReason = blockReason ?? candidate?.finishReason;
    const result: GenerateResult = {
      text,
      finishReason,
      ...(typeof providerFinishReason === 'string' && { providerFinishReason }),
      usage: {
        inputTokens: counts.promptTokenCount,
        // Thinking tokens are billed as output.
        outputTokens: counts.candidatesTokenCount + counts.thoughtsTokenCount,
      },
      model: typeof modelVersion === 'string' && modelVersion.trim() !== '' ? modelVersion : model,
    };
    // No text is a legitimate answer only when the model says why (blocked, cut off by the limit).
    if (textParts.length === 0 && (finishReason === 'stop' || finishReason === 'other')) {
      const why = candidate ? `finishReason ${candidate.finishReason ?? 'missing'} and no text` : 'no candidates';
      throw new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'malformed',
        message: `${PROVIDER_NAME} ${model}: the answer had ${why}.`,
        // Gemini 2.5 can spend thinking tokens and then answer nothing: that is billed.
        billedUsage: result.usage,
      });
    }
    return result;
  }

  private toProviderError(err: unknown, model: string, signal: AbortSignal, response: Response | undefined): ProviderError {
    if (err instanceof ProviderError) return err;
    const secrets = [this.apiKey];
    const prefix = `${PROVIDER_NAME} ${model}`;

    if (signal.aborted) {
      const kind = abortKind(signal);
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind,
        message: kind === 'timeout' ? `${prefix}: the call timed out before an answer arrived.` : `${prefix}: the call was cancelled.`,
        cause: err,
      });
    }

    const status = err instanceof ApiError ? err.status : response && !response.ok ? response.status : undefined;
    if (status !== undefined) {
      let body: unknown;
      if (err instanceof ApiError) {
        try {
          body = JSON.parse(err.message) as unknown;
        } catch {
          body = undefined;
        }
      }
      const google = parseGoogleError(body);
      const headerDelay = parseRetryAfter(response?.headers.get('retry-after'), this.clock.now());
      const retryAfterMs =
        google.retryAfterMs !== undefined && headerDelay !== undefined
          ? Math.max(google.retryAfterMs, headerDelay)
          : (google.retryAfterMs ?? headerDelay);
      const detail = google.message ?? (err instanceof ApiError ? undefined : 'unreadable error body');
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'http',
        status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...(google.quota ? { quota: google.quota } : {}),
        message: `${prefix}: HTTP ${status}${google.status ? ` ${google.status}` : ''}${detail ? `: ${shortText(detail, secrets)}` : ''}`,
        cause: err,
      });
    }

    if (err instanceof SyntaxError) {
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'malformed',
        status: response?.status,
        message: `${prefix}: the answer was not valid JSON (HTTP ${response?.status ?? '?'}).`,
        cause: err,
      });
    }

    if (err instanceof TypeError) {
      const code = networkCode(err);
      const text = err instanceof Error ? err.message : String(err);
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'network',
        message: `${prefix}: network failure${code ? ` (${code})` : ''}: ${shortText(text, secrets, 200)}`,
        cause: err,
      });
    }

    const text = err instanceof Error ? err.message : String(err);
    return new ProviderError({
      provider: PROVIDER_NAME,
      model,
      kind: 'malformed',
      status: response?.status,
      message: response
        ? `${prefix}: unusable answer: ${shortText(text, secrets, 200)}`
        : `${prefix}: the request could not be sent: ${shortText(text, secrets, 200)}`,
      cause: err,
    });
  }
}

/** A fetch for one call that remembers the response, so errors can read its status and headers. */
function captureFetch(fetch: FetchLike): { fetch: FetchLike; last: () => Response | undefined } {
  let last: Response | undefined;
  return {
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      last = response;
      return response;
    },
    last: () => last,
  };
}
