import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolAnnotations, ToolDefinition } from './types.js';

/**
 * tools/list is sent to the host model on every turn, so we send compact JSON Schemas: no
 * `$schema`, no `additionalProperties: false`, no ±2^53 integer bounds, no regex behind a
 * `format`. Validation is unchanged: it runs on the full zod schemas.
 */
export function compactJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = prune(z.toJSONSchema(schema, { io, target: 'draft-7', unrepresentable: 'any' })) as Record<string, unknown>;
  return io === 'output' ? shallow(json) : json;
}

/**
 * Output schemas are listed one level deep (each field's type): enough for a client to find its
 * way in structuredContent, at a fraction of the bytes. The server still validates every result
 * against the full zod output schema before sending it.
 */
function shallow(json: Record<string, unknown>): Record<string, unknown> {
  const properties = (json.properties ?? {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = { type: 'object', properties: {} };
  for (const [key, prop] of Object.entries(properties)) {
    (out.properties as Record<string, unknown>)[key] = prop.type !== undefined ? { type: prop.type } : {};
  }
  if (Array.isArray(json.required) && json.required.length > 0) out.required = json.required;
  return out;
}

function prune(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(prune);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue;
    if ((key === 'minimum' && value === Number.MIN_SAFE_INTEGER) || (key === 'maximum' && value === Number.MAX_SAFE_INTEGER)) continue;
    if (key === 'pattern' && typeof obj.format === 'string') continue;
    out[key] = prune(value);
  }
  return out;
}

/** Only the hints that differ from the MCP defaults (readOnly false, destructive true, idempotent false, openWorld true). */
export function compactAnnotations(a: ToolAnnotations): Partial<ToolAnnotations> {
  const out: Partial<ToolAnnotations> = {};
  if (a.readOnlyHint) out.readOnlyHint = true;
  else {
    if (!a.destructiveHint) out.destructiveHint = false;
    if (a.idempotentHint) out.idempotentHint = true;
  }
  if (!a.openWorldHint) out.openWorldHint = false;
  return out;
}

export function toListedTool(tool: ToolDefinition): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: compactJsonSchema(tool.inputSchema, 'input') as Tool['inputSchema'],
    outputSchema: compactJsonSchema(tool.outputSchema, 'output') as Tool['outputSchema'],
    annotations: compactAnnotations(tool.annotations),
  };
}
