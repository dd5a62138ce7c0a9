import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';

/** A tool's structuredContent, read loosely (each test asserts the fields it cares about). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Structured = Record<string, any>;

/** The first text block of a tool result. */
export const textOf = (result: CallToolResult): string => (result.content[0] as { text: string }).text;

/**
 * Tool calls as the e2e tests make them. `client` is a getter because tests restart the server
 * (a new client) between cases.
 */
export function toolCalls(client: () => Client) {
  const call = (name: string, args: Record<string, unknown>) => client().callTool({ name, arguments: args }) as Promise<CallToolResult>;
  /** Asserts success and returns structuredContent. */
  const ok = async (name: string, args: Record<string, unknown>): Promise<Structured> => {
    const result = await call(name, args);
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    return result.structuredContent as Structured;
  };
  /** Asserts success and returns structuredContent and the text block. */
  const okWithText = async (name: string, args: Record<string, unknown>): Promise<{ s: Structured; text: string }> => {
    const result = await call(name, args);
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    return { s: result.structuredContent as Structured, text: textOf(result) };
  };
  /** Asserts an isError result and returns its text. */
  const errorText = async (name: string, args: Record<string, unknown>): Promise<string> => {
    const result = await call(name, args);
    expect(result.isError).toBe(true);
    return textOf(result);
  };
  return { call, ok, okWithText, errorText };
}
