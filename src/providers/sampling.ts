import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { CancelledError, ProviderError } from '../errors.js';
import type { CreateMessage } from '../host.js';
import { estimateTokens } from '../tokenEstimate.js';
import type { GenerateRequest, GenerateResult, Provider } from './types.js';


/**
 * The code clients answer when their user declines a sampling request: the MCP spec's example
 * error is -1 "User rejected sampling request" (outside the JSON-RPC reserved range on purpose).
 */
export const USER_REJECTED_CODE = -1;

/**
 * Asks the host's own model through `sampling/createMessage`. Only exists for a request whose
 * client declared the sampling capability. `model` is passed as a preference hint; the host
 * chooses.
 */
export class SamplingProvider implements Provider {
  readonly id = 'mcp_sampling' as const;
  // Hosts show each request to their user to approve: every retry would be one more prompt.
  readonly mayPromptAPerson = true;

  constructor(
    private readonly createMessage: CreateMessage,
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
      throw samplingFailure(err, this.id, req.model);
    }
  }
}

/**
 * Names what went wrong with a sampling request. Only the user's own "no" is a 403 the breaker
 * ignores; a failing handler, a timeout or a closed connection say the host is unwell. None of
 * them is retried (see mayPromptAPerson), so the kinds here only steer the breaker and the words.
 */
function samplingFailure(err: unknown, provider: string, model: string): ProviderError {
  const base = { provider, model, cause: err };
  if (!(err instanceof McpError)) {
    return new ProviderError({ ...base, kind: 'http', status: 502, message: `The MCP host could not sample a message: ${err instanceof Error ? err.message : String(err)}` });
  }
  // McpError prefixes "MCP error <code>: "; the host's own words read better without it.
  const said = err.message.replace(/^MCP error -?\d+: /, '');
  if (err.code === USER_REJECTED_CODE) {
    return new ProviderError({ ...base, kind: 'http', status: 403, message: `The MCP host declined to sample a message: ${said}` });
  }
  if (err.code === ErrorCode.RequestTimeout) {
    return new ProviderError({ ...base, kind: 'timeout', message: `The MCP host did not answer the sampling request in time: ${said}` });
  }
  if (err.code === ErrorCode.ConnectionClosed) {
    return new ProviderError({ ...base, kind: 'network', message: `The connection to the MCP host closed before it answered the sampling request: ${said}` });
  }
  return new ProviderError({ ...base, kind: 'http', status: 502, message: `The host's sampling handler failed: ${said} (${err.code})` });
}
