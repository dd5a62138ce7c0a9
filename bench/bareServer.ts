#!/usr/bin/env node
// The baselines for bench/stdio.ts: a bare SDK server with one echo tool and, when
// BENCH_PAYLOAD names a JSON file, a `payload` tool that returns that fixed result (the same
// bytes tasks_list answered), so the payload's own cost can be told from our server's.
import fs from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'bare-echo', version: '1.0.0' });
server.registerTool('echo', { description: 'Echo', inputSchema: { text: z.string() } }, async ({ text }) => ({
  content: [{ type: 'text', text }],
}));
const payloadFile = process.env.BENCH_PAYLOAD;
if (payloadFile) {
  const payload = JSON.parse(fs.readFileSync(payloadFile, 'utf8')) as { content: Array<{ type: 'text'; text: string }>; structuredContent: Record<string, unknown> };
  server.registerTool('payload', { description: 'Fixed result' }, async () => payload);
}
await server.connect(new StdioServerTransport());
