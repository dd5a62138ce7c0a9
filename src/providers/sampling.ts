import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { ToolContext } from '../tools/types.js';
import type { GenerateRequest, GenerateResult, Provider } from './types.js';

/** MCP sampling reports no token counts; this is the estimate we book (the host pays, at $0). */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 3);
}

/**
 * Asks the host's own model through `sampling/createMessage`. Only exists for a request whose
 * client declared the sampling capability. `model` is passed as a preference hint; the host
 * chooses.
 */
export class SamplingProvider implements Provider {
  readonly id = 'mcp_sampling' as const;

  constructor(
    private readonly createMessage: NonNullable<ToolContext['createMessage']>,
    private readonly defaultMaxTokens: number,
  ) {}

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const signal = req.signal ?? new AbortController().signal;
    const system = req.responseSchema
      ? `${req.system ?? ''}\nAnswer with JSON only, matching this JSON Schema: ${JSON.stringify(req.responseSchema)}`.trim()
      : req.system;
    try {
      const result = await this.createMessage(
        {
          messages: [{ role: 'user', content: { type: 'text', text: req.prompt } }],
          maxTokens: req.maxOutputTokens ?? this.defaultMaxTokens,
          ...(system !== undefined && { systemPrompt: system }),
          ...(req.temperature !== undefined && { temperature: req.temperature }),
          ...(req.model !== 'auto' && { modelPreferences: { hints: [{ name: req.model }] } }),
        },
        signal,
      );
      const text = result.content.type === 'text' ? result.content.text : '';
      return {
        text,
        usage: { inputTokens: estimateTokens(`${system ?? ''}${req.prompt}`), outputTokens: estimateTokens(text) },
        finishReason: result.stopReason === 'maxTokens' ? 'length' : 'stop',
        model: result.model,
      };
    } catch (err) {
      if (signal.aborted) throw new CancelledError();
      // A JSON-RPC error from the host is its (or its user's) decision: asking again would re-prompt
      // a person who said no, so it is a non-retryable 403 the breaker ignores. A timeout or a
      // dropped connection is transient and retried.
      const code = err instanceof McpError ? err.code : undefined;
      const transient = code === undefined || code === ErrorCode.RequestTimeout || code === ErrorCode.ConnectionClosed;
      throw new ProviderError({
        provider: this.id,
        model: req.model,
        kind: code === ErrorCode.RequestTimeout ? 'timeout' : 'http',
        status: transient ? 502 : 403,
        message: `${transient ? 'The MCP host could not sample a message' : 'The MCP host declined to sample a message'}: ${err instanceof Error ? err.message : String(err)}`,
        cause: err,
      });
    }
  }
}
