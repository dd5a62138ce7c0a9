import fs from 'node:fs';
import path from 'node:path';
import { processIsAlive } from '../processAlive.js';

/** A served dashboard leaves its URL in the data directory, so immune_dashboard can point to it. */
const FILE = 'dashboard.json';

export function announceDashboard(dataDir: string, url: string): () => void {
  const file = path.join(dataDir, FILE);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, JSON.stringify({ url, pid: process.pid }), { mode: 0o600 });
  return () => {
    try {
      const current = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: number };
      if (current.pid === process.pid) fs.rmSync(file, { force: true });
    } catch {
      // Already gone or replaced: nothing of ours to remove.
    }
  };
}

/** The URL of a dashboard being served from this data directory, if its process is alive. */
export function servedDashboardUrl(dataDir: string): string | null {
  try {
    const { url, pid } = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8')) as { url?: unknown; pid?: unknown };
    if (typeof url !== 'string' || typeof pid !== 'number' || !processIsAlive(pid)) return null;
    return url;
  } catch {
    return null;
  }
}
