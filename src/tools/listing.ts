import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { listedSummary } from '../schemaListing.js';
import type { ToolAnnotations, ToolDefinition } from './types.js';

/**
 * tools/list is sent to the host model on every turn, so we send compact JSON Schemas: no
 * `$schema`, no `additionalProperties: false`, no ±2^53 integer bounds, no regex behind a
 * `format`. Validation is unchanged: it runs on the full zod schemas.
 */
export function compactJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const raw = z.toJSONSchema(schema, {
    io,
    target: 'draft-7',
    unrepresentable: 'any',
    // A schema tagged with listAs(...) is listed as that short summary instead of in full.
    override: ({ zodSchema, jsonSchema }) => {
      const summary = listedSummary(zodSchema as unknown as z.ZodType);
      if (!summary) return;
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Record<string, unknown>)[key];
      Object.assign(jsonSchema, summary);
    },
  });
  const json = prune(raw) as Record<string, unknown>;
  return io === 'output' ? shallow(json) : json;
}

/**
 * Output schemas are listed as their top-level field names: enough for a client to find its way
 * in structuredContent, at a fraction of the bytes. The server still validates every result
 * against the full zod output schema before sending it.
 */
function shallow(json: Record<string, unknown>): Record<string, unknown> {
  const properties = (json.properties ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { type: 'object', properties: {} };
  for (const key of Object.keys(properties)) {
    (out.properties as Record<string, unknown>)[key] = {};
  }
  return out;
}

/** Bounds so loose no model will meet them: listing them costs bytes and says nothing. */
const NOISE_BOUNDS: Record<string, (v: unknown) => boolean> = {
  minimum: (v) => v === Number.MIN_SAFE_INTEGER,
  maximum: (v) => v === Number.MAX_SAFE_INTEGER || (typeof v === 'number' && v >= 100_000),
  maxLength: (v) => typeof v === 'number' && v >= 1_000,
  minLength: (v) => v === 1,
  propertyNames: (v) => JSON.stringify(v) === '{"type":"string"}',
  additionalProperties: (v) => v === false || JSON.stringify(v) === '{}',
};

function prune(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(prune);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const obj = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(obj)) {
    if (key === '$schema') continue;
    if (NOISE_BOUNDS[key]?.(value)) continue;
    if (key === 'pattern' && typeof obj.format === 'string') continue;
    // An enum of strings already says its type; a boolean defaulting to false says nothing.
    if (key === 'type' && value === 'string' && Array.isArray(obj.enum)) continue;
    if (key === 'default' && value === false) continue;
    out[key] = prune(value);
  }
  return typedNullable(out);
}

/**
 * `anyOf: [{type: "number", …}, {type: "null"}]` (zod's nullable) becomes
 * `{type: ["number", "null"], …}`: generic clients (the MCP Inspector's CLI, form builders)
 * convert a value by the top-level `type`, and without one send `null` or `5` as strings.
 */
function typedNullable(node: Record<string, unknown>): Record<string, unknown> {
  const anyOf = node.anyOf;
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return node;
  const nullIndex = anyOf.findIndex((b) => JSON.stringify(b) === '{"type":"null"}');
  if (nullIndex === -1) return node;
  const other = anyOf[1 - nullIndex] as Record<string, unknown>;
  const type = typeof other.type === 'string' ? other.type : Array.isArray(other.enum) && other.enum.every((v) => typeof v === 'string') ? 'string' : undefined;
  if (!type || 'anyOf' in other) return node;
  const { anyOf: _replaced, ...rest } = node;
  const merged: Record<string, unknown> = { ...rest, ...other, type: [type, 'null'] };
  if (Array.isArray(other.enum)) merged.enum = [...(other.enum as unknown[]), null];
  return merged;
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

/**
 * Titles are left out of the listing: hosts fall back to the name, and every byte is per turn.
 * Core tools list their output's top-level fields; the others only that it is an object (their
 * fields are in every result and its text), which keeps all 26 tools within 15 KiB.
 */
export function toListedTool(tool: ToolDefinition): Tool {
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: compactJsonSchema(tool.inputSchema, 'input') as Tool['inputSchema'],
    outputSchema: (tool.set === 'core' ? compactJsonSchema(tool.outputSchema, 'output') : { type: 'object' }) as Tool['outputSchema'],
    annotations: compactAnnotations(tool.annotations),
  };
}
