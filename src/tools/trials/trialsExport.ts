import path from 'node:path';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { EXPORT_FORMATS, effectiveFilters, exportTrials, type ExportOptions } from '../../eval/export.js';
import { defineTool } from '../types.js';
import { toFilters, trialFilterShape } from './schemas.js';

/** Inline answers stop at this many records or characters; beyond that the export goes to a file. */
export const INLINE_MAX_RECORDS = 200;
export const INLINE_MAX_CHARS = 256 * 1024;

export const trialsExport = defineTool({
  name: 'trials_export',
  title: 'Export trials',
  description:
    'Export trials as JSONL (secrets redacted) to a file in the data directory\'s exports/ folder. ' +
    'records: full trial records; chat: {"messages":[...]} fine-tuning examples (passed trials by default).',
  set: 'extra',
  inputSchema: z.object({
    format: z.enum(EXPORT_FORMATS).default('records'),
    ...trialFilterShape,
    limit: z.number().int().min(1).max(1_000_000).optional(),
    include_incomplete: z.boolean().default(false).describe('chat: include trials a judge could not grade'),
    file_name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'letters, digits, ".", "_" or "-" only')
      .optional()
      .describe('Under exports/; never overwrites. Default: trials-<format>-<UTC time>.jsonl, numbered -2, -3… if taken'),
    inline: z.boolean().default(false).describe(`Return the JSONL instead (max ${INLINE_MAX_RECORDS} records)`),
  }),
  outputSchema: z.object({
    count: z.number().int(),
    path: z.string().nullable(),
    jsonl: z.string().optional(),
    truncated: z.boolean(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(args, services) {
    const { config, clock, trials } = services;
    const opts: ExportOptions = {
      format: args.format,
      filters: toFilters(args),
      secrets: config.secrets,
      limit: args.limit,
      includeIncomplete: args.include_incomplete,
      noClobber: true,
      // A name the user chose is refused when taken; our own default just moves to the next number.
      numberIfTaken: args.file_name === undefined,
    };
    if (args.inline) {
      const wanted = Math.min(args.limit ?? INLINE_MAX_RECORDS, INLINE_MAX_RECORDS);
      const chunks: string[] = [];
      let chars = 0;
      const sink = new Writable({
        write(chunk: Buffer | string, _enc, done) {
          const text = chunk.toString();
          chunks.push(text);
          chars += text.length;
          done();
        },
      });
      const { count } = await exportTrials(trials, { ...opts, limit: wanted }, sink);
      if (chars <= INLINE_MAX_CHARS) {
        const matching = trials.count(effectiveFilters(opts));
        const truncated = count === wanted && matching > wanted && (args.limit === undefined || args.limit > wanted);
        const jsonl = chunks.join('');
        const note = truncated ? ` (first ${count} of ${matching}; export to a file for all)` : '';
        return { structured: { count, path: null, jsonl, truncated }, text: `${count} ${args.format} lines${note}:\n${jsonl}` };
      }
      // Too large to return: fall through and write a file instead.
    }
    const stamp = new Date(clock.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const name = args.file_name ?? `trials-${args.format}-${stamp}.jsonl`;
    const target = path.join(config.dataDir, 'exports', name.endsWith('.jsonl') ? name : `${name}.jsonl`);
    const { count, path: written = target } = await exportTrials(trials, opts, target);
    const why = args.inline ? ' (too large to return inline)' : '';
    return {
      structured: { count, path: written, truncated: false },
      text: `Wrote ${count} ${args.format} lines to ${written}${why}.`,
    };
  },
});
