import type { GenerateRequest, GenerateResult, Provider } from '../src/providers/types.js';

/** Clocks the time spent inside the real provider's generate(), so benches can leave it out. */
export class TimedProvider implements Provider {
  readonly id = 'google_gemini' as const;
  totalMs = 0;
  calls = 0;
  constructor(private readonly inner: Provider) {}
  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const started = performance.now();
    try {
      return await this.inner.generate(request);
    } finally {
      this.totalMs += performance.now() - started;
      this.calls++;
    }
  }
}
