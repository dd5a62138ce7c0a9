import type { z } from 'zod';
import type { CreateMessage, ReportProgress } from '../host.js';
import type { AppServices } from '../app.js';

/** The facts about one MCP request a handler may use, with no SDK types leaking into services. */
export interface ToolContext {
  /** Aborted when the client cancels the request or the server shuts down. */
  signal: AbortSignal;
  /** True when the client sent a progress token, so progress notifications reach someone. */
  wantsProgress: boolean;
  /** Sends notifications/progress; a no-op when the client did not ask for progress. */
  reportProgress: ReportProgress;
  /** Present when the client declared the sampling capability: asks the host's own model. */
  createMessage: CreateMessage | undefined;
}

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** Tools in the `core` set are the ones a host needs most: agents, tasks, cost. */
export type ToolSet = 'core' | 'extra';

export interface ToolOutput<O> {
  structured: O;
  /** A short human-readable summary for clients that ignore structuredContent. */
  text: string;
}

/** One MCP tool: schemas, truthful annotations, and a thin handler that calls a service. */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  set: ToolSet;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotations;
  handler(args: z.output<I>, services: AppServices, ctx: ToolContext): Promise<ToolOutput<z.input<O>>>;
}

/** Identity function that keeps each tool module's types precise while the registry stays uniform. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDefinition<I, O>): ToolDefinition {
  return def as unknown as ToolDefinition;
}
