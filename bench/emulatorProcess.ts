import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startGeminiEmulator } from '../tests/helpers/geminiEmulator.js';

/**
 * The Gemini emulator in a process of its own, for wall-time benchmarks: the real API spends no
 * CPU of ours, and an emulator sharing our event loop would bill its own work to the pipeline.
 * Commands travel as lines on stdin; each gets one line back on stdout.
 */
export interface EmulatorProcess {
  url: string;
  /** Forgets recorded requests and the in-flight high-water mark. */
  reset(): Promise<void>;
  /** The most requests the emulator had in flight at once since the last reset. */
  maxInFlight(): Promise<number>;
  close(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

export async function startEmulatorProcess(latencyMs: number): Promise<EmulatorProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [path.join(here, 'emulatorProcess.js'), String(latencyMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (command?: string): Promise<string> => {
    if (command !== undefined) child.stdin.write(`${command}\n`);
    const line = await lines.next();
    if (line.done) throw new Error(`the emulator process ended: ${stderr.slice(0, 500)}`);
    return line.value;
  };
  const url = await ask();
  return {
    url,
    reset: async () => void (await ask('reset')),
    maxInFlight: async () => Number(await ask('max-in-flight')),
    close: async () => {
      child.stdin.end();
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    },
  };
}

// Started as a script: serve, print the URL, then answer commands until stdin closes.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const emulator = await startGeminiEmulator({ latencyMs: Number(process.argv[2] ?? 100) });
  process.stdout.write(`${emulator.url}\n`);
  for await (const command of readline.createInterface({ input: process.stdin })) {
    if (command === 'reset') {
      emulator.reset();
      process.stdout.write('ok\n');
    } else if (command === 'max-in-flight') {
      process.stdout.write(`${emulator.maxInFlight}\n`);
    } else {
      process.stdout.write(`unknown command ${command}\n`);
    }
  }
  await emulator.close();
}
