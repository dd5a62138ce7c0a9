import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ManualClock } from '../src/clock.js';
import { openDatabase } from '../src/db/database.js';
import { TaskImporter } from '../src/tasks/import/importer.js';
import { TaskStore, taskMigrations } from '../src/tasks/taskStore.js';

/**
 * Import benchmark (issue 17): a generated 10,000-event ICS (Outlook-style TZIDs, every tenth
 * event recurring with an EXDATE) and a generated 50 MB mbox (mails with attachments). Each
 * import runs in a child process of its own, so its peak RSS (getrusage maxrss) is its own;
 * the baseline is the same child's RSS after start-up and opening the database, before importing.
 * Environment: IMPORT_BENCH_EVENTS, IMPORT_BENCH_MBOX_MB.
 */

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

function writeIcs(file: string, events: number): void {
  const out = fs.openSync(file, 'w');
  fs.writeSync(out, 'BEGIN:VCALENDAR\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n');
  const zones = ['W. Europe Standard Time', 'Europe/Berlin', 'Pacific Standard Time', 'UTC'];
  for (let i = 0; i < events; i++) {
    const zone = zones[i % zones.length]!;
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 28)).padStart(2, '0');
    const start = zone === 'UTC' ? `DTSTART:2027${month}${day}T100000Z` : `DTSTART;TZID=${zone}:2027${month}${day}T100000`;
    const recurring = i % 10 === 0 ? `RRULE:FREQ=WEEKLY;COUNT=30\r\nEXDATE;TZID=Europe/Berlin:2027${month}${day}T100000\r\n` : '';
    fs.writeSync(
      out,
      `BEGIN:VEVENT\r\nUID:bench-${i}@example.com\r\nDTSTAMP:20261101T000000Z\r\n${start}\r\nSUMMARY:Meeting ${i}\r\n` +
        `DESCRIPTION:Agenda for meeting ${i}\\, with notes\\nsecond line of a longer description that Outlook\r\n  folds.\r\n` +
        `${recurring}LOCATION:Room ${i % 40}\r\nPRIORITY:${1 + (i % 9)}\r\nEND:VEVENT\r\n`,
    );
  }
  fs.writeSync(out, 'END:VCALENDAR\r\n');
  fs.closeSync(out);
}

function writeMbox(file: string, megabytes: number): number {
  const attachment = Buffer.alloc(60_000, 'quarterly figures 2026 ').toString('base64').replace(/.{76}/g, '$&\n');
  const out = fs.openSync(file, 'w');
  let n = 0;
  while (fs.fstatSync(out).size < megabytes * 1024 * 1024) {
    n += 1;
    fs.writeSync(
      out,
      `From sender${n}@example.com Mon Nov 23 10:00:00 2026\nFrom: =?UTF-8?Q?J=C3=B6rg_${n}?= <sender${n}@example.com>\nSubject: Report ${n}: please review by Friday\n` +
        `Date: Mon, 23 Nov 2026 10:00:00 +0100\nMessage-ID: <bench-${n}@example.com>\nX-Priority: ${1 + (n % 5)}\nMIME-Version: 1.0\n` +
        `Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; charset=utf-8\n\nHello,\n\nplease review report ${n} by Friday.\n>From the archive.\n\n--b\n` +
        `Content-Type: application/octet-stream; name="report.bin"\nContent-Transfer-Encoding: base64\n\n${attachment}\n--b--\n\n`,
    );
  }
  fs.closeSync(out);
  return n;
}

interface ChildReport {
  ms: number;
  baselineRssMb: number;
  peakRssMb: number;
  /** The longest the event loop was blocked during the import (other tool calls wait that long). */
  maxBlockMs: number;
  created: number;
  skipped: number;
}

/** In the child: open a fresh database, import one file, report time and memory as JSON. */
async function child(file: string, dbFile: string): Promise<void> {
  const db = openDatabase(dbFile, { migrations: taskMigrations });
  const clock = new ManualClock(NOW);
  const importer = new TaskImporter({ store: new TaskStore(db, clock), clock });
  const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const t0 = performance.now();
  const r = await importer.run({ path: file });
  const ms = performance.now() - t0;
  delay.disable();
  db.close();
  const report: ChildReport = { ms, baselineRssMb, peakRssMb: process.resourceUsage().maxRSS / 1024, maxBlockMs: delay.max / 1e6, created: r.created, skipped: r.skipped.length };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(file: string, dbFile: string): Promise<ChildReport> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', file, dbFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildReport) : reject(new Error(`import child exited ${code}`)))),
  );
}

export async function run(): Promise<void> {
  const events = Number(process.env.IMPORT_BENCH_EVENTS ?? 10_000);
  const mboxMb = Number(process.env.IMPORT_BENCH_MBOX_MB ?? 50);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'to-bench-import-'));
  try {
    const ics = path.join(dir, 'calendar.ics');
    writeIcs(ics, events);
    const mbox = path.join(dir, 'inbox.mbox');
    const messages = writeMbox(mbox, mboxMb);
    const size = (f: string) => `${(fs.statSync(f).size / 1024 / 1024).toFixed(1)} MB`;
    for (const [label, file, items] of [[`ICS, ${events} events`, ics, events], [`mbox, ${messages} messages`, mbox, messages]] as const) {
      const r = await runChild(file, path.join(dir, `${path.basename(file)}.db`));
      console.log(
        `  ${label} (${size(file)}): ${(r.ms / 1000).toFixed(2)} s (${Math.round(items / (r.ms / 1000))} items/s), ` +
          `peak RSS ${r.peakRssMb.toFixed(0)} MB (baseline ${r.baselineRssMb.toFixed(0)} MB, +${(r.peakRssMb - r.baselineRssMb).toFixed(0)} MB), ` +
          `event loop blocked at most ${r.maxBlockMs.toFixed(0)} ms at a time, ${r.created} created, ${r.skipped} skipped`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child' && process.argv[1] === fileURLToPath(import.meta.url)) {
  await child(process.argv[3]!, process.argv[4]!);
}
