import { z } from 'zod';
import { IMPORT_FORMATS } from '../../tasks/import/types.js';
import { defineTool } from '../types.js';
import { taskLine, taskSchema } from './schemas.js';

/** The answer lists this many tasks and skipped items; the counts cover all of them. */
const SHOWN = 50;

export const tasksImport = defineTool({
  name: 'tasks_import',
  title: 'Import tasks',
  description:
    'Create tasks from an .ics calendar (VTODO, VEVENT), an .eml mail or an mbox; give path or content. Re-importing updates, never duplicates; tasks edited by hand are skipped.',
  set: 'extra',
  inputSchema: z
    .object({
      path: z.string().trim().min(1).max(4_096).optional(),
      content: z.string().min(1).max(10_000_000).optional(),
      format: z.enum(IMPORT_FORMATS).optional().describe('detected when absent'),
    })
    .refine((a) => (a.path === undefined) !== (a.content === undefined), { message: 'give exactly one of path or content' }),
  outputSchema: z.object({
    format: z.enum(IMPORT_FORMATS),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    skipped: z.array(z.object({ item: z.string(), reason: z.string() })),
    skipped_total: z.number().int(),
    tasks: z.array(taskSchema),
    tasks_total: z.number().int(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, services, ctx) {
    // Loaded on first use: node-ical, postal-mime and chrono-node would add about a second to start-up.
    const { TaskImporter } = await import('../../tasks/import/importer.js');
    const importer = new TaskImporter({ store: services.tasks, clock: services.clock });
    const r = await importer.run(args, ctx.signal);
    const lines = [
      `Imported ${r.format}: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.skipped.length} skipped`,
      ...r.tasks.slice(0, SHOWN).map(taskLine),
      ...r.skipped.slice(0, SHOWN).map((s) => `skipped ${s.item}: ${s.reason}`),
    ];
    return {
      structured: {
        format: r.format,
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        skipped: r.skipped.slice(0, SHOWN),
        skipped_total: r.skipped.length,
        tasks: r.tasks.slice(0, SHOWN),
        tasks_total: r.tasks.length,
      },
      text: lines.join('\n'),
    };
  },
});
