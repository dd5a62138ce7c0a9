import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compactJsonSchema, toListedTool } from '../../../src/tools/listing.js';
import { ALL_TOOLS } from '../../../src/tools/registry.js';

describe('nullable arguments are listed with a top-level type', () => {
  it('number, string and enum nullables become type arrays, keeping their bounds and description', () => {
    const schema = z.object({
      limit: z.number().nonnegative().nullable().optional().describe('USD, null removes'),
      text: z.string().max(200).nullable(),
      level: z.enum(['a', 'b']).nullable(),
    });
    expect(compactJsonSchema(schema, 'input')).toEqual({
      type: 'object',
      properties: {
        limit: { description: 'USD, null removes', type: ['number', 'null'], minimum: 0 },
        text: { type: ['string', 'null'], maxLength: 200 },
        level: { type: ['string', 'null'], enum: ['a', 'b', null] },
      },
      required: ['text', 'level'],
    });
  });

  it('no input schema of a registered tool lists a nullable as a bare anyOf', () => {
    for (const tool of ALL_TOOLS) {
      const json = JSON.stringify(toListedTool(tool).inputSchema);
      expect(json, tool.name).not.toContain('{"type":"null"}');
    }
    const budget = toListedTool(ALL_TOOLS.find((t) => t.name === 'cost_set_budget')!).inputSchema as { properties: Record<string, { type?: unknown }> };
    expect(budget.properties.daily_limit!.type).toEqual(['number', 'null']);
    const update = toListedTool(ALL_TOOLS.find((t) => t.name === 'tasks_update')!).inputSchema as { properties: Record<string, { type?: unknown }> };
    expect(update.properties.description!.type).toEqual(['string', 'null']);
  });
});
