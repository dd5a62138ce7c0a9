import fs from 'node:fs';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { App } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { CONFIG_FILE_NAME, withConfigFile, type LayeredEnv } from './configFile.js';
import { errorMessage } from './errors.js';
import { createLogger, type LogRecord } from './logger.js';
import { createServer } from './server.js';
import { BoundedLines, MAX_MESSAGE_BYTES, requestIdFrom } from './stdinLines.js';
import { StdioLineTransport } from './stdioTransport.js';
import { ALL_TOOLS, selectTools } from './tools/registry.js';
import { VERSION } from './version.js';

type Env = Record<string, string | undefined>;

const HELP = `task-orchestrator ${VERSION} — MCP server that delegates work to Gemini agents safely

Usage:
  task-orchestrator            start the MCP server on stdio (what MCP clients run)
  task-orchestrator serve      the same, spelled out
  task-orchestrator --help     show this help
  task-orchestrator --version  print the version
  task-orchestrator export     write trials as JSONL (export --help for options)
  task-orchestrator import FILE...  tasks from .ics, .eml and mbox files (import --help)
  task-orchestrator train      train the failure predictor on exported records (train --help)
  task-orchestrator predict    score trial records on stdin with the failure predictor (predict --help)
  task-orchestrator dashboard  failures, guardrails and cost as a web page (dashboard --help)

Configuration is read from environment variables (see README.md), over an optional
${CONFIG_FILE_NAME} in the data directory that holds the same variables; the main ones:
  GEMINI_API_KEY               key of the default provider, google_gemini (openai_compatible and mcp_sampling work without it)
  TASK_ORCHESTRATOR_HOME       data directory (default: $XDG_DATA_HOME/task-orchestrator or ~/.task-orchestrator)
  TASK_ORCHESTRATOR_TOOLS      core | all | comma list of tool names (default: all)
  LOG_LEVEL                    debug | info | warn | error | silent (default: info; logs go to stderr)
`;

/** Parses argv and runs the chosen command. Returns the exit code (undefined: keep running). */
export async function runCli(argv: readonly string[], env: Env): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'export') return runExport(rest, env);
  if (command === 'import') return runImport(rest, env);
  if (command === 'train' || command === 'predict') return runPrediction(command, rest, env);
  if (command === 'dashboard') return runDashboard(rest, env);
  if (command !== undefined && command !== 'serve') {
    process.stderr.write(`task-orchestrator: unknown command "${command}"${rest.length ? ' …' : ''}. Try --help.\n`);
    return 2;
  }
  const loaded = configOrReport(env);
  return loaded ? startStdioServer(loaded) : 1;
}

interface LoadedConfig {
  config: Config;
  layered: LayeredEnv;
}

/** The configuration, or undefined after one line on stderr naming the bad variable. */
function configOrReport(env: Env): LoadedConfig | undefined {
  let layered: LayeredEnv | undefined;
  try {
    layered = withConfigFile(env);
    return { config: loadConfig(layered.env), layered };
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(err, layered);
      return undefined;
    }
    throw err;
  }
}

function reportConfigError(err: ConfigError, layered: LayeredEnv | undefined): void {
  const origin = layered?.file && layered.fromFile.has(err.variable) ? ` (set in ${layered.file})` : '';
  process.stderr.write(`task-orchestrator: ${err.message}${origin}\n`);
}

/** `task-orchestrator export`: reads the same database the server writes, with no server running. */
async function runExport(argv: readonly string[], env: Env): Promise<number> {
  const loaded = configOrReport(env);
  if (!loaded) return 1;
  const { config } = loaded;
  // Reading only: a mistyped TASK_ORCHESTRATOR_HOME must not leave an empty database behind.
  if (!fs.existsSync(config.dbPath)) {
    process.stderr.write(`task-orchestrator: no database at ${config.dbPath}: nothing to export. Is TASK_ORCHESTRATOR_HOME (${config.dataDir}) the server's data directory? The server creates it on first start.\n`);
    return 1;
  }
  // `export | head -1`: the reader leaving early is a normal end, not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const [{ ALL_MIGRATIONS }, { openDatabase }, { runExportCli }, { TrialStore }, { systemClock }] = await Promise.all([
    import('./app.js'),
    import('./db/database.js'),
    import('./eval/export.js'),
    import('./eval/trialStore.js'),
    import('./clock.js'),
  ]);
  const db = openDatabase(config.dbPath, { migrations: ALL_MIGRATIONS });
  try {
    return await runExportCli([...argv], { store: new TrialStore(db, systemClock), secrets: config.secrets, stdout: process.stdout, stderr: process.stderr });
  } finally {
    db.close();
  }
}

/** `task-orchestrator import FILE...`: writes tasks into the database the server uses. */
async function runImport(argv: readonly string[], env: Env): Promise<number> {
  const loaded = configOrReport(env);
  if (!loaded) return 1;
  const [{ ALL_MIGRATIONS }, { openDatabase }, { runImportCli }, { TaskStore }, { systemClock }] = await Promise.all([
    import('./app.js'),
    import('./db/database.js'),
    import('./tasks/import/importCli.js'),
    import('./tasks/taskStore.js'),
    import('./clock.js'),
  ]);
  const db = openDatabase(loaded.config.dbPath, { migrations: ALL_MIGRATIONS });
  try {
    return await runImportCli([...argv], { store: new TaskStore(db, systemClock), clock: systemClock, stdout: process.stdout, stderr: process.stderr });
  } finally {
    db.close();
  }
}

/** `task-orchestrator dashboard`: serves (127.0.0.1) or writes the failure dashboard from the same database. */
async function runDashboard(argv: readonly string[], env: Env): Promise<number> {
  const loaded = configOrReport(env);
  if (!loaded) return 1;
  const { config } = loaded;
  const [{ ALL_MIGRATIONS }, { openDatabase }, { runDashboardCli }, { systemClock }] = await Promise.all([
    import('./app.js'),
    import('./db/database.js'),
    import('./dashboard/cli.js'),
    import('./clock.js'),
  ]);
  const db = openDatabase(config.dbPath, { migrations: ALL_MIGRATIONS });
  const stopSignal = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  try {
    return await runDashboardCli([...argv], { db, clock: systemClock, dataDir: config.dataDir, mode: config.immune.mode, stdout: process.stdout, stderr: process.stderr, stopSignal });
  } finally {
    db.close();
  }
}

/** `task-orchestrator train` / `predict` (failure prediction): no database, only files. */
async function runPrediction(command: 'train' | 'predict', argv: readonly string[], env: Env): Promise<number> {
  const loaded = configOrReport(env);
  if (!loaded) return 1;
  const [{ runTrainCli, runPredictCli }, { systemClock }] = await Promise.all([import('./prediction/cli.js'), import('./clock.js')]);
  const deps = { modelDir: loaded.config.prediction.modelDir, clock: systemClock, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  return command === 'train' ? runTrainCli(argv, deps) : runPredictCli(argv, deps);
}

/** A gateway URL may carry credentials (user:pass@, ?key=): show where it points, not those. */
function endpointForDisplay(url: string): string {
  const u = new URL(url);
  const hidden = u.username || u.password || u.search ? ' (credentials and query hidden)' : '';
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}${hidden}`;
}

function describeProviders(config: Config): string[] {
  return [
    config.gemini.apiKey
      ? `  google_gemini: configured${config.gemini.baseUrl ? ` (endpoint ${endpointForDisplay(config.gemini.baseUrl)})` : ''}`
      : '  google_gemini: not configured — set GEMINI_API_KEY (the default provider of spawn_agent)',
    config.openai.baseUrl ? `  openai_compatible: ${endpointForDisplay(config.openai.baseUrl)}` : '  openai_compatible: not configured (OPENAI_BASE_URL)',
    '  mcp_sampling: available when the client supports sampling',
  ];
}

function banner(config: Config, configFile: string | undefined, toolNames: string[]): string {
  const snippet = JSON.stringify(
    {
      mcpServers: {
        'task-orchestrator': {
          command: process.execPath,
          args: [process.argv[1] ?? 'task-orchestrator'],
          env: { GEMINI_API_KEY: '<your Gemini API key>' },
        },
      },
    },
    null,
    2,
  );
  return [
    `Task Orchestrator ${VERSION} — an MCP server speaking JSON-RPC on stdin/stdout.`,
    'It is meant to be started by an MCP client (Claude Desktop, Claude Code, an IDE), not typed at.',
    `Data directory: ${config.dataDir}`,
    `Config file: ${configFile ?? `none (optional: ${CONFIG_FILE_NAME} in the data directory, same variables as the environment)`}`,
    'Providers:',
    ...describeProviders(config),
    `Tools (${toolNames.length}): ${toolNames.join(', ')}`,
    'Claude Desktop config (claude_desktop_config.json):',
    snippet,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

async function startStdioServer({ config, layered }: LoadedConfig): Promise<number | undefined> {
  const sinks: Array<(r: LogRecord) => void> = [];
  const logger = createLogger({ level: config.logLevel, secrets: config.secrets, sinks: [(r) => sinks.forEach((s) => s(r))] });
  for (const warning of layered.warnings) logger.warn(warning);
  let tools;
  try {
    tools = selectTools(ALL_TOOLS, config.tools);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(err, layered);
      return 1;
    }
    throw err;
  }
  // Opened after the client is greeted (initialize is what clients wait for at start-up); tool
  // calls wait for it. If it cannot open, the server stays up: each tool call answers why (path,
  // cause, fix) and the next one tries again, so fixing the directory needs no restart.
  let appPromise: Promise<App> | undefined;
  const openApp = () =>
    (appPromise ??= import('./app.js')
      .then(({ createApp }) => createApp({ config, logger }))
      .catch((err: unknown) => {
        appPromise = undefined;
        logger.error(`cannot open the data directory ${config.dataDir}: ${errorMessage(err)}`);
        throw err;
      }));
  const server = createServer({ config, logger, services: async () => (await openApp()).services }, tools);
  sinks.push((r) => server.logSink(r));

  if (process.stdin.isTTY) process.stderr.write(banner(config, layered.file, tools.map((t) => t.name)));

  let shuttingDown = false;
  const shutdown = async (reason: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(`shutting down (${reason})`);
    await server.drain(5_000);
    await server.mcp.close().catch(() => {});
    if (appPromise) await (await appPromise.catch(() => undefined))?.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.stdin.on('end', () => void shutdown('stdin closed'));
  process.stdin.on('close', () => void shutdown('stdin closed'));

  // A message over the limit is refused alone, with an error to its request id; the connection stays up.
  const lines = new BoundedLines(MAX_MESSAGE_BYTES, (ends, bytes) => {
    logger.warn('refused an oversized message on stdin', { bytes, limit: MAX_MESSAGE_BYTES });
    const id = requestIdFrom(ends);
    const message = `Request too large: ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB per message. Send less per call (split a batch).`;
    if (id !== undefined) transport.send({ jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidRequest, message } }).catch(() => {});
  });
  process.stdin.pipe(lines);
  const transport = new StdioLineTransport(lines, process.stdout);
  // A malformed line on stdin is answered (when it has an id) and logged, not fatal.
  transport.onerror = (err) => logger.warn('ignored unreadable input on stdin', { error: err.message });
  await server.connect(transport);
  try {
    await openApp();
    logger.info('ready', { version: VERSION, dataDir: config.dataDir, tools: tools.length, gemini: Boolean(config.gemini.apiKey) });
  } catch {
    // Logged by openApp; tool calls report it.
  }
  return undefined;
}
