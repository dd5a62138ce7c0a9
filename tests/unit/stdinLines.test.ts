import { describe, expect, it } from 'vitest';
import { BoundedLines, requestIdFrom } from '../../src/stdinLines.js';

type Ends = { head: string; tail: string };

async function feed(chunks: string[], maxBytes: number): Promise<{ lines: string[]; oversize: Array<[Ends, number]> }> {
  const oversize: Array<[Ends, number]> = [];
  const stream = new BoundedLines(maxBytes, (ends, bytes) => oversize.push([ends, bytes]));
  const out: Buffer[] = [];
  stream.on('data', (b: Buffer) => out.push(b));
  for (const c of chunks) stream.write(Buffer.from(c));
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  return { lines: out.map((b) => b.toString()), oversize };
}

describe('BoundedLines', () => {
  it('passes lines on whole, however the chunks split them', async () => {
    const { lines, oversize } = await feed(['{"a"', ':1}\n{"b":2}\n{"c"', '', ':3}\r\n\n'], 100);
    expect(lines).toEqual(['{"a":1}\n', '{"b":2}\n', '{"c":3}\r\n']);
    expect(oversize).toEqual([]);
  });

  it('drops a line over the limit alone, reporting its ends and size', async () => {
    const big = `{"method":"tools/call","params":{"arguments":{"id":3,"t":"${'z'.repeat(2_000)}"}},"jsonrpc":"2.0","id":7}`;
    const { lines, oversize } = await feed(['{"ok":1}\n', big.slice(0, 700), big.slice(700, 2_000), big.slice(2_000), '\n{"ok":2}\n'], 1_000);
    expect(lines).toEqual(['{"ok":1}\n', '{"ok":2}\n']);
    expect(oversize).toHaveLength(1);
    const [ends, bytes] = oversize[0]!;
    expect(bytes).toBe(big.length);
    expect(ends).toEqual({ head: big.slice(0, 512), tail: big.slice(-512) });
    expect(requestIdFrom(ends)).toBe(7);
  });

  it('reads the top-level request id, first or last, never a nested one', () => {
    const at = (head: string, tail = head) => requestIdFrom({ head, tail });
    expect(at('{"jsonrpc":"2.0","id":"abc\\"d","method":"x"')).toBe('abc"d');
    expect(at('{ "id" : -3, "method":')).toBe(-3);
    expect(at('{"method":"tools/call","params":{"arguments":{"id":3}},"jsonrpc":"2.0","id":12}\r')).toBe(12);
    expect(at('{"method":"tools/call","params":{"arguments":{"id":3}}}')).toBeUndefined();
    expect(at('{"jsonrpc":"2.0","method":"notifications/x"}')).toBeUndefined();
  });
});
