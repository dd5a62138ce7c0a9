import { redactSecrets } from './errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LogRecord {
  level: Exclude<LogLevel, 'silent'>;
  component: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** Receives every record at or above the logger's level, already redacted (e.g. MCP logging). */
export type LogSink = (record: LogRecord) => void;

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go. stdout belongs to MCP, so the default is stderr and nothing else. */
  write?: (line: string) => void;
  /** Literal secrets (configured API keys) to scrub from every line. */
  secrets?: readonly string[];
  sinks?: LogSink[];
}

/** A logger that writes one line per record to stderr, with secrets scrubbed. */
export function createLogger(opts: LoggerOptions, component = 'server'): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const secrets = opts.secrets ?? [];
  const sinks = opts.sinks ?? [];
  const threshold = RANK[opts.level];

  const emit = (level: LogRecord['level'], message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < threshold) return;
    const fieldText = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : '';
    const line = redactSecrets(`${new Date().toISOString()} ${level.toUpperCase()} [${component}] ${message}${fieldText}`, secrets);
    write(`${line}\n`);
    if (sinks.length > 0) {
      const record: LogRecord = { level, component, message: redactSecrets(message, secrets) };
      if (fields) record.fields = JSON.parse(redactSecrets(safeJson(fields), secrets)) as Record<string, unknown>;
      for (const sink of sinks) {
        try {
          sink(record);
        } catch {
          // A failing sink (e.g. a closed MCP transport) must never break the caller.
        }
      }
    }
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (name) => createLogger({ ...opts, sinks }, `${component}.${name}`),
  };
}

/** A logger that drops everything (tests and benchmarks). */
export const silentLogger: Logger = createLogger({ level: 'silent', write: () => {} });

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return '"[unserialisable]"';
  }
}
