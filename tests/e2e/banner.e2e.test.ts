import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { makeTempDir, SERVER_BIN } from '../helpers/paths.js';
import { startServer } from '../helpers/serverProcess.js';

/** util-linux `script` gives the server a pseudo-terminal, as when a person runs it in a shell. */
const scriptVersion = spawnSync('script', ['--version'], { encoding: 'utf8' });
const hasScript = scriptVersion.status === 0 && /util-linux/.test(scriptVersion.stdout + scriptVersion.stderr);
const SKIP_NOTE = hasScript ? '' : ' [SKIPPED: util-linux "script" is not installed, so no pseudo-terminal can be made]';

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface TtyRun {
  output: string;
  code: number | null;
}

/**
 * Runs the bin with stdin/stdout/stderr on a pty, waits for the banner and the "ready" line, then
 * types Ctrl-C. The terminal turns it into SIGINT for the server; returns everything it printed.
 */
function runOnTty(env: Record<string, string>): Promise<TtyRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `exec ${shellQuote(process.execPath)} ${shellQuote(SERVER_BIN)}`, '/dev/null'], {
      // exec: the server itself, not a shell around it, is the terminal's foreground process.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, SHELL: '/bin/sh', TERM: 'dumb', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no banner / no exit within 10 s; got:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!typed && /Press Ctrl-C to stop\./.test(output) && /\] ready /.test(output)) {
        typed = true;
        child.stdin.write('\x03');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ output: output.replace(/\r/g, ''), code });
    });
  });
}

describe(`the banner on a terminal${SKIP_NOTE}`, () => {
  it.skipIf(!hasScript)('shows the data directory, the GEMINI_API_KEY hint and a ready-to-paste mcpServers config; Ctrl-C stops cleanly', async () => {
    const home = makeTempDir();
    const key = 'AIzaSyBANNERtestKEY0123456789abcdefghijk';
    const [bare, keyed] = await Promise.all([
      runOnTty({ TASK_ORCHESTRATOR_HOME: home }),
      runOnTty({ TASK_ORCHESTRATOR_HOME: makeTempDir(), GEMINI_API_KEY: key, GEMINI_BASE_URL: 'http://127.0.0.1:9', OPENAI_BASE_URL: 'http://me:hunter2@127.0.0.1:9/v1?api-key=sekret' }),
    ]);

    expect(bare.output).toContain(`Data directory: ${home}`);
    expect(bare.output).toMatch(/Config file: none \(optional: config\.json in the data directory/);
    expect(bare.output).toMatch(/google_gemini: not configured — set GEMINI_API_KEY/);
    expect(bare.output).toMatch(/Tools \(\d+\): .*spawn_agent/);

    // The config snippet is valid JSON that starts this very server.
    const snippet = /^(\{\n[\s\S]*?\n\})\nPress Ctrl-C/m.exec(bare.output)?.[1];
    expect(snippet, bare.output).toBeDefined();
    const config = JSON.parse(snippet!) as { mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }> };
    expect(config.mcpServers['task-orchestrator']).toEqual({
      command: process.execPath,
      args: [SERVER_BIN],
      env: { GEMINI_API_KEY: '<your Gemini API key>' },
    });

    // Ctrl-C on the terminal: SIGINT, a clean shutdown, exit code 0.
    expect(bare.output).toMatch(/shutting down \(SIGINT\)/);
    expect(bare.code).toBe(0);

    // With a key: reported as configured, and the key itself never printed.
    expect(keyed.output).toMatch(/google_gemini: configured \(endpoint http:\/\/127\.0\.0\.1:9\)/);
    expect(keyed.output).not.toContain(key);
    expect(keyed.output).toContain('openai_compatible: http://127.0.0.1:9/v1 (credentials and query hidden)');
    expect(keyed.output).not.toMatch(/hunter2|sekret/);
    expect(keyed.code).toBe(0);
  });

  it('is not printed when stdin is a pipe (an MCP client is talking)', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir(), LOG_LEVEL: 'info' });
    await server.client.listTools();
    await server.stop();
    expect(server.transport.stderr).toMatch(/ready/);
    expect(server.transport.stderr).not.toMatch(/mcpServers|Press Ctrl-C/);
  });
});
