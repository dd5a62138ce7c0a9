#!/usr/bin/env node
import { runCli } from '../cli.js';

// The only module with side effects: everything else is built from explicit dependencies.
runCli(process.argv.slice(2), process.env).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`task-orchestrator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
