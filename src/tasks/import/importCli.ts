import type { Writable } from 'node:stream';
import { AppError } from '../../errors.js';
import { TaskImporter, type ImportResult } from './importer.js';
import type { Clock } from '../../clock.js';
import type { TaskStore } from '../taskStore.js';
import { IMPORT_FORMATS, type ImportFormat } from './types.js';

export const IMPORT_HELP = `Usage: task-orchestrator import [--format ics|eml|mbox] [--json] FILE...

Creates tasks from calendar files (.ics: VTODO and VEVENT), e-mails (.eml) and mailboxes (mbox),
in the same database the server uses. Each file is one import: all of it is written or none.
Importing a file again updates changed items and creates nothing twice; a task edited by hand
since its import is skipped with the reason "edited since import".

  --format F   the format of every FILE (default: from the extension or the content)
  --json       print one JSON result per file: {file, created, updated, unchanged, skipped, tasks}
`;

/** `task-orchestrator import FILE...`; returns the exit code (1 when any file failed). */
export async function runImportCli(
  argv: string[],
  deps: { store: TaskStore; clock: Clock; stdout: Writable; stderr: Writable },
): Promise<number> {
  let format: ImportFormat | undefined;
  let json = false;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      deps.stdout.write(IMPORT_HELP);
      return 0;
    }
    if (arg === '--json') json = true;
    else if (arg === '--format' || arg.startsWith('--format=')) {
      const value = arg.includes('=') ? arg.slice('--format='.length) : argv[++i];
      if (!IMPORT_FORMATS.includes(value as ImportFormat)) {
        deps.stderr.write(`task-orchestrator import: --format must be one of ${IMPORT_FORMATS.join(', ')}\n`);
        return 2;
      }
      format = value as ImportFormat;
    } else if (arg.startsWith('--')) {
      deps.stderr.write(`task-orchestrator import: unknown option ${arg}. Try import --help.\n`);
      return 2;
    } else files.push(arg);
  }
  if (files.length === 0) {
    deps.stderr.write(`task-orchestrator import: name at least one file.\n${IMPORT_HELP}`);
    return 2;
  }
  const importer = new TaskImporter({ store: deps.store, clock: deps.clock });
  let failed = 0;
  for (const file of files) {
    let result: ImportResult;
    try {
      result = await importer.run({ path: file, format });
    } catch (err) {
      failed += 1;
      const message = err instanceof AppError ? `${err.code}: ${err.message}` : `internal: ${err instanceof Error ? err.message : String(err)}`;
      deps.stderr.write(`${file}: ${message}\n`);
      continue;
    }
    if (json) deps.stdout.write(`${JSON.stringify({ file, ...result })}\n`);
    else {
      deps.stdout.write(`${file}: ${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged, ${result.skipped.length} skipped\n`);
      for (const s of result.skipped) deps.stdout.write(`  skipped ${s.item}: ${s.reason}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}
