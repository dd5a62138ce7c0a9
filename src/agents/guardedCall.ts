import type { Clock } from '../clock.js';
import { CancelledError, ProviderError, TimeoutError } from '../errors.js';
import { estimateTokens } from '../tokenEstimate.js';
import type { GenerateRequest, GenerateResult, Provider } from '../providers/types.js';
import type { ProviderResilience } from '../resilience/providerResilience.js';
import type { CostPort, ReserveRequest } from './ports.js';

/**
 * Optional on a CostPort: a call's place before it reserves (the cost service admits a model
 * whose real cost is not yet known a few calls at a time, so a batch cannot overspend). Gives the
 * function that hands the place back, at once or once the place is free.
 */
export interface CostAdmission {
  admit?(provider: string, model: string, signal: AbortSignal): (() => void) | Promise<() => void>;
}

export interface GuardDeps {
  cost: CostPort & CostAdmission;
  healing: Pick<ProviderResilience, 'call'>;
  clock: Clock;
  atomic: <T>(fn: () => T) => T;
}

export interface Booking {
  trialId: string | null;
  taskId: number | null;
  tags: string[];
}

export interface GuardOptions {
  booking: Booking;
  /** The caller's cancellation. */
  signal: AbortSignal;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Epoch ms by which everything, retries included, must be over. */
  deadline?: number | undefined;
  /** Prompt tokens to reserve for (counted or conservatively estimated). */
  promptTokens: number;
  /** Takes the reservation; default cost.reserve (the pipeline joins it to the trial's first write). */
  reserve?: ((request: ReserveRequest) => { id: string }) | undefined;
  /** Called as each provider request starts. */
  onRequest?: (() => void) | undefined;
  /** Called for each request that failed, after it is booked (at what the provider billed for it, usually nothing). */
  onAttemptFailed?: ((info: { attempt: number; error: Error; startedAt: number; costUsd: number }) => void) | undefined;
}

export interface GuardedResult {
  result: GenerateResult;
  costUsd: number;
  attempts: number;
  /** When the request that succeeded started. */
  startedAt: number;
}

/**
 * Every model call the server makes on a user's behalf goes through here: reserve the most it can
 * cost against the budgets, make it through retries and the breaker (each failed request booked
 * at its real cost, zero), then settle the reservation to the real cost, or release it.
 */
export async function guardedGenerate(
  deps: GuardDeps,
  provider: Provider,
  request: Omit<GenerateRequest, 'signal'> & { maxOutputTokens: number },
  opts: GuardOptions,
): Promise<GuardedResult> {
  const leave = await waitForPlace(deps, provider.id, request.model, opts);
  try {
    return await reserveAndCall(deps, provider, request, opts);
  } finally {
    leave?.();
  }
}

/** The call's place in its admission window; the wait ends on cancel, and at the deadline as a `timeout`. */
async function waitForPlace(deps: GuardDeps, provider: string, model: string, opts: GuardOptions): Promise<(() => void) | undefined> {
  if (opts.deadline === undefined) {
    const place = deps.cost.admit?.(provider, model, opts.signal);
    return place instanceof Promise ? await place : place;
  }
  const atDeadline = new AbortController();
  const timer = setTimeout(() => atDeadline.abort(), Math.max(0, opts.deadline - deps.clock.now()));
  try {
    const place = deps.cost.admit?.(provider, model, AbortSignal.any([opts.signal, atDeadline.signal]));
    return place instanceof Promise ? await place : place;
  } catch (err) {
    if (atDeadline.signal.aborted && !opts.signal.aborted) {
      throw new TimeoutError(`The call waited for a place in its budget admission window until its deadline passed (timeout_ms); it was never sent.`, {
        callerLimit: true,
      });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function reserveAndCall(
  deps: GuardDeps,
  provider: Provider,
  request: Omit<GenerateRequest, 'signal'> & { maxOutputTokens: number },
  opts: GuardOptions,
): Promise<GuardedResult> {
  const { cost, healing, clock, atomic } = deps;
  const reservation = (opts.reserve ?? ((r) => cost.reserve(r)))({
    provider: provider.id,
    model: request.model,
    maxCostUsd: cost.estimateMaxCostUsd(provider.id, request.model, opts.promptTokens, request.maxOutputTokens),
    ...(opts.booking.trialId !== null && { trialId: opts.booking.trialId }),
    taskId: opts.booking.taskId,
  });
  let settled = false;
  try {
    let startedAt = clock.now();
    const { value, attempts } = await healing.call(
      { provider: provider.id, model: request.model },
      (signal) => {
        startedAt = clock.now();
        opts.onRequest?.();
        return provider.generate({ ...request, signal });
      },
      {
        signal: opts.signal,
        timeoutMs: opts.timeoutMs,
        deadline: opts.deadline,
        // A timed-out or failed sampling request may still be on a person's screen: never ask again.
        retry: provider.mayPromptAPerson !== true,
        onAttemptFailed: ({ attempt, error }) => {
          const status = error instanceof CancelledError || opts.signal.aborted ? 'cancelled' : 'error';
          const billed = error instanceof ProviderError ? error.billedUsage : undefined;
          const entry = cost.record({
            provider: provider.id,
            model: request.model,
            inputTokens: billed?.inputTokens ?? 0,
            outputTokens: billed?.outputTokens ?? 0,
            status,
            ...opts.booking,
          });
          opts.onAttemptFailed?.({ attempt, error, startedAt, costUsd: entry.cost_usd });
        },
      },
    );
    const entry = atomic(() =>
      cost.settle(reservation.id, { inputTokens: value.usage.inputTokens, outputTokens: value.usage.outputTokens, status: 'ok', ...opts.booking }),
    );
    settled = true;
    return { result: value, costUsd: entry.cost_usd, attempts, startedAt };
  } finally {
    if (!settled) cost.release(reservation.id);
  }
}

/**
 * A provider whose every call is guarded like an agent's: budgeted, booked, retried and
 * breaker-protected. LLM-as-judge graders get one, so judging can never spend past a budget.
 */
export class GuardedProvider implements Provider {
  readonly id: Provider['id'];

  constructor(
    private readonly inner: Provider,
    private readonly deps: GuardDeps,
    private readonly defaults: {
      booking: Booking;
      signal: AbortSignal;
      timeoutMs: number;
      deadline?: number | undefined;
      maxOutputTokens: number;
      /** Runs before anything is reserved; may change the request or refuse it by throwing (pre-checks). */
      before?: ((request: GenerateRequest) => Promise<GenerateRequest>) | undefined;
    },
  ) {
    this.id = inner.id;
  }

  async generate(original: GenerateRequest): Promise<GenerateResult> {
    const request = this.defaults.before ? await this.defaults.before(original) : original;
    const { signal, ...rest } = request;
    const guarded = await guardedGenerate(
      this.deps,
      this.inner,
      { ...rest, maxOutputTokens: request.maxOutputTokens ?? this.defaults.maxOutputTokens },
      {
        booking: this.defaults.booking,
        signal: signal ?? this.defaults.signal,
        timeoutMs: this.defaults.timeoutMs,
        deadline: this.defaults.deadline,
        promptTokens: estimateTokens(`${request.system ?? ''}\n${request.prompt}${request.responseSchema ? JSON.stringify(request.responseSchema) : ''}`) + 16,
      },
    );
    return guarded.result;
  }
}
