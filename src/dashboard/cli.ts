import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Clock } from '../clock.js';
import type { Db } from '../db/database.js';
import { dashboardReport } from '../immune/report.js';
import { announceDashboard } from './announce.js';
import { renderDashboard } from './render.js';
import { serveDashboard } from './server.js';

export const DASHBOARD_HELP = `Usage: task-orchestrator dashboard [--port N] [--out FILE] [--days N]

Shows where failures come from: failure trends, top patterns with their guardrails and
effectiveness, cost per day, breaker and rate-limit events. Reads the server's database.
  --port N    serve on http://127.0.0.1:N/ (default 8765; 0 picks a free port); Ctrl-C stops
  --out FILE  write one self-contained HTML file instead of serving
  --days N    days shown (default 14, at most 365)
`;

export const DEFAULT_DASHBOARD_PORT = 8765;

export interface DashboardCliDeps {
  db: Db;
  clock: Clock;
  dataDir: string;
  mode: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Resolves when the served dashboard should stop (SIGINT/SIGTERM in the real CLI). */
  stopSignal: Promise<void>;
}

/** Returns the exit code once done (after writing the file, or when serving stops). */
export async function runDashboardCli(argv: string[], deps: DashboardCliDeps): Promise<number> {
  let values: { port?: string; out?: string; days?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { port: { type: 'string' }, out: { type: 'string' }, days: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    deps.stderr.write(`task-orchestrator dashboard: ${(err as Error).message}\n${DASHBOARD_HELP}`);
    return 2;
  }
  if (values.help) {
    deps.stdout.write(DASHBOARD_HELP);
    return 0;
  }
  const days = values.days === undefined ? 14 : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 365) {
    deps.stderr.write(`task-orchestrator dashboard: --days must be a whole number from 1 to 365 (got "${values.days}")\n`);
    return 2;
  }
  const report = () => dashboardReport(deps.db, deps.clock.now(), days);
  const html = () => renderDashboard(report(), { mode: deps.mode });
  if (values.out !== undefined) {
    const file = path.resolve(values.out);
    fs.writeFileSync(file, html(), { mode: 0o600 });
    deps.stdout.write(`wrote ${file}\n`);
    return 0;
  }
  const port = values.port === undefined ? DEFAULT_DASHBOARD_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    deps.stderr.write(`task-orchestrator dashboard: --port must be a whole number from 0 to 65535 (got "${values.port}")\n`);
    return 2;
  }
  let served;
  try {
    served = await serveDashboard(port, { html, json: report });
  } catch (err) {
    deps.stderr.write(`task-orchestrator dashboard: cannot listen on 127.0.0.1:${port}: ${(err as Error).message} (try --port 0)\n`);
    return 1;
  }
  const unannounce = announceDashboard(deps.dataDir, served.url);
  deps.stdout.write(`dashboard: ${served.url} (Ctrl-C stops)\n`);
  await deps.stopSignal;
  unannounce();
  await served.close();
  return 0;
}
