import { ProviderError } from '../../../src/errors.js';
import type { GenerateRequest, GenerateResult, Provider, ProviderId } from '../../../src/providers/types.js';

export type Script = string | Error | ((req: GenerateRequest) => string | Error | Promise<string | Error>);

/** A recording Provider that answers from a script, one entry per call (the last repeats). */
export class FakeProvider implements Provider {
  readonly requests: GenerateRequest[] = [];
  constructor(
    private readonly script: Script[],
    readonly id: ProviderId = 'google_gemini',
    private readonly usage = { inputTokens: 120, outputTokens: 30 },
  ) {}

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    this.requests.push(request);
    const entry = this.script[Math.min(this.requests.length - 1, this.script.length - 1)]!;
    const answer = typeof entry === 'function' ? await entry(request) : entry;
    if (answer instanceof Error) throw answer;
    return { text: answer, usage: this.usage, finishReason: 'stop', model: request.model };
  }
}

export function providerError(status: number, message = `HTTP ${status} from the fake`): ProviderError {
  return new ProviderError({ provider: 'google_gemini', model: 'gemini-2.5-flash-lite', kind: 'http', status, message });
}

export const verdict = (score: number, pass = score >= 0.7, reasoning = 'Because.') => JSON.stringify({ reasoning, score, pass });
