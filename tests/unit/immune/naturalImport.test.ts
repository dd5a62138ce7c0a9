import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// Nothing from src/immune is imported statically: the test imports the matcher itself, first,
// from a working directory holding a .env, while watching stdout.
describe('importing the matcher', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'immune-natural-'));
  const cwd = process.cwd();
  afterAll(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints nothing, reads no .env and loads no database driver', async () => {
    fs.writeFileSync(path.join(dir, '.env'), 'IMMUNE_DOTENV_PROBE=read\n');
    process.chdir(dir);
    const writes: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    try {
      const { promptTerms } = await import('../../../src/immune/patternMemory.js');
      const { TfIdfIndex } = await import('../../../src/immune/matcher.js');
      const index = new TfIdfIndex();
      index.set('p', promptTerms('Extract the totals from these invoices'));
      expect(index.query(promptTerms('extract invoice totals'), { k: 1, threshold: 0.1 })).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    expect(writes).toEqual([]);
    expect(process.env.IMMUNE_DOTENV_PROBE).toBeUndefined();
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.some((p) => p.includes(`${path.sep}natural${path.sep}lib${path.sep}natural${path.sep}stemmers`))).toBe(true);
    const drivers = loaded.filter((p) => /[\\/]node_modules[\\/](pg|mongoose|redis|memjs|dotenv|@redis)[\\/]/.test(p));
    expect(drivers).toEqual([]);
    expect(loaded.filter((p) => p.endsWith(path.join('natural', 'lib', 'natural', 'index.js')))).toEqual([]);
  });
});
