import type { CreateMessageRequest, CreateMessageResult } from '@modelcontextprotocol/sdk/types.js';

/**
 * What the MCP host lends a request, as plain function types: the pipeline and providers use
 * them without knowing the transport or the tool layer.
 */
export type CreateMessage = (params: CreateMessageRequest['params'], signal: AbortSignal) => Promise<CreateMessageResult>;

export type ReportProgress = (progress: number, total?: number, message?: string) => Promise<void>;
