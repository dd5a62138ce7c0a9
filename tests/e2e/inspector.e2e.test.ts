import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeTempDir, SERVER_BIN } from '../helpers/paths.js';

const run = promisify(execFile);

/**
 * The MCP Inspector's CLI, a generic client that converts `--tool-arg k=v` by the listed schema.
 * Tests use the network only on loopback: the Inspector runs from npm's cache (`--offline`); once
 * fetched (`npx -y @modelcontextprotocol/inspector@0.21.1 --help`) this test runs, else it skips.
 */
const INSPECTOR = ['--offline', '-y', '@modelcontextprotocol/inspector@0.21.1', '--cli'];
const available = await run('npx', [...INSPECTOR.slice(0, 3), '--help'], { timeout: 30_000 }).then(
  () => true,
  () => false,
);
if (!available) console.warn('inspector.e2e: skipped, @modelcontextprotocol/inspector@0.21.1 is not in the npm cache (npx -y @modelcontextprotocol/inspector@0.21.1 --help fetches it)');

describe.skipIf(!available)('the MCP Inspector CLI drives every kind of argument', () => {
  const home = makeTempDir();
  const call = async (tool: string, ...args: string[]) => {
    const { stdout } = await run(
      'npx',
      [...INSPECTOR, '-e', `TASK_ORCHESTRATOR_HOME=${home}`, '-e', 'LOG_LEVEL=error', process.execPath, SERVER_BIN, '--method', 'tools/call', '--tool-name', tool, ...args.flatMap((a) => ['--tool-arg', a])],
      { timeout: 60_000 },
    );
    return JSON.parse(stdout) as { isError?: boolean; structuredContent?: Record<string, unknown>; content: Array<{ text: string }> };
  };

  // Three npx starts of the Inspector, each spawning the server: seconds apiece on a loaded machine.
  it('sets a budget (a nullable number) and clears a description (a nullable string) to null', { timeout: 120_000 }, async () => {
    const budget = await call('cost_set_budget', 'provider=google_gemini', 'daily_limit=5');
    expect(budget.isError).toBeFalsy();
    expect(budget.content[0]!.text).toMatch(/today \$0\.00 of \$5\.00/);
    const added = await call('tasks_add', 'title=x', 'description=abc');
    expect((added.structuredContent!.task as { description: string }).description).toBe('abc');
    const updated = await call('tasks_update', 'id=1', 'description=null');
    expect((updated.structuredContent!.task as { description: string | null }).description).toBeNull();
  });
});
