import type { ProvidersConfig } from '../configSlices.js';
import { NotConfiguredError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CreateMessage } from '../host.js';
import { SamplingProvider } from './sampling.js';
import type { Provider, ProviderId } from './types.js';

/**
 * Builds each configured provider once, on first use; sampling is per request (it needs that
 * client). Provider SDKs are imported only when needed: they are most of the start-up time.
 */
export class ProviderRegistry {
  private readonly cache = new Map<ProviderId, Provider>();

  constructor(
    private readonly config: ProvidersConfig,
    private readonly logger: Logger,
    /** Tests substitute providers here (e.g. a recording double). */
    overrides: Partial<Record<ProviderId, Provider>> = {},
  ) {
    for (const [id, provider] of Object.entries(overrides)) this.cache.set(id as ProviderId, provider);
  }

  async get(id: ProviderId, ctx?: { createMessage?: CreateMessage | undefined }): Promise<Provider> {
    const cached = this.cache.get(id);
    if (cached) return cached;
    if (id === 'mcp_sampling') {
      if (!ctx?.createMessage) {
        throw new NotConfiguredError('provider "mcp_sampling" needs a client that supports MCP sampling; this client did not declare it.');
      }
      return new SamplingProvider(ctx.createMessage, this.config.agents.defaultMaxOutputTokens);
    }
    const provider = id === 'google_gemini' ? await this.createGemini() : await this.createOpenAI();
    // Two concurrent first calls may both build one; keep the first so there is one per server.
    const winner = this.cache.get(id) ?? provider;
    this.cache.set(id, winner);
    return winner;
  }

  /** Whether `id` can be used without a per-request capability. */
  isConfigured(id: ProviderId): boolean {
    if (id === 'google_gemini') return Boolean(this.config.gemini.apiKey) || this.cache.has(id);
    if (id === 'openai_compatible') return Boolean(this.config.openai.baseUrl) || this.cache.has(id);
    return false;
  }

  private async createGemini(): Promise<Provider> {
    const { apiKey, baseUrl } = this.config.gemini;
    if (!apiKey) {
      throw new NotConfiguredError(
        'Gemini is not configured: set GEMINI_API_KEY (or GOOGLE_API_KEY) in the server\'s environment (the "env" block of your MCP client config) and restart the server. Get a key at https://aistudio.google.com/apikey.',
      );
    }
    const { GeminiProvider } = await import('./gemini.js');
    return new GeminiProvider({ apiKey, baseUrl, logger: this.logger.child('gemini') });
  }

  private async createOpenAI(): Promise<Provider> {
    const { apiKey, baseUrl } = this.config.openai;
    if (!baseUrl) {
      throw new NotConfiguredError(
        'The OpenAI-compatible provider is not configured: set OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama), plus OPENAI_API_KEY if the server needs one, and OPENAI_MODEL for model "auto".',
      );
    }
    const { OpenAICompatibleProvider } = await import('./openaiCompatible.js');
    return new OpenAICompatibleProvider({ apiKey, baseUrl, logger: this.logger.child('openai') });
  }
}
