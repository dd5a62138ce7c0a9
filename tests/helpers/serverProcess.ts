import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ALL_TOOLS } from '../../src/tools/registry.js';
import { SERVER_BIN } from './paths.js';

/**
 * A stdio client transport that, unlike the SDK's, keeps every raw stdout line, so tests can prove
 * the server never writes anything but JSON-RPC to stdout.
 */
export class RecordingStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  readonly stdoutLines: string[] = [];
  readonly invalidStdoutLines: string[] = [];
  stderr = '';
  private partial = '';
  private readonly buffer = new ReadBuffer();
  child: ChildProcessWithoutNullStreams | undefined;
  exited: Promise<number | null> | undefined;

  constructor(
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string | undefined>,
  ) {}

  async start(): Promise<void> {
    const child = spawn(this.command, this.args, { env: this.env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    child.stdout.on('data', (chunk: Buffer) => {
      this.recordRaw(chunk.toString('utf8'));
      this.buffer.append(chunk);
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (err) {
          this.onerror?.(err as Error);
          continue;
        }
        if (message === null) break;
        this.onmessage?.(message);
      }
    });
    child.on('exit', () => this.onclose?.());
    child.on('error', (err) => this.onerror?.(err));
  }

  private recordRaw(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      this.stdoutLines.push(line);
      let ok = false;
      try {
        ok = JSONRPCMessageSchema.safeParse(JSON.parse(line)).success;
      } catch {
        ok = false;
      }
      if (!ok) this.invalidStdoutLines.push(line);
    }
  }

  /** Writes raw bytes to the server's stdin (for garbage-input tests). */
  writeRaw(text: string): void {
    this.child?.stdin.write(text);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const child = this.child;
    if (!child) throw new Error('not started');
    await new Promise<void>((resolve, reject) => child.stdin.write(serializeMessage(message), (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface StartedServer {
  client: Client;
  transport: RecordingStdioTransport;
  stop(): Promise<number | null>;
}

/**
 * The server does not re-validate its results at run time; every result an end-to-end test
 * receives is checked here against the tool's full zod output schema instead.
 */
function checkResultsAgainstOutputSchemas(client: Client): void {
  const callTool = client.callTool.bind(client);
  client.callTool = (async (...args: Parameters<Client['callTool']>) => {
    const result = await callTool(...args);
    const tool = ALL_TOOLS.find((t) => t.name === args[0].name);
    if (tool && !result.isError && result.structuredContent !== undefined) {
      const parsed = tool.outputSchema.safeParse(result.structuredContent);
      if (!parsed.success) throw new Error(`${tool.name} answered outside its output schema: ${parsed.error.message}`);
    }
    return result;
  }) as Client['callTool'];
}

/** Spawns the built server and connects the SDK's real Client over stdio. */
export async function startServer(env: Record<string, string | undefined>, opts: { sampling?: boolean; bin?: string } = {}): Promise<StartedServer> {
  const transport = new RecordingStdioTransport(process.execPath, [opts.bin ?? SERVER_BIN], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: 'warn',
    ...env,
  });
  const client = new Client({ name: 'e2e-test', version: '1.0.0' }, { capabilities: opts.sampling ? { sampling: {} } : {} });
  await client.connect(transport);
  checkResultsAgainstOutputSchemas(client);
  return {
    client,
    transport,
    async stop() {
      await client.close().catch(() => {});
      await transport.close();
      return (await transport.exited) ?? null;
    },
  };
}
