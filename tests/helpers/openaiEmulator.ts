import {
  startHttpEmulator,
  type ErrorBehaviour,
  type HttpEmulator,
  type HttpEmulatorOptions,
  type OkBehaviour,
  type RecordedRequest,
} from './httpEmulator.js';
import { estimateTokens, sampleForSchema } from './geminiEmulator.js';

export type { Behaviour, BehaviourFn, ErrorBehaviour, OkBehaviour, RecordedRequest } from './httpEmulator.js';

/**
 * An OpenAI-compatible server (the subset Ollama, vLLM, LM Studio and OpenRouter share):
 *   POST /v1/chat/completions
 * Pass `${emulator.url}/v1` as the provider's baseUrl.
 */
export type OpenAIEmulator = HttpEmulator;

const OPENAI_ERROR_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  503: 'server_error',
};

export function openaiErrorBody(status: number, message?: string): object {
  return {
    error: {
      message: message ?? (status === 429 ? 'Rate limit reached. Please try again later.' : `Upstream error (HTTP ${status}).`),
      type: OPENAI_ERROR_TYPE[status] ?? 'api_error',
      param: null,
      code: status === 429 ? 'rate_limit_exceeded' : null,
    },
  };
}

/** 429 with a Retry-After header (seconds, or an HTTP date string). */
export function openaiRateLimited(retryAfter: number | string = 1): ErrorBehaviour {
  return { kind: 'error', status: 429, body: openaiErrorBody(429), headers: { 'retry-after': String(retryAfter) } };
}

export function openaiServerError(status = 503, message?: string): ErrorBehaviour {
  return { kind: 'error', status, body: openaiErrorBody(status, message) };
}

interface ChatMessage {
  role?: string;
  content?: string | Array<{ type?: string; text?: string }>;
}

function contentText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((p) => p.text ?? '').join('');
}

export function messagesOf(req: RecordedRequest, role: 'system' | 'user'): string {
  const body = req.body as { messages?: ChatMessage[] } | undefined;
  return (body?.messages ?? [])
    .filter((m) => m.role === role)
    .map((m) => contentText(m.content))
    .join('\n');
}

export function defaultOpenAIAnswer(req: RecordedRequest): string {
  const format = (req.body as { response_format?: { type?: string; json_schema?: { schema?: unknown } } } | undefined)?.response_format;
  if (format?.type === 'json_schema' && format.json_schema?.schema !== undefined) {
    return JSON.stringify(sampleForSchema(format.json_schema.schema));
  }
  return `echo: ${messagesOf(req, 'user').slice(0, 200)}`;
}

export function startOpenAIEmulator(opts: HttpEmulatorOptions = {}): Promise<OpenAIEmulator> {
  return startHttpEmulator(
    {
      route(method, path, body) {
        if (method !== 'POST' || !/^(\/v1)?\/chat\/completions$/.test(path)) return undefined;
        const model = (body as { model?: unknown } | undefined)?.model;
        return { endpoint: 'chat.completions', model: typeof model === 'string' ? model : undefined };
      },
      ok(req: RecordedRequest, behaviour: OkBehaviour) {
        const text = behaviour.text ?? defaultOpenAIAnswer(req);
        const input = behaviour.usage?.input ?? estimateTokens(`${messagesOf(req, 'system')}${messagesOf(req, 'user')}`);
        const output = behaviour.usage?.output ?? estimateTokens(text);
        const body = {
          id: `chatcmpl-emu-${req.id}`,
          object: 'chat.completion',
          created: 1_760_000_000,
          model: behaviour.model ?? req.model ?? 'unknown',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: text },
              finish_reason: behaviour.finishReason ?? 'stop',
            },
          ],
          usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
        };
        return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
      },
      errorBody: (status, message) => openaiErrorBody(status, message),
    },
    opts,
  );
}
