import type { ReportProgress } from '../host.js';

/**
 * Sends MCP progress while agents run: on every completed agent and, between completions, a
 * heartbeat every `intervalMs`, so clients that give up after 60 s of silence keep waiting. The
 * value strictly increases (the spec requires it): completed count plus a fraction that grows
 * with each heartbeat but never reaches the next whole number.
 */
export class ProgressHeartbeat {
  private completed = 0;
  private beats = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly report: ReportProgress,
    private readonly total: number,
    private readonly intervalMs: number,
    private readonly describe: () => string,
  ) {}

  start(): this {
    this.send();
    this.timer = setInterval(() => {
      this.beats += 1;
      this.send();
    }, this.intervalMs);
    this.timer.unref();
    return this;
  }

  agentFinished(): void {
    this.completed += 1;
    this.beats = 0;
    this.send();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(): void {
    const fraction = this.beats / (this.beats + 1);
    void this.report(Math.min(this.completed + fraction, this.total), this.total, this.describe());
  }
}
