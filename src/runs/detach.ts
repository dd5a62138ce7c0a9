import type { BackgroundRuns } from './backgroundRuns.js';

export type DetachOutcome<T> = { detached: false; value: T } | { detached: true; runId: string; partial: unknown };

export interface DetachOptions {
  kind: string;
  /** Answer with a run id once the work has run this long; 0 = never detach. */
  afterMs: number;
  /** The client's request: cancels the work while the client still waits for it, not after. */
  signal: AbortSignal;
}

/**
 * Runs foreground work that may outlive the client's patience (many clients give up after 60 s).
 * If it is still running after `afterMs`, it becomes a background run (see BackgroundRuns.adopt)
 * and this resolves with the run id and the partial results so far; the work goes on, polled
 * with agent_result, stopped with agent_cancel or by shutdown.
 */
export async function runDetachable<T>(
  runs: BackgroundRuns,
  opts: DetachOptions,
  work: (signal: AbortSignal, reportPartial: (partial: unknown) => void) => Promise<T>,
): Promise<DetachOutcome<T>> {
  const abort = new AbortController();
  const onClientAbort = () => abort.abort(opts.signal.reason);
  if (opts.signal.aborted) onClientAbort();
  else opts.signal.addEventListener('abort', onClientAbort, { once: true });
  let partial: unknown = null;
  let sink: ((partial: unknown) => void) | undefined;
  const reportPartial = (p: unknown) => {
    partial = p;
    sink?.(p);
  };
  const running = work(abort.signal, reportPartial);
  let timer: NodeJS.Timeout | undefined;
  try {
    const first =
      opts.afterMs === 0
        ? await running.then((value) => ({ value }))
        : await Promise.race([running.then((value) => ({ value })), new Promise<'detach'>((resolve) => (timer = setTimeout(() => resolve('detach'), opts.afterMs)))]);
    if (first !== 'detach') return { detached: false, value: first.value };
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener('abort', onClientAbort);
  }
  // The client gets its answer now; from here the run belongs to BackgroundRuns.
  const adopted = runs.adopt(opts.kind, running, abort, partial);
  sink = adopted.reportPartial;
  return { detached: true, runId: adopted.runId, partial };
}
