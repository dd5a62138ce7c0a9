import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { ManualClock, systemClock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDatabase, type Db } from '../../src/db/database.js';
import { DeadOwnerSweep } from '../../src/deadOwnerSweep.js';
import { InstanceIdentity, instanceMigrations } from '../../src/instance.js';
import { createLogger } from '../../src/logger.js';
import { makeTempDir, REPO_ROOT } from '../helpers/paths.js';
import { waitFor as waitUntil } from '../helpers/wait.js';

const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

/** Polls until `condition` holds; fails with `what` once `timeoutMs` passed (a bound, not a speed claim). */
const waitFor = (what: string, condition: () => boolean | Promise<boolean>) => waitUntil(condition, 15_000, what);

function configFor(home: string, sweepIntervalMs?: number): Config {
  const base = loadConfig({ TASK_ORCHESTRATOR_HOME: home, LOG_LEVEL: 'error' });
  return sweepIntervalMs === undefined ? base : { ...base, sweep: { intervalMs: sweepIntervalMs } };
}

const quiet = createLogger({ level: 'error', write: () => {} });

/** A run that only ends when its server shuts down. */
const hanging = (signal: AbortSignal) => new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null)));

function reservationState(app: App, id: string): string | undefined {
  return (app.services.db.prepare('SELECT state FROM budget_reservations WHERE id = ?').get(id) as { state: string } | undefined)?.state;
}

describe('one instance identity per server', () => {
  const apps: App[] = [];
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
  });

  it("two apps on one database file in one process get different identities and each sees the other's rows as alive", async () => {
    const home = makeTempDir();
    const a = await createApp({ config: configFor(home), logger: quiet });
    const b = await createApp({ config: configFor(home), logger: quiet });
    apps.push(a, b);
    expect(a.services.instance.id).not.toBe(b.services.instance.id);
    expect(a.services.instance.pid).toBe(b.services.instance.pid);

    const work = (app: App) => {
      const trial = app.services.trials.create({ prompt: 'in flight' });
      app.services.trials.markRunning(trial.id);
      const runId = app.services.runs.start('test', hanging);
      const reservation = app.services.cost.reserve({ provider: 'google_gemini', model: 'gemini-2.5-flash', maxCostUsd: 0.25 });
      return { trialId: trial.id, runId, reservationId: reservation.id };
    };
    const ofA = work(a);
    const ofB = work(b);
    for (const app of [a, b]) {
      expect(app.services.trials.recoverInterrupted()).toBe(0);
      expect(app.services.runs.recoverInterrupted()).toBe(0);
      expect(app.services.cost.releaseStale()).toBe(0);
    }
    for (const [app, rows] of [[b, ofA], [a, ofB]] as const) {
      expect(app.services.trials.get(rows.trialId).status).toBe('running');
      expect((await app.services.runs.get(rows.runId)).status).toBe('running');
      expect(reservationState(app, rows.reservationId)).toBe('open');
    }

    // Once A has closed, what it left open is no longer alive: B takes it over.
    apps.splice(apps.indexOf(a), 1);
    await a.close();
    expect(b.services.trials.recoverInterrupted()).toBe(1);
    expect(b.services.trials.get(ofA.trialId)).toMatchObject({ status: 'errored', error_code: 'interrupted' });
    expect(b.services.cost.releaseStale()).toBe(1);
    expect(reservationState(b, ofA.reservationId)).toBe('expired');
    expect(b.services.trials.get(ofB.trialId).status).toBe('running');
    expect(reservationState(b, ofB.reservationId)).toBe('open');
  });

  it('uses the identity the caller passes', async () => {
    const instance = new InstanceIdentity({ clock: systemClock, id: 'server-one' });
    const app = await createApp({ config: configFor(makeTempDir()), logger: quiet, instance });
    apps.push(app);
    expect(app.services.instance).toBe(instance);
    const trial = app.services.trials.create({ prompt: 'p' });
    expect(app.services.db.prepare('SELECT owner_pid, owner_instance FROM trials WHERE id = ?').get(trial.id)).toEqual({
      owner_pid: process.pid,
      owner_instance: 'server-one',
    });
  });
});

describe('the owner rule', () => {
  let db: Db | undefined;
  afterEach(() => db?.close());
  const clock = new ManualClock();
  const joined = (opts: ConstructorParameters<typeof InstanceIdentity>[0]) => {
    const identity = new InstanceIdentity(opts);
    identity.join(db!);
    return identity;
  };

  it("a dead pid's rows are gone; a live process's are not; unrecorded owners are gone", () => {
    db = openDatabase(path.join(makeTempDir(), 'i.db'), { migrations: instanceMigrations });
    const self = joined({ clock });
    expect(self.isSelf({ pid: process.pid, instance: self.id })).toBe(true);
    expect(self.ownerIsGone({ pid: process.pid, instance: self.id })).toBe(false);
    expect(self.ownerIsGone({ pid: deadPid(), instance: 'crashed' })).toBe(true);
    expect(self.ownerIsGone({ pid: process.ppid, instance: 'another-live-server' })).toBe(false);
    expect(self.ownerIsGone({ pid: null, instance: null })).toBe(true);
  });

  it('tells a live sibling in this process from an earlier process that had our pid, and from a stopped instance', () => {
    db = openDatabase(path.join(makeTempDir(), 'i.db'), { migrations: instanceMigrations });
    const self = joined({ clock });
    // Not registered on this file: an earlier process with this pid (pid 1 in a container).
    expect(self.ownerIsGone({ pid: process.pid, instance: 'earlier-process-same-pid' })).toBe(true);
    const earlier = joined({ clock, processStartedMs: self.processStartedMs - 60_000 });
    expect(self.ownerIsGone({ pid: process.pid, instance: earlier.id })).toBe(true);

    const sibling = joined({ clock });
    expect(self.ownerIsGone({ pid: process.pid, instance: sibling.id })).toBe(false);
    expect(sibling.ownerIsGone({ pid: process.pid, instance: self.id })).toBe(false);
    sibling.leave();
    expect(self.ownerIsGone({ pid: process.pid, instance: sibling.id })).toBe(true);

    // Another process's instance that closed: its rows are gone though its pid lives on.
    const closedElsewhere = joined({ clock, pid: process.ppid });
    expect(self.ownerIsGone({ pid: process.ppid, instance: closedElsewhere.id })).toBe(false);
    closedElsewhere.leave();
    expect(self.ownerIsGone({ pid: process.ppid, instance: closedElsewhere.id })).toBe(true);
  });

  it('the sweep marks registered instances of dead processes as stopped', () => {
    db = openDatabase(path.join(makeTempDir(), 'i.db'), { migrations: instanceMigrations });
    const self = joined({ clock });
    const killed = joined({ clock, pid: deadPid() });
    joined({ clock, pid: process.ppid });
    expect(self.markDeadStopped()).toBe(1);
    expect(self.markDeadStopped()).toBe(0);
    expect(db.prepare('SELECT stopped_at_ms FROM server_instances WHERE id = ?').get(killed.id)).toEqual({ stopped_at_ms: clock.now() });
  });
});

describe('DeadOwnerSweep', () => {
  afterEach(() => vi.useRealTimers());

  it('runs every recovery each interval until stopped; one that throws is logged and the others still run', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    let runs = 0;
    const sweep = new DeadOwnerSweep({
      intervalMs: 1_000,
      logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
      recoveries: [
        { name: 'locked things', recover: () => { throw new Error('database is locked'); } },
        { name: 'counted', recover: () => ++runs },
      ],
    });
    sweep.start();
    sweep.start();
    vi.advanceTimersByTime(3_000);
    expect(runs).toBe(3);
    expect(lines.filter((l) => l.includes('could not recover locked things') && l.includes('database is locked'))).toHaveLength(3);
    sweep.stop();
    vi.advanceTimersByTime(5_000);
    expect(runs).toBe(3);
    sweep.stop();
  });

  it('TASK_ORCHESTRATOR_SWEEP_INTERVAL_MS sets the interval (default one minute)', () => {
    expect(loadConfig({ HOME: makeTempDir() }).sweep.intervalMs).toBe(60_000);
    expect(loadConfig({ HOME: makeTempDir(), TASK_ORCHESTRATOR_SWEEP_INTERVAL_MS: '250' }).sweep.intervalMs).toBe(250);
    expect(() => loadConfig({ HOME: makeTempDir(), TASK_ORCHESTRATOR_SWEEP_INTERVAL_MS: '0' })).toThrow(/TASK_ORCHESTRATOR_SWEEP_INTERVAL_MS/);
  });
});

const COMPILED_APP = path.join(REPO_ROOT, 'dist', 'src', 'app.js');
const haveBuild = fs.existsSync(COMPILED_APP);
if (!haveBuild) console.warn(`sweep tests across processes skipped: ${COMPILED_APP} is missing; run "npm run build" first.`);

describe.skipIf(!haveBuild)('a killed server beside a live one', () => {
  let survivor: App | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await survivor?.close();
  });

  it("the live server's periodic sweep ends the killed server's trial and run and frees its reservation, without a restart", async () => {
    const home = makeTempDir();
    survivor = await createApp({ config: configFor(home, 25), logger: quiet });
    child = spawn(process.execPath, [path.join(REPO_ROOT, 'tests', 'fixtures', 'sweepChild.mjs'), JSON.stringify({ home })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child!.on('exit', resolve));
    const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    const left = JSON.parse(first.value as string) as { pid: number; instance: string; trialId: string; runId: string; reservationId: string };
    expect(left.pid).toBe(child.pid);

    // Alive: the survivor's sweeps leave them alone.
    const { trials, runs, cost } = survivor.services;
    expect(trials.recoverInterrupted()).toBe(0);
    expect(runs.recoverInterrupted()).toBe(0);
    expect(cost.releaseStale()).toBe(0);
    expect(trials.get(left.trialId).status).toBe('running');

    child.kill('SIGKILL');
    await exited;
    await waitFor('the sweep to recover the killed server\'s rows', async () =>
      trials.get(left.trialId).status === 'errored' &&
      (await runs.get(left.runId)).status === 'interrupted' &&
      reservationState(survivor!, left.reservationId) === 'expired',
    );
    expect(trials.get(left.trialId)).toMatchObject({ error_code: 'interrupted', error_message: expect.stringMatching(/server stopped/) });
    expect((await runs.get(left.runId)).error).toMatch(/in progress/);
    await waitFor('the killed instance to be marked stopped', () =>
      (survivor!.services.db.prepare('SELECT stopped_at_ms FROM server_instances WHERE id = ?').get(left.instance) as { stopped_at_ms: number | null }).stopped_at_ms !== null,
    );
  });
});
