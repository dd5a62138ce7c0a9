import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Protocol, type RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ListToolsRequestSchema, SetLevelRequestSchema, type CallToolResult, type JSONRPCMessage, type LoggingLevel, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { AppServices } from './app.js';
import type { Config } from './config.js';
import { AppError, errorMessage, InvalidInputError, NotFoundError, toToolErrorResult } from './errors.js';
import type { LogRecord, Logger } from './logger.js';
import { storageErrorFromSqlite } from './db/storageError.js';
import { formatArgumentIssues } from './tools/argumentErrors.js';
import { toListedTool } from './tools/listing.js';
import type { ToolContext, ToolDefinition } from './tools/types.js';
import { PACKAGE_NAME, VERSION } from './version.js';

export interface OrchestratorServer {
  mcp: McpServer;
  /** Connects the transport, keeping count of requests not yet answered (see drain). */
  connect(transport: Transport): Promise<void>;
  /** Forwards a log record as an MCP logging notification (once connected). */
  logSink(record: LogRecord): void;
  /**
   * For shutdown: cancels in-flight tool calls (calls that start from now on begin cancelled)
   * and waits, at most `timeoutMs`, until every request received has been answered on the wire.
   * A call that committed is never left unanswered, so a client has no reason to retry it.
   */
  drain(timeoutMs: number): Promise<void>;
}

const MCP_SEVERITY: Record<LoggingLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4, critical: 5, alert: 6, emergency: 7 };
const MCP_LEVEL: Record<LogRecord['level'], LoggingLevel> = {
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
};

/**
 * tools/call as it may arrive: any `arguments` (the tool's own schema judges them, so a string
 * or an array gets an invalid_input result, not a protocol error) and any `name`.
 */
const LooseCallToolRequestSchema = z.object({
  method: z.literal('tools/call'),
  params: z.looseObject({
    name: z.unknown(),
    arguments: z.unknown().optional(),
    _meta: z.looseObject({ progressToken: z.union([z.string(), z.number()]).optional() }).optional(),
  }),
});
type LooseCallToolRequest = z.infer<typeof LooseCallToolRequestSchema>;
type RequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Builds the MCP server: registers each tool definition in a loop around one uniform wrapper. */
export interface ServerDeps {
  config: Config;
  logger: Logger;
  /**
   * The app's services. The server answers initialize and tools/list without them; tool calls
   * wait for them (the database opens after the client is greeted, to keep start-up short).
   */
  services: () => Promise<AppServices>;
}

export function createServer(deps: ServerDeps, tools: readonly ToolDefinition[]): OrchestratorServer {
  const mcp = new McpServer(
    { name: PACKAGE_NAME, title: 'Task Orchestrator', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'Delegate sub-tasks to other models with spawn_agent / spawn_parallel_agents (graded, budgeted, retried), and keep the user\'s task list with tasks_*.',
    },
  );
  // Log notifications only once the client asks for them (logging/setLevel), at its level.
  let clientLogLevel: LoggingLevel | undefined;
  mcp.server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    clientLogLevel = request.params.level;
    return {};
  });
  const inFlight = new Map<Promise<unknown>, CallCancellation>();
  let draining = false;
  const unanswered = new UnansweredRequests();
  const { config, logger } = deps;
  const secrets = config.secrets;

  // Tools are served here, not through McpServer.registerTool: the SDK checks arguments itself
  // and answers a bad one as a protocol error (-32602, or -32603 for non-object arguments), where
  // MCP wants a tool result the model can read and correct. Every argument error is one of ours.
  const byName = new Map(tools.map((tool) => [tool.name, { tool, input: tool.inputSchema.strict() }]));
  mcp.server.registerCapabilities({ tools: {} });
  const callTool = async (request: LooseCallToolRequest, extra: RequestExtra): Promise<CallToolResult> => {
    const { name, arguments: rawArgs } = request.params;
    const entry = typeof name === 'string' ? byName.get(name) : undefined;
    if (!entry) {
      const message = typeof name === 'string' ? `unknown tool "${name}"` : 'params.name must name a tool';
      return toToolErrorResult(new NotFoundError(`${message}; tools: ${[...byName.keys()].join(', ')}`), secrets);
    }
    const { tool, input } = entry;
    // Strict: an argument name with a typo ("prio") is an error naming it, never silently dropped.
    const parsed = await input.safeParseAsync(rawArgs === undefined ? {} : rawArgs, { reportInput: true });
    if (!parsed.success) return toToolErrorResult(new InvalidInputError(formatArgumentIssues(input, parsed.error.issues)), secrets);
    const args = parsed.data;
    // The output schema is not checked here: re-validating every result against the full zod
    // schema costs half a millisecond for a 100-task list. tools/list still advertises it (see
    // tools/listing.ts), and the end-to-end tests check every result against it.
    const cancel = new CallCancellation(extra.signal, draining);
    const progressToken = extra._meta?.progressToken;
    const clientCaps = mcp.server.getClientCapabilities();
    const ctx: ToolContext = {
      // Over stdio the caller is the client on the pipe; an HTTP transport will fill in its identity.
      request: { requestId: extra.requestId, caller: { kind: 'stdio-client' } },
      get signal() {
        return cancel.signal;
      },
      wantsProgress: progressToken !== undefined,
      reportProgress: async (progress, total, message) => {
        if (progressToken === undefined) return;
        await extra
          .sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
          })
          .catch(() => {});
      },
      createMessage: clientCaps?.sampling
        ? // A person may take a while to approve: wait as long as a provider call may take, not the SDK's 60 s.
          (params, signal) => mcp.server.createMessage(params, { signal, timeout: config.agents.callTimeoutMs })
        : undefined,
    };
    const run = (async (): Promise<CallToolResult> => {
      let services: AppServices | undefined;
      let result: CallToolResult;
      try {
        services = await deps.services();
        const out = await tool.handler(args as never, services, ctx);
        result = {
          content: [{ type: 'text', text: out.text }],
          structuredContent: out.structured as Record<string, unknown>,
        };
      } catch (caught) {
        // A full disk or a damaged file found mid-call is reported like one found at start.
        const err = storageErrorFromSqlite(caught, config.dbPath) ?? caught;
        // An error of ours is an answer; anything else is a defect or a broken disk: say so loudly.
        if (err instanceof AppError && err.code !== 'internal' && err.code !== 'storage_unavailable') logger.debug(`tool ${tool.name} failed`, { error: errorMessage(err) });
        else logger.error(`tool ${tool.name} failed`, { error: errorMessage(err) });
        result = toToolErrorResult(err, secrets);
      }
      // Commits run with synchronous=NORMAL: what this call (or anything before it) wrote is
      // fsynced, shared with concurrent calls, before the answer leaves (see WalSync).
      try {
        await services?.walSync.sync();
      } catch (err) {
        logger.error('could not fsync the database', { error: errorMessage(err) });
        const message = `The database could not be made durable: ${errorMessage(err)}. What this call did may not survive a power loss; restart the server once the disk is healthy.`;
        return toToolErrorResult(new AppError('internal', message), secrets);
      }
      return result;
    })();
    inFlight.set(run, cancel);
    try {
      return await run;
    } finally {
      inFlight.delete(run);
      cancel.dispose();
    }
  };
  // Registered with the base Protocol's method: the SDK Server's own tools/call wrapper parses
  // the request again with its strict schema first (non-object arguments become -32602).
  Protocol.prototype.setRequestHandler.call(mcp.server, LooseCallToolRequestSchema, callTool as never);

  // Our own tools/list: compact (see tools/listing.ts), computed on the first request rather than
  // at start-up, where it would delay the answer to initialize.
  let listed: ReturnType<typeof toListedTool>[] | undefined;
  mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: (listed ??= tools.map(toListedTool)) }));

  return {
    mcp,
    logSink(record) {
      const level = MCP_LEVEL[record.level];
      if (!mcp.isConnected() || clientLogLevel === undefined || MCP_SEVERITY[level] < MCP_SEVERITY[clientLogLevel]) return;
      mcp
        .sendLoggingMessage({ level, logger: record.component, data: record.fields ? { message: record.message, ...record.fields } : record.message })
        .catch(() => {});
    },
    async connect(transport) {
      await mcp.connect(transport);
      unanswered.track(transport);
    },
    async drain(timeoutMs) {
      draining = true;
      for (const cancel of inFlight.values()) cancel.abort(new Error('server shutting down'));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([unanswered.none(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
  };
}

/**
 * Ids of requests received and not yet answered on the wire. Counted at the transport, not around
 * the tool handler: a request is pending from the moment its line is read (before the SDK
 * dispatches it) until its response has been written, which is what a shutdown must wait for.
 */
class UnansweredRequests {
  private readonly ids = new Set<string | number>();
  private waiters: Array<() => void> = [];

  track(transport: Transport): void {
    const receive = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if ('method' in message) {
        if ('id' in message) this.ids.add(message.id);
        // A request the client cancelled gets no answer (the SDK sends none): stop waiting for it.
        else if (message.method === 'notifications/cancelled') this.answered((message.params as { requestId?: string | number } | undefined)?.requestId);
      }
      receive?.(message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = async (message: JSONRPCMessage, options) => {
      try {
        await send(message, options);
      } finally {
        if (!('method' in message) && 'id' in message) this.answered(message.id);
      }
    };
  }

  private answered(id: string | number | undefined): void {
    if (id !== undefined && this.ids.delete(id) && this.ids.size === 0) for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Resolves when every request received so far has been answered. */
  none(): Promise<void> {
    return this.ids.size === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/**
 * A tool call's cancellation: the client's cancel, or the server's shutdown. The signal is made
 * on first use: most calls (the task tools) never look at it, and an AbortController linked to
 * the SDK's signal costs several microseconds per call.
 */
class CallCancellation {
  private controller: AbortController | undefined;
  private reason: unknown;
  private readonly onClientAbort = () => this.abort(this.client.reason);

  constructor(
    private readonly client: AbortSignal,
    shuttingDown: boolean,
  ) {
    if (shuttingDown) this.reason = new Error('server shutting down');
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
      else if (this.client.aborted) this.controller.abort(this.client.reason);
      else this.client.addEventListener('abort', this.onClientAbort, { once: true });
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.reason ??= reason;
    this.controller?.abort(reason);
  }

  dispose(): void {
    if (this.controller) this.client.removeEventListener('abort', this.onClientAbort);
  }
}
