import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, REPO_ROOT } from '../helpers/paths.js';
import { startServer } from '../helpers/serverProcess.js';

const run = promisify(execFile);

/**
 * What `npm publish` would ship: pack the project (dist/ is already built, so no scripts), look at
 * the tarball, unpack it elsewhere and run its bin the way an MCP client would.
 */
describe('the npm package', () => {
  let tarball: string;
  let entries: string[];
  let packageDir: string;
  let bin: string;
  const repoPkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

  beforeAll(async () => {
    const dest = makeTempDir('to-pack-');
    const packed = await run('npm', ['pack', '--pack-destination', dest, '--ignore-scripts', '--json'], { cwd: REPO_ROOT, env: process.env });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    tarball = path.join(dest, info!.filename);
    entries = (await run('tar', ['-tzf', tarball])).stdout.split('\n').filter(Boolean);

    const extractTo = makeTempDir('to-unpacked-');
    await run('tar', ['-xzf', tarball, '-C', extractTo]);
    packageDir = path.join(extractTo, 'package');
    // Stand-in for `npm install`: the installed package's dependencies resolve from here.
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(packageDir, 'node_modules'), 'dir');
    const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    bin = path.join(packageDir, pkg.bin['task-orchestrator']!);
  }, 60_000);

  afterAll(() => {
    if (packageDir) fs.rmSync(path.dirname(packageDir), { recursive: true, force: true });
    if (tarball) fs.rmSync(path.dirname(tarball), { recursive: true, force: true });
  });

  it('ships the built bin, package.json, README and LICENSE, and no sources or tests', () => {
    expect(path.basename(tarball)).toBe(`${repoPkg.name}-${repoPkg.version}.tgz`);
    for (const file of ['package/dist/bin/task-orchestrator.js', 'package/package.json', 'package/README.md', 'package/LICENSE']) {
      expect(entries, file).toContain(file);
    }
    const offending = entries.filter(
      (e) =>
        /^package\/(tests|src|bench|coverage|node_modules|\.github|\.ci)\//.test(e) ||
        /^package\/dist\/(tests|bench)\//.test(e) ||
        (e.endsWith('.ts') && !e.endsWith('.d.ts')) ||
        /(^|\/)(tsconfig[^/]*\.json|vitest\.config\.[jt]s|\.env[^/]*|[^/]*\.db)$/.test(e),
    );
    expect(offending).toEqual([]);
    // The bin is a node script (npm links it as `task-orchestrator`).
    expect(bin).toBe(path.join(packageDir, 'dist', 'bin', 'task-orchestrator.js'));
    expect(fs.readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('ships only the bundle built now: the bin and chunks it reaches, no stale or unbuilt files', () => {
    const shipped = entries.filter((e) => e.startsWith('package/dist/') && e.endsWith('.js'));
    expect(shipped.every((e) => e.startsWith('package/dist/bin/'))).toBe(true);
    // Every chunk is imported by some shipped file (a chunk of a deleted module would not be).
    const texts = new Map(shipped.map((e) => [e, fs.readFileSync(path.join(path.dirname(packageDir), e), 'utf8')]));
    const orphans = shipped
      .filter((e) => !e.endsWith('/task-orchestrator.js'))
      .filter((e) => ![...texts].some(([other, text]) => other !== e && text.includes(`./${path.basename(e)}`)));
    expect(orphans).toEqual([]);
  });

  it('the unpacked bin prints its version and help', async () => {
    const [version, help] = await Promise.all([run(process.execPath, [bin, '--version']), run(process.execPath, [bin, '--help'])]);
    expect(version.stdout).toBe(`${repoPkg.version}\n`);
    expect(help.stdout).toMatch(/GEMINI_API_KEY/);
  });

  it('the unpacked bin serves MCP over stdio: lists tools and adds a task', async () => {
    const server = await startServer({ TASK_ORCHESTRATOR_HOME: makeTempDir() }, { bin });
    try {
      const version = server.client.getServerVersion();
      expect(version?.version).toBe(repoPkg.version);
      const { tools } = await server.client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['spawn_agent', 'tasks_add', 'tasks_list', 'trials_export']));
      const added = await server.client.callTool({ name: 'tasks_add', arguments: { title: 'Installed from the tarball' } });
      expect(added.isError, JSON.stringify(added.content)).toBeFalsy();
      expect((added.structuredContent as { task: { title: string } }).task.title).toBe('Installed from the tarball');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.transport.invalidStdoutLines).toEqual([]);
  });
});
