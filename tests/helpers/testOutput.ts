import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/** Where tests leave artefacts a person should look at (screenshots, reports); not committed. */
export function testOutputDir(area: string): string {
  const dir = path.join(REPO_ROOT, 'test-output', area);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
