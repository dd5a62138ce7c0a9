import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from both tests/helpers and dist/tests/helpers. */
export const REPO_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

/** The shipped bin: src/ bundled by esbuild (npm run build), dependencies left external. */
export const SERVER_BIN = path.join(REPO_ROOT, 'dist', 'bin', 'task-orchestrator.js');

export function makeTempDir(prefix = 'to-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
