import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { fmt, percentile, ratio } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OURS = path.join(here, '..', 'bin', 'task-orchestrator.js');
const BARE = path.join(here, 'bareServer.js');

async function connect(script: string, env: Record<string, string>): Promise<{ client: Client; ms: number }> {
  const started = performance.now();
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [script], env: { PATH: process.env.PATH ?? '', ...env }, stderr: 'ignore' }),
  );
  return { client, ms: performance.now() - started };
}

/**
 * Issue 3's benchmark: tasks_list over 100 tasks against a bare SDK echo server, called
 * alternately in the same run, plus cold start to an answered initialize.
 */
export async function run(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'to-bench-'));
  const env = { TASK_ORCHESTRATOR_HOME: home, LOG_LEVEL: 'warn' };

  const coldOurs: number[] = [];
  const coldBare: number[] = [];
  for (let i = 0; i < 30; i++) {
    const a = await connect(OURS, env);
    coldOurs.push(a.ms);
    await a.client.close();
    const b = await connect(BARE, {});
    coldBare.push(b.ms);
    await b.client.close();
  }

  const ours = (await connect(OURS, env)).client;
  const bare = (await connect(BARE, {})).client;
  for (let i = 0; i < 100; i++) {
    await ours.callTool({ name: 'tasks_add', arguments: { title: `task ${i}`, priority: (['low', 'medium', 'high', 'critical'] as const)[i % 4], tags: [`t${i % 5}`] } });
  }
  // The same answer tasks_list gives, served as a constant by a bare server: the payload's floor.
  const sample = await ours.callTool({ name: 'tasks_list', arguments: { limit: 100 } });
  const payloadFile = path.join(home, 'payload.json');
  fs.writeFileSync(payloadFile, JSON.stringify({ content: sample.content, structuredContent: sample.structuredContent }));
  await bare.close();
  const bareWithPayload = (await connect(BARE, { BENCH_PAYLOAD: payloadFile })).client;
  await bareWithPayload.listTools();

  const oursMs: number[] = [];
  const bareMs: number[] = [];
  const payloadMs: number[] = [];
  const timed = async (into: number[], call: () => Promise<unknown>) => {
    const t = performance.now();
    await call();
    into.push(performance.now() - t);
  };
  const calls: Array<[number[], () => Promise<unknown>]> = [
    [oursMs, () => ours.callTool({ name: 'tasks_list', arguments: { limit: 100 } })],
    [bareMs, () => bareWithPayload.callTool({ name: 'echo', arguments: { text: 'hi' } })],
    [payloadMs, () => bareWithPayload.callTool({ name: 'payload', arguments: {} })],
  ];
  for (let i = 0; i < 2100; i++) {
    const warm = i < 100;
    // Rotated each round, so no server always runs right after the same neighbour (the order
    // alone moved a p50 by 15%: a call after a large answer finds caches and the scheduler colder).
    for (let k = 0; k < calls.length; k++) {
      const [into, call] = calls[(i + k) % calls.length]!;
      await timed(warm ? [] : into, call);
    }
  }
  await ours.close();
  await bareWithPayload.close();

  const p50o = percentile(oursMs, 50);
  const p50b = percentile(bareMs, 50);
  const coldO = percentile(coldOurs, 50);
  const coldB = percentile(coldBare, 50);
  console.log('stdio tool-call latency (2,000 calls each, alternating in rotated order; tasks_list returns 100 tasks)');
  console.log(`  tasks_list  p50 ${fmt(p50o)}  p99 ${fmt(percentile(oursMs, 99))}`);
  console.log(`  bare echo   p50 ${fmt(p50b)}  p99 ${fmt(percentile(bareMs, 99))}`);
  console.log(`  p50 ratio ${ratio(p50o, p50b)} (target <= 1.30x)`);
  const p50p = percentile(payloadMs, 50);
  console.log(`  bare server returning the same ${Buffer.byteLength(fs.readFileSync(payloadFile))}-byte answer as a constant: p50 ${fmt(p50p)}  p99 ${fmt(percentile(payloadMs, 99))}`);
  console.log(`  tasks_list vs that same-payload baseline: p50 ratio ${ratio(p50o, p50p)} (what our server adds beyond the bytes)`);
  fs.rmSync(home, { recursive: true, force: true });
  console.log(`cold start to initialize answered (median of 30, alternating): ours ${fmt(coldO)}, bare ${fmt(coldB)}, ratio ${ratio(coldO, coldB)} (target <= 1.30x)`);
}
