import OpenAI, { type ClientOptions, APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { systemClock, type Clock } from '../clock.js';
import { ProviderError } from '../errors.js';
import type { Logger } from '../logger.js';
import { abortKind, followSignal, networkCode, noTimeoutDispatcher, parseRetryAfter, raceAbort, readTokenCounts, shortText } from './providerHttp.js';
import type { FinishReason, GenerateRequest, GenerateResult, Provider } from './types.js';

export interface OpenAICompatibleProviderOptions {
  /** Absent for local servers (Ollama, LM Studio, vLLM without auth). */
  apiKey?: string | undefined;
  /** The server's OpenAI-style base URL, including /v1 (e.g. http://localhost:11434/v1). */
  baseUrl: string;
  logger: Logger;
  /** Only used to turn an HTTP-date Retry-After into a delay. */
  clock?: Clock;
}

const PROVIDER_NAME = 'OpenAI-compatible';
/** The openai client refuses to start without a key; local servers ignore whatever is sent. */
const PLACEHOLDER_KEY = 'not-needed';
/** The caller's AbortSignal is the deadline; the library's own timeout only has to be longer. */
const LIBRARY_TIMEOUT_MS = 3_600_000;

export function mapOpenAIFinishReason(reason: string | null | undefined): FinishReason {
  if (reason === 'stop') return 'stop';
  if (reason === 'length') return 'length';
  if (reason === 'content_filter') return 'safety';
  return 'other';
}

/**
 * Any server speaking OpenAI's chat completions (Ollama, vLLM, LM Studio, OpenRouter, OpenAI).
 * `maxRetries: 0`: one HTTP request per call, the resilience layer is the only retry layer.
 */
export class OpenAICompatibleProvider implements Provider {
  readonly id = 'openai_compatible' as const;
  private readonly client: OpenAI;
  private readonly secrets: string[];
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(opts: OpenAICompatibleProviderOptions) {
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.secrets = opts.apiKey ? [opts.apiKey] : [];
    const log = opts.logger.child('sdk');
    this.client = new OpenAI({
      apiKey: opts.apiKey || PLACEHOLDER_KEY,
      baseURL: opts.baseUrl,
      maxRetries: 0,
      timeout: LIBRARY_TIMEOUT_MS,
      fetchOptions: { dispatcher: noTimeoutDispatcher() } as unknown as NonNullable<ClientOptions['fetchOptions']>,
      logLevel: 'warn',
      logger: {
        error: (message: string) => log.error(message),
        warn: (message: string) => log.warn(message),
        info: (message: string) => log.info(message),
        debug: (message: string) => log.debug(message),
      },
    });
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const { model } = request;
    const call = followSignal(request.signal);
    const started = this.clock.now();
    const messages: ChatCompletionMessageParam[] = [];
    if (request.system) messages.push({ role: 'system', content: request.system });
    messages.push({ role: 'user', content: request.prompt });
    const body: ChatCompletionCreateParamsNonStreaming = { model, messages };
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.maxOutputTokens !== undefined) body.max_tokens = request.maxOutputTokens;
    if (request.responseSchema !== undefined) {
      body.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: request.responseSchema } };
    }
    try {
      if (call.signal.aborted) throw call.signal.reason;
      const completion = await raceAbort(this.client.chat.completions.create(body, { signal: call.signal }), call.signal);
      const result = this.toResult(completion, model);
      this.logger.debug('openai-compatible call finished', {
        model,
        ms: this.clock.now() - started,
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        finishReason: result.finishReason,
      });
      return result;
    } catch (err) {
      const error = this.toProviderError(err, model, call.signal);
      this.logger.debug('openai-compatible call failed', { model, kind: error.kind, status: error.status, ms: this.clock.now() - started });
      throw error;
    } finally {
      call.dispose();
    }
  }

  private toResult(completion: ChatCompletion, model: string): GenerateResult {
    const malformed = (why: string) =>
      new ProviderError({ provider: PROVIDER_NAME, model, kind: 'malformed', message: `${PROVIDER_NAME} ${model}: ${why}.` });
    // A server that answers 200 with a non-JSON content type gets its body back as a string.
    if (typeof completion !== 'object' || completion === null) throw malformed('the answer was not a JSON object');
    const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
    if (!choice) throw malformed('the answer had no choices');
    const message = choice.message as (typeof choice.message & { refusal?: string | null }) | undefined;
    const refused = typeof message?.refusal === 'string' && message.refusal !== '';
    const finishReason = refused ? 'safety' : mapOpenAIFinishReason(choice.finish_reason);
    const text = typeof message?.content === 'string' ? message.content : undefined;
    // Local servers spell usage in many ways (strings, fractions); it is read, never trusted.
    const { counts, unreadable } = readTokenCounts({
      prompt_tokens: completion.usage?.prompt_tokens,
      completion_tokens: completion.usage?.completion_tokens,
    });
    if (unreadable.length > 0) {
      this.logger.warn('openai-compatible server reported token counts that are not counts; booked as 0', { model, fields: unreadable, usage: completion.usage });
    }
    const usage = {
      inputTokens: counts.prompt_tokens,
      // completion_tokens already includes reasoning tokens on servers that report them.
      outputTokens: counts.completion_tokens,
    };
    if (text === undefined && (finishReason === 'stop' || finishReason === 'other')) {
      throw new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'malformed',
        message: `${PROVIDER_NAME} ${model}: the answer had finish_reason ${choice.finish_reason ?? 'missing'} and no text.`,
        billedUsage: usage, // reasoning models can spend tokens and answer nothing: that is billed
      });
    }
    const providerFinishReason = refused ? 'refusal' : choice.finish_reason;
    return {
      text: text ?? '',
      finishReason,
      ...(typeof providerFinishReason === 'string' && { providerFinishReason }),
      usage,
      model: typeof completion.model === 'string' && completion.model !== '' ? completion.model : model,
    };
  }

  private toProviderError(err: unknown, model: string, signal: AbortSignal): ProviderError {
    if (err instanceof ProviderError) return err;
    const prefix = `${PROVIDER_NAME} ${model}`;

    if (signal.aborted || err instanceof APIUserAbortError) {
      const kind = signal.aborted ? abortKind(signal) : 'aborted';
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind,
        message: kind === 'timeout' ? `${prefix}: the call timed out before an answer arrived.` : `${prefix}: the call was cancelled.`,
        cause: err,
      });
    }
    if (err instanceof APIConnectionTimeoutError) {
      return new ProviderError({ provider: PROVIDER_NAME, model, kind: 'timeout', message: `${prefix}: the request timed out.`, cause: err });
    }
    if (err instanceof APIConnectionError) {
      const code = networkCode(err.cause);
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'network',
        message: `${prefix}: network failure${code ? ` (${code})` : ''}: ${shortText(err.message, this.secrets, 200)}`,
        cause: err,
      });
    }
    if (err instanceof APIError && typeof err.status === 'number') {
      const headers = err.headers;
      const retryAfterMsHeader = Number(headers?.get('retry-after-ms') ?? NaN);
      const retryAfterMs = Number.isFinite(retryAfterMsHeader) && retryAfterMsHeader >= 0
        ? retryAfterMsHeader
        : parseRetryAfter(headers?.get('retry-after'), this.clock.now());
      const providerMessage = errorText(err);
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'http',
        status: err.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        message: `${prefix}: HTTP ${err.status}${providerMessage ? `: ${shortText(providerMessage, this.secrets)}` : ''}`,
        cause: err,
      });
    }
    const text = err instanceof Error ? err.message : String(err);
    if (err instanceof SyntaxError) {
      return new ProviderError({
        provider: PROVIDER_NAME,
        model,
        kind: 'malformed',
        message: `${prefix}: the answer was not valid JSON.`,
        cause: err,
      });
    }
    return new ProviderError({
      provider: PROVIDER_NAME,
      model,
      kind: err instanceof TypeError ? 'network' : 'malformed',
      message: `${prefix}: ${shortText(text, this.secrets, 200)}`,
      cause: err,
    });
  }
}

/** The server's own words: error.message from the JSON body, else the library's message. */
function errorText(err: APIError): string | undefined {
  const body = err.error as { message?: unknown } | string | undefined;
  if (typeof body === 'string') return body;
  if (body && typeof body.message === 'string') return body.message;
  // The library's message starts with the status; drop it, we print ours.
  const text = err.message.replace(/^\d{3}\s*/, '');
  return text === '' || /status code \(no body\)/.test(text) ? undefined : text;
}
