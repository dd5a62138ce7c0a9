import type { Logger } from '../../logger.js';
import type { AlertRow } from '../alertStore.js';

/**
 * Console: one log line per alert through our Logger (stderr; the server forwards it as MCP
 * logging when the client asked for it). Synchronous and local, so it needs no outbox.
 */
export class ConsoleNotifier {
  constructor(private readonly logger: Logger) {}

  notify(a: AlertRow): void {
    const fields = { alert_id: a.id, rule: a.rule, severity: a.severity, subject: a.subject };
    const line = `ALERT [${a.severity}] ${a.rule}: ${a.message}`;
    if (a.severity === 'critical') this.logger.error(line, fields);
    else this.logger.warn(line, fields);
  }
}
