import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../../src/config.js';
import { compactAnnotations, compactJsonSchema, toListedTool } from '../../../src/tools/listing.js';
import { ALL_TOOLS, selectTools } from '../../../src/tools/registry.js';

describe('every registered tool is well-formed', () => {
  it('has unique snake_case names', () => {
    const names = ALL_TOOLS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it.each(ALL_TOOLS.map((t) => [t.name, t] as const))('%s: short description, object schemas, consistent annotations, a handler', (_name, tool) => {
    expect(tool.description.length).toBeGreaterThan(10);
    expect(tool.description.length).toBeLessThanOrEqual(200);
    expect(tool.title.length).toBeGreaterThan(0);
    expect(tool.inputSchema).toBeInstanceOf(z.ZodObject);
    expect(tool.outputSchema).toBeInstanceOf(z.ZodObject);
    expect(typeof tool.handler).toBe('function');
    // A read-only tool cannot be destructive.
    if (tool.annotations.readOnlyHint) expect(tool.annotations.destructiveHint).toBe(false);
    const listed = toListedTool(tool);
    expect(listed.inputSchema.type).toBe('object');
    expect(listed.outputSchema?.type).toBe('object');
    expect(JSON.stringify(listed)).not.toContain('$schema');
  });

  it('says destructive exactly for the tools that overwrite or remove data', () => {
    // MCP: destructiveHint false means "only additive updates"; hosts may auto-approve those.
    const destructive = ALL_TOOLS.filter((t) => !t.annotations.readOnlyHint && t.annotations.destructiveHint).map((t) => t.name);
    expect(destructive.sort()).toEqual(['cost_set_budget', 'tasks_delete', 'tasks_update']);
  });

  it('lists only annotations that differ from the MCP defaults', () => {
    expect(compactAnnotations({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false })).toEqual({ readOnlyHint: true, openWorldHint: false });
    expect(compactAnnotations({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true })).toEqual({});
    expect(compactAnnotations({ readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true })).toEqual({ destructiveHint: false, idempotentHint: true });
  });

  it('compacts JSON Schemas without losing what a model needs', () => {
    const schema = z.object({ id: z.number().int(), name: z.string().min(1).max(50), body: z.string().max(100_000), kind: z.enum(['a', 'b']), flag: z.boolean().default(false) });
    expect(compactJsonSchema(schema, 'input')).toEqual({
      type: 'object',
      properties: { id: { type: 'integer' }, name: { type: 'string', maxLength: 50 }, body: { type: 'string' }, kind: { enum: ['a', 'b'] }, flag: { type: 'boolean' } },
      required: ['id', 'name', 'body', 'kind'],
    });
    expect(compactJsonSchema(schema, 'output')).toEqual({ type: 'object', properties: { id: {}, name: {}, body: {}, kind: {}, flag: {} } });
  });
});

describe('selectTools', () => {
  const names = (sel: Parameters<typeof selectTools>[1]) => selectTools(ALL_TOOLS, sel).map((t) => t.name);

  it('all, core, lists and disabled names', () => {
    expect(names({ selection: 'all', disabled: [] })).toHaveLength(ALL_TOOLS.length);
    expect(names({ selection: 'core', disabled: [] }).sort()).toEqual(['agent_result', 'cost_summary', 'spawn_agent', 'spawn_parallel_agents', 'tasks_add', 'tasks_complete', 'tasks_list']);
    expect(names({ selection: ['tasks_list', 'healing_status'], disabled: ['healing_status'] })).toEqual(['tasks_list']);
  });

  it.each([
    [{ selection: ['nope'], disabled: [] }, 'TASK_ORCHESTRATOR_TOOLS'],
    [{ selection: 'all', disabled: ['ghost'] }, 'TASK_ORCHESTRATOR_DISABLED_TOOLS'],
    [{ selection: ['tasks_add'], disabled: ['tasks_add'] }, 'TASK_ORCHESTRATOR_DISABLED_TOOLS disables every tool'],
  ] as const)('unknown names are a configuration error naming the variable (%o)', (sel, variable) => {
    expect(() => selectTools(ALL_TOOLS, sel as never)).toThrow(ConfigError);
    expect(() => selectTools(ALL_TOOLS, sel as never)).toThrow(variable);
  });
});
