import fs from 'node:fs';
import path from 'node:path';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { openDatabase, type Db } from '../../../src/db/database.js';
import { WalSync, type Fsync } from '../../../src/db/walSync.js';
import { createLogger } from '../../../src/logger.js';
import { createServer } from '../../../src/server.js';
import { ALL_TOOLS } from '../../../src/tools/registry.js';
import { makeTempDir } from '../../helpers/paths.js';

/** An fsync the test releases by hand, recording what each call could see when it started. */
class GatedFsync {
  readonly calls: Array<{ fd: number; rowsAtStart: number; release: (err?: Error) => void }> = [];
  /** Once set, every fsync (pending or new) succeeds at once. */
  private open = false;
  constructor(private readonly rows: () => number) {}
  readonly fn: Fsync = (fd) =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({ fd, rowsAtStart: this.rows(), release: (err) => (err ? reject(err) : resolve()) });
      if (this.open) resolve();
    });
  openUp(): void {
    this.open = true;
    for (const call of this.calls) call.release();
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

let dir: string;
let db: Db;

beforeEach(() => {
  dir = makeTempDir('to-walsync-');
  db = openDatabase(path.join(dir, 'db.sqlite'), { migrations: [{ id: 'test/001', sql: 'CREATE TABLE t (v INTEGER)' }] });
});
afterEach(() => {
  if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rows = () => (db.prepare('SELECT COUNT(*) FROM t').pluck().get() as number);
const write = () => db.prepare('INSERT INTO t (v) VALUES (1)').run();

describe('WalSync (group commit)', () => {
  it('commits with synchronous=NORMAL once migrations are done', () => {
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('does no I/O when nothing was written since the last fsync', async () => {
    const gate = new GatedFsync(rows);
    const sync = new WalSync(db, gate.fn);
    await sync.sync();
    expect(gate.calls).toHaveLength(0);
  });

  it('fsyncs the WAL file after a write, and not again until the next write', async () => {
    const gate = new GatedFsync(rows);
    const sync = new WalSync(db, gate.fn);
    write();
    let resolved = false;
    const pending = sync.sync().then(() => (resolved = true));
    await flush();
    expect(gate.calls).toHaveLength(1);
    expect(fs.fstatSync(gate.calls[0]!.fd).ino).toBe(fs.statSync(`${db.name}-wal`).ino);
    expect(resolved).toBe(false); // not durable until the fsync has finished
    gate.calls[0]!.release();
    await pending;
    await sync.sync();
    expect(gate.calls).toHaveLength(1);
    write();
    const again = sync.sync();
    await flush();
    gate.calls[1]!.release();
    await again;
    expect(gate.calls).toHaveLength(2);
  });

  it('shares fsyncs among concurrent callers, and a write during an fsync gets one that starts after it', async () => {
    const gate = new GatedFsync(rows);
    const sync = new WalSync(db, gate.fn);
    write();
    const first = Array.from({ length: 10 }, () => sync.sync());
    await flush();
    expect(gate.calls).toHaveLength(1);
    // Written while the first fsync is in flight: that fsync may not cover it.
    write();
    const second = Array.from({ length: 10 }, () => sync.sync());
    await flush();
    expect(gate.calls).toHaveLength(1);
    gate.calls[0]!.release();
    await Promise.all(first);
    await flush();
    expect(gate.calls).toHaveLength(2);
    expect(gate.calls[1]!.rowsAtStart).toBe(2);
    let secondDone = false;
    void Promise.all(second).then(() => (secondDone = true));
    await flush();
    expect(secondDone).toBe(false);
    gate.calls[1]!.release();
    await Promise.all(second);
    expect(gate.calls).toHaveLength(2);
  });

  it('a failed fsync fails its waiters and every later sync: a retry that "succeeds" proves nothing', async () => {
    const gate = new GatedFsync(rows);
    const sync = new WalSync(db, gate.fn);
    write();
    const failing = sync.sync();
    await flush();
    gate.calls[0]!.release(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(failing).rejects.toThrow(/fsync of the database failed \(EIO/);
    write();
    await expect(sync.sync()).rejects.toThrow('EIO');
    expect(gate.calls).toHaveLength(1);
  });

  it('callers queued behind the fsync that fails share its failure, not a later "success"', async () => {
    const gate = new GatedFsync(rows);
    const sync = new WalSync(db, gate.fn);
    write();
    const first = sync.sync();
    await flush();
    write(); // committed while the first fsync is in flight: queued for the next one
    const queued = sync.sync();
    gate.calls[0]!.release(new Error('EIO: i/o error, fsync'));
    await expect(first).rejects.toThrow('EIO');
    await expect(queued).rejects.toThrow('EIO');
    expect(gate.calls).toHaveLength(1);
  });

  it('fsyncs for real by default, and close() waits for it', async () => {
    const sync = new WalSync(db);
    write();
    await sync.sync();
    write();
    const pending = sync.sync();
    await sync.close();
    await pending;
    await sync.sync(); // closed: a no-op
  });
});

describe('tool answers wait for the fsync', () => {
  let app: App;
  let client: Client;
  let gate: GatedFsync;

  beforeEach(async () => {
    const config = loadConfig({ TASK_ORCHESTRATOR_HOME: dir, LOG_LEVEL: 'error' });
    const logger = createLogger({ level: 'error', write: () => {} });
    gate = new GatedFsync(() => 0);
    app = await createApp({ config, logger, fsync: gate.fn });
    const server = createServer({ config, logger, services: async () => app.services }, ALL_TOOLS);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.mcp.connect(serverSide);
    client = new Client({ name: 'test', version: '1' });
    await client.connect(clientSide);
  });
  afterEach(async () => {
    gate.openUp();
    await client.close();
    await app.close();
  });

  it('a write is fsynced before the tool answers; a read answers without one', async () => {
    let answered = false;
    const adding = client.callTool({ name: 'tasks_add', arguments: { title: 'durable' } }).then((r) => ((answered = true), r));
    await expect.poll(() => gate.calls.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    gate.calls[0]!.release();
    const added = await adding;
    expect(added.isError).toBeFalsy();

    const listed = await client.callTool({ name: 'tasks_list', arguments: {} });
    expect((listed.structuredContent as { total: number }).total).toBe(1);
    expect(gate.calls).toHaveLength(1);
  });

  it('an fsync that fails turns the answer into an error that says so', async () => {
    const adding = client.callTool({ name: 'tasks_add', arguments: { title: 'maybe lost' } });
    await expect.poll(() => gate.calls.length).toBe(1);
    gate.calls[0]!.release(new Error('EIO: i/o error, fsync'));
    const result = await adding;
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/could not be made durable: fsync of the database failed \(EIO.*may not survive a power loss; restart the server/);
  });
});
