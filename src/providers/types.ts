/**
 * The one interface every model provider implements (Gemini, OpenAI-compatible, MCP sampling,
 * and the recording test double). It makes exactly one request: retries, breakers and budgets
 * live in the layers above, so nothing retries twice.
 */

export type ProviderId = 'google_gemini' | 'openai_compatible' | 'mcp_sampling';
export const PROVIDER_IDS: readonly ProviderId[] = ['google_gemini', 'openai_compatible', 'mcp_sampling'];

export interface GenerateRequest {
  model: string;
  prompt: string;
  system?: string | undefined;
  temperature?: number | undefined;
  maxOutputTokens?: number | undefined;
  /** A JSON Schema the answer must match; the provider asks for structured JSON output. */
  responseSchema?: Record<string, unknown> | undefined;
  /** Aborting it must close the in-flight HTTP request. */
  signal?: AbortSignal | undefined;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export const FINISH_REASONS = ['stop', 'length', 'safety', 'other'] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export interface GenerateResult {
  text: string;
  usage: TokenUsage;
  finishReason: FinishReason;
  /** The provider's own word for it (MAX_TOKENS, SAFETY, content_filter, ...), for messages. */
  providerFinishReason?: string | undefined;
  /** The model that answered, as the provider reports it. */
  model: string;
}

export interface Provider {
  readonly id: ProviderId;
  /**
   * True when a request may be put to a person to approve (MCP sampling). Such a request is made
   * once and never retried, whatever the failure: a retry would be another prompt.
   */
  readonly mayPromptAPerson?: boolean;
  /**
   * One request. Failures are thrown as `ProviderError` (src/errors.ts) with kind, HTTP status,
   * the provider's retry delay and quota facts, so the resilience layer can classify them.
   */
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /** Exact prompt token count when the provider can tell cheaply; budgets estimate otherwise. */
  countTokens?(request: Pick<GenerateRequest, 'model' | 'prompt' | 'system' | 'signal'>): Promise<number>;
}
