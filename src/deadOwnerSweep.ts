import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';

/** One recovery the sweep runs: frees or ends what owners that are gone left behind; returns how many. */
export interface OwnerRecovery {
  /** What it recovers, for the log ("trials", "background runs", …). */
  name: string;
  recover(): number;
}

/**
 * Runs the recoveries of rows left by dead owners (a killed server's running trials, runs and
 * held reservations) at start and then every `intervalMs`, so a second live server on the same
 * file does not show them as running or held until some server restarts. The timer is unref'd:
 * it never keeps the process alive. A recovery that fails (a locked database) is logged and
 * tried again at the next sweep.
 */
export class DeadOwnerSweep {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: { recoveries: readonly OwnerRecovery[]; intervalMs: number; logger: Logger },
  ) {}

  /** Runs every recovery once; returns how many rows each recovered, by name. */
  sweep(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.deps.recoveries) {
      try {
        counts[r.name] = r.recover();
      } catch (err) {
        this.deps.logger.warn(`could not recover ${r.name} left by stopped servers; trying again at the next sweep`, { error: errorMessage(err) });
      }
    }
    return counts;
  }

  /** Starts the periodic sweep (the first run is the caller's start-up recovery). Idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic sweep. Idempotent. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
