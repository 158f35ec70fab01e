import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { PrepPushError } from '../../src/core/errors.js';
import { acquireLock, type LockHolder } from '../../src/ledger/lock.js';
import { lockPath } from '../../src/core/state-dir.js';
import { transpileForChild } from '../helpers/child-modules.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prep-push-lock-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function rejection(promise: Promise<unknown>): Promise<PrepPushError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrepPushError);
  return error as PrepPushError;
}

/** The pid of a process that has certainly exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((res) => child.on('exit', res));
  return child.pid as number;
}

async function writeLock(stateDir: string, holder: LockHolder): Promise<void> {
  await writeFile(lockPath(stateDir), `${JSON.stringify(holder)}\n`);
}

const entries = async (dir: string) => (await readdir(dir)).sort();

describe('state dir lock', () => {
  test('a second acquire fails with kind lock (exit 3), naming the holder and the lock file', async () => {
    const dir = await tempDir();
    const first = await acquireLock(dir, { command: 'cut' });
    expect(JSON.parse(await readFile(lockPath(dir), 'utf8'))).toEqual(first.holder);
    expect(first.holder).toMatchObject({ pid: process.pid, host: hostname(), command: 'cut' });

    const error = await rejection(acquireLock(dir, { command: 'push' }));
    expect(error.kind).toBe('lock');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe(
      `the state dir ${dir} is locked by pid ${process.pid} on ${hostname()} (prep-push cut since ${first.holder.startedAt})`,
    );
    // A dead holder on this host is taken over: the hint must not send anyone to delete the lock.
    expect(error.hint).toBe('another run is in progress; wait for it (a lock whose process has ended is taken over automatically)');
    // The failed attempt left nothing behind.
    expect(await entries(dir)).toEqual(['lock']);
    await first.release();
  });

  test('release then acquire works; release twice is harmless; nothing is left behind', async () => {
    const dir = await tempDir();
    const first = await acquireLock(dir, { command: 'cut' });
    expect(first.tookOverFrom).toBeNull();
    await first.release();
    await first.release();
    expect(await entries(dir)).toEqual([]);
    const second = await acquireLock(dir, { command: 'status' });
    expect(second.holder.command).toBe('status');
    await second.release();
    expect(await entries(dir)).toEqual([]);
  });

  test('the state dir is created when missing', async () => {
    const dir = join(await tempDir(), 'nested', 'state');
    const handle = await acquireLock(dir, { command: 'cut' });
    expect(await entries(dir)).toEqual(['lock']);
    await handle.release();
  });

  test('a lock of a dead pid on this host is taken over', async () => {
    const dir = await tempDir();
    const pid = await deadPid();
    await writeLock(dir, { pid, host: hostname(), command: 'cut', startedAt: '2024-06-03T02:20:00.000Z' });
    const handle = await acquireLock(dir, { command: 'cut' });
    expect(handle.tookOverFrom).toMatchObject({ pid, command: 'cut' });
    expect(JSON.parse(await readFile(lockPath(dir), 'utf8')).pid).toBe(process.pid);
    expect(await entries(dir)).toEqual(['lock']);
    await handle.release();
  });

  test('a lock naming this very pid, not taken by this process, was left by an earlier process: stale', async () => {
    const dir = await tempDir();
    await writeLock(dir, { pid: process.pid, host: hostname(), command: 'cut', startedAt: '2024-06-03T02:20:00.000Z' });
    const handle = await acquireLock(dir, { command: 'push' });
    expect(JSON.parse(await readFile(lockPath(dir), 'utf8')).command).toBe('push');
    await handle.release();
  });

  test('a lock from another host is never taken over, even if that pid is free here', async () => {
    const dir = await tempDir();
    const pid = await deadPid();
    await writeLock(dir, { pid, host: 'prep-otro-servidor', command: 'cut', startedAt: '2024-06-03T02:20:00.000Z' });
    const error = await rejection(acquireLock(dir, { command: 'cut' }));
    expect(error.kind).toBe('lock');
    expect(error.message).toContain(`locked by pid ${pid} on prep-otro-servidor (prep-push cut since 2024-06-03T02:20:00.000Z)`);
    expect(error.message).toContain('another host is never taken over automatically');
    expect(JSON.parse(await readFile(lockPath(dir), 'utf8')).host).toBe('prep-otro-servidor');
  });

  test('a lock of a live pid on this host is respected', async () => {
    const dir = await tempDir();
    await writeLock(dir, { pid: 4242, host: 'h', command: 'push', startedAt: '2024-06-03T02:20:00.000Z' });
    const error = await rejection(acquireLock(dir, { command: 'cut' }, { hostname: 'h', pid: 7, isProcessAlive: () => true }));
    expect(error.message).toContain('locked by pid 4242 on h (prep-push push since');
  });

  test.each([
    ['empty', ''],
    ['not JSON', '\0\0\0\0'],
    ['JSON without a pid', '{"host":"h"}'],
  ])('an unreadable lock file (%s) is held while young, stale after a few seconds', async (_name, text) => {
    const dir = await tempDir();
    await writeFile(lockPath(dir), text);
    const error = await rejection(acquireLock(dir, { command: 'cut' }));
    expect(error.kind).toBe('lock');
    expect(error.message).toMatch(/locked by an unreadable lock file/);

    const later = Date.now() + 10_000;
    const handle = await acquireLock(dir, { command: 'cut' }, { now: () => later });
    expect(handle.holder.startedAt).toBe(new Date(later).toISOString());
    await handle.release();
  });

  test('release does not remove a lock another run has taken over', async () => {
    const dir = await tempDir();
    const deps = { hostname: 'h', isProcessAlive: () => false };
    const gone = await acquireLock(dir, { command: 'cut' }, { ...deps, pid: 111 });
    const next = await acquireLock(dir, { command: 'cut' }, { ...deps, pid: 222 });
    await gone.release();
    expect(JSON.parse(await readFile(lockPath(dir), 'utf8')).pid).toBe(222);
    await next.release();
    expect(await entries(dir)).toEqual([]);
  });

  test('an unusable state dir is an io error naming it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), '');
    const stateDir = join(dir, 'file', 'state');
    const error = await rejection(acquireLock(stateDir, { command: 'cut' }));
    expect(error.kind).toBe('io');
    expect(error.message).toContain(stateDir);
  });
});

// Waits for "go" on stdin, tries the lock, says "won" or "lost KIND", and holds a won lock until
// stdin closes, so the loser cannot mistake an exited winner for a stale lock.
const CHILD = `
import { acquireLock } from './src/ledger/lock.js';
const stateDir = process.argv[2];
process.stdin.once('data', async () => {
  let handle = null;
  try {
    handle = await acquireLock(stateDir, { command: 'cut' });
    process.stdout.write('won\\n');
  } catch (error) {
    process.stdout.write('lost ' + (error.kind ?? error.message) + '\\n');
  }
  process.stdin.once('end', async () => {
    if (handle) await handle.release();
  });
  process.stdin.resume();
});
process.stdout.write('ready\\n');
`;

function startRacer(script: string, stateDir: string) {
  const child = spawn(process.execPath, [script, stateDir]) as ChildProcessWithoutNullStreams;
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    waiters.forEach((w) => w());
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  /** The first `count` whole lines of stdout. */
  const lines = (count: number) =>
    new Promise<string[]>((res, rej) => {
      const check = () => {
        const got = stdout.split('\n').slice(0, -1);
        if (got.length >= count) res(got);
      };
      waiters.push(check);
      void exited.then(() => rej(new Error(`racer exited early: ${stdout} ${stderr}`)));
      check();
    });
  return { child, ready: lines(1), result: lines(2).then((l) => l[1]), exited, stderr: () => stderr };
}

describe('state dir lock, raced by two processes', () => {
  let script: string;
  beforeAll(async () => {
    const work = await tempDir();
    await transpileForChild(work, ['src/core/errors.ts', 'src/core/cut.ts', 'src/core/state-dir.ts', 'src/ledger/lock.ts']);
    script = join(work, 'racer.mjs');
    await writeFile(script, CHILD);
  });

  async function race(stateDir: string): Promise<string[]> {
    const racers = [startRacer(script, stateDir), startRacer(script, stateDir)];
    await Promise.all(racers.map((r) => r.ready));
    for (const r of racers) r.child.stdin.write('go\n');
    const results = await Promise.all(racers.map((r) => r.result));
    for (const r of racers) r.child.stdin.end();
    expect(await Promise.all(racers.map((r) => r.exited))).toEqual([0, 0]);
    expect(racers.map((r) => r.stderr())).toEqual(['', '']);
    return results.sort();
  }

  // LOCK_RACE_ROUNDS=200 for a longer hunt.
  const ROUNDS = Number(process.env.LOCK_RACE_ROUNDS ?? 20);

  test(`a free lock: exactly one of two wins, ${ROUNDS} times`, async () => {
    const stateDir = join(await tempDir(), 'state');
    for (let round = 0; round < ROUNDS; round += 1) {
      expect(await race(stateDir)).toEqual(['lost lock', 'won']);
      expect(await entries(stateDir)).toEqual([]);
    }
  });

  test(`a stale lock: exactly one of two takes it over, ${ROUNDS} times`, async () => {
    const stateDir = await tempDir();
    const pid = await deadPid();
    for (let round = 0; round < ROUNDS; round += 1) {
      await writeLock(stateDir, { pid, host: hostname(), command: 'cut', startedAt: '2024-06-03T02:20:00.000Z' });
      expect(await race(stateDir)).toEqual(['lost lock', 'won']);
      expect(await entries(stateDir)).toEqual([]);
    }
  });
});
