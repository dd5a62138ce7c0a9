import path from 'node:path';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** The domain: what the MCP layer calls, never what calls it (docs/architecture.md). */
const DOMAIN = ['agents/', 'providers/', 'resilience/', 'cost/', 'eval/', 'immune/', 'prediction/', 'alerting/', 'tasks/', 'runs/', 'time/', 'tracing/', 'db/'];
/** The outer layers: the transport, the composition root, the CLI and the tools. */
const OUTER = [/^tools\//, /^dashboard\//, /^server\.ts$/, /^stdioTransport\.ts$/, /^app\.ts$/, /^cli\.ts$/, /^bin\//];

describe('the dependency rule', () => {
  it('no module of the domain imports the tools, the server, the composition root or the CLI', async () => {
    const graph = (await madge(SRC, { fileExtensions: ['ts'], tsConfig: path.resolve(SRC, '../tsconfig.json') })).obj();
    expect(Object.keys(graph).length).toBeGreaterThan(100);
    const violations = Object.entries(graph).flatMap(([file, deps]) =>
      DOMAIN.some((d) => file.startsWith(d)) ? deps.filter((dep) => OUTER.some((o) => o.test(dep))).map((dep) => `${file} → ${dep}`) : [],
    );
    expect(violations).toEqual([]);
  });
});
