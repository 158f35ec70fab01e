// The delivery engine's decisions (order of writes, retries, deadlines, fan-out bookkeeping),
// driven through an in-memory SftpTransport passed in as a parameter.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { isPrepPushError } from '../../src/core/errors.js';
import { deliverToAll } from '../../src/delivery/deliver.js';
import type { ConnectOptions, RemoteStat, SftpSession, SftpTransport } from '../../src/sftp/session.js';
import type { DeliveryResult } from '../../src/delivery/types.js';
import { deliverToDifusor } from '../../src/delivery/deliver-one.js';
import { TEMP_FILE_PATTERN, temporaryNameFor } from '../../src/sftp/atomic-upload.js';
import type { BuiltPackage } from '../../src/package/types.js';
import type { Difusor, PushSettings } from '../../src/registry/types.js';
import { aDifusor } from '../helpers/builders.js';
import { resultsPlan, resultsDelivery } from '../helpers/delivery.js';

type Op = 'connect' | 'mkdirp' | 'readdir' | 'stat' | 'fastPut' | 'writeFile' | 'readSmallFile' | 'flushToDisk' | 'posixRename' | 'unlink' | 'close' | 'mkdir' | 'rmdir' | 'lstat' | 'chmod' | 'hardlink' | 'symlink' | 'readlink';

interface FakeBehaviour {
  /** Throw this from the given op (called with the op's arguments). */
  fail?: Partial<Record<Op, (arg: string) => unknown>>;
  /** Never settle this op (a frozen server); connect still honours its signal, as the real one does. */
  hang?: Op[];
  /** Report this size for temporary files (a truncating server). */
  statSizeOverride?: number;
  /** Directories that do not exist (every other path without a file is a directory). */
  missingDirs?: string[];
  /** The SFTP extensions the server advertises; default fsync and posix-rename. */
  extensions?: Record<string, string>;
}

/** An SFTP server in memory: files by path, a log of operations, live connection count. */
class FakeServer {
  readonly files = new Map<string, Buffer>();
  readonly log: string[] = [];
  connects = 0;
  live = 0;
  peakLive = 0;
  destroyed = 0;
  constructor(public behaviour: FakeBehaviour = {}) {}

  private step<T>(op: Op, arg: string, run: () => T | Promise<T>): Promise<T> {
    this.log.push(`${op} ${arg}`);
    if (this.behaviour.hang?.includes(op)) return new Promise<T>(() => {});
    const failure = this.behaviour.fail?.[op]?.(arg);
    if (failure !== undefined) return Promise.reject(failure);
    return Promise.resolve().then(run);
  }

  transport(): SftpTransport {
    return {
      connect: (difusor: Difusor, options: ConnectOptions) => {
        this.connects += 1;
        if (this.behaviour.hang?.includes('connect')) {
          return new Promise<SftpSession>((_, reject) => {
            options.signal?.addEventListener('abort', () => reject(options.signal?.reason));
            setTimeout(() => reject(Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' })), options.connectTimeoutMs);
          });
        }
        return this.step('connect', difusor.id, () => this.session());
      },
    };
  }

  private session(): SftpSession {
    this.live += 1;
    this.peakLive = Math.max(this.peakLive, this.live);
    let alive = true;
    const end = (): void => {
      if (alive) this.live -= 1;
      alive = false;
    };
    return {
      get alive() {
        return alive;
      },
      mkdirp: (dir) => this.step('mkdirp', dir, () => undefined),
      readdir: (dir) =>
        this.step('readdir', dir, () =>
          [...this.files.keys()].filter((p) => posix.dirname(p) === dir).map((p) => ({ name: posix.basename(p), size: this.files.get(p)!.length, mtime: 0, kind: 'file' as const })),
        ),
      stat: (path) =>
        this.step('stat', path, (): RemoteStat => {
          const data = this.files.get(path);
          if (!data && !TEMP_FILE_PATTERN.test(posix.basename(path)) && !this.behaviour.missingDirs?.includes(path)) {
            return { size: 4096, isDirectory: true };
          }
          if (!data) throw Object.assign(new Error('No such file'), { code: 2 });
          const temp = TEMP_FILE_PATTERN.test(posix.basename(path));
          return { size: temp && this.behaviour.statSizeOverride !== undefined ? this.behaviour.statSizeOverride : data.length, isDirectory: false };
        }),
      fastPut: (local, remote) => this.step('fastPut', remote, async () => void this.files.set(remote, await readFile(local))),
      writeFile: (remote, data) => this.step('writeFile', remote, () => void this.files.set(remote, Buffer.from(data))),
      readSmallFile: (remote) => this.step('readSmallFile', remote, () => this.files.get(remote)?.toString('utf8') ?? null),
      posixRename: (from, to) =>
        this.step('posixRename', `${from} -> ${to}`, () => {
          this.files.set(to, this.files.get(from)!);
          this.files.delete(from);
        }),
      unlink: (path) => this.step('unlink', path, () => void this.files.delete(path)),
      flushToDisk: (path) => this.step('flushToDisk', path, () => true),
      freeBytes: async () => undefined,
      extensions: () => this.behaviour.extensions ?? { 'fsync@openssh.com': '1', 'posix-rename@openssh.com': '1' },
      mkdir: (dir) => this.step('mkdir', dir, () => undefined),
      rmdir: (dir) => this.step('rmdir', dir, () => undefined),
      lstat: (path) => this.step('lstat', path, () => Promise.reject(Object.assign(new Error('No such file'), { code: 2 }))),
      chmod: (path) => this.step('chmod', path, () => undefined),
      hardlink: (from) => this.step('hardlink', from, () => Promise.reject(new Error('hardlink@openssh.com: not offered'))),
      symlink: (target) => this.step('symlink', target, () => undefined),
      readlink: (path) => this.step('readlink', path, () => Promise.reject(Object.assign(new Error('No such file'), { code: 2 }))),
      close: async () => {
        this.log.push('close');
        end();
      },
      destroy: () => {
        this.destroyed += 1;
        end();
      },
    };
  }
}

let work: string;
let pkg: BuiltPackage;
let sha256Text: string;

const settings = (overrides: Partial<PushSettings> = {}): PushSettings => ({
  concurrency: 4,
  connectTimeoutS: 5,
  transferTimeoutS: 30,
  retries: 0,
  ...overrides,
});
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:22'), { code: 'ECONNREFUSED', level: 'client-socket' });

function deliver(server: FakeServer, s: PushSettings, difusor = aDifusor('el-sol')): Promise<DeliveryResult> {
  return deliverToDifusor(resultsDelivery({ difusor, pkg, sha256Text, settings: s }), { transport: server.transport(), env: {}, clock: systemClock });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-push-engine-'));
  const file = join(work, 'PREP2024_MICH_20240602_2020.tar.gz');
  await writeFile(file, Buffer.alloc(1000, 7));
  sha256Text = `${'a'.repeat(64)}  PREP2024_MICH_20240602_2020.tar.gz\n`;
  await writeFile(`${file}.sha256`, sha256Text);
  pkg = {
    cutId: '20240602_2020',
    cutTime: '2024-06-02T20:20:00-06:00',
    format: 'tar.gz',
    file,
    fileName: 'PREP2024_MICH_20240602_2020.tar.gz',
    sha256File: `${file}.sha256`,
    sha256: 'a'.repeat(64),
    bytes: 1000,
    fileCount: 1,
  };
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

test('temporary names are hidden, of our pattern, and differ each time', () => {
  const a = temporaryNameFor('P.tar.gz');
  expect(a).toMatch(/^\.P\.tar\.gz\.prep-push-[0-9a-f]{12}\.part$/);
  expect(TEMP_FILE_PATTERN.test(a)).toBe(true);
  expect(temporaryNameFor('P.tar.gz')).not.toBe(a);
  expect(TEMP_FILE_PATTERN.test('P.tar.gz')).toBe(false);
  expect(TEMP_FILE_PATTERN.test('.their.part')).toBe(false);
});

test('uploads to temporary names, renames package, then .sha256, then LATEST last', async () => {
  const server = new FakeServer();
  server.files.set('/prep/.OLD.tar.gz.prep-push-0123456789ab.part', Buffer.from('stale'));
  const result = await deliver(server, settings());
  expect(result).toMatchObject({ id: 'el-sol', outcome: 'delivered', error: null, attempts: 1, bytes: 1000 });
  expect([...server.files.keys()].sort()).toEqual(['/prep/LATEST', `/prep/${pkg.fileName}`, `/prep/${pkg.fileName}.sha256`]);
  expect(server.files.get('/prep/LATEST')?.toString()).toBe(`${pkg.fileName}\n`);
  expect(server.files.get(`/prep/${pkg.fileName}.sha256`)?.toString()).toBe(sha256Text);
  const renames = server.log.filter((l) => l.startsWith('posixRename')).map((l) => l.split(' -> ')[1]);
  expect(renames).toEqual([`/prep/${pkg.fileName}`, `/prep/${pkg.fileName}.sha256`, '/prep/LATEST']);
  expect(server.log.indexOf('unlink /prep/.OLD.tar.gz.prep-push-0123456789ab.part')).toBeLessThan(server.log.findIndex((l) => l.startsWith('fastPut')));
  expect(server.log.filter((l) => l.startsWith('fastPut') || l.startsWith('writeFile')).every((l) => TEMP_FILE_PATTERN.test(posix.basename(l.split(' ')[1])))).toBe(true);
  expect(server.log.at(-1)).toBe('close');
  expect(server.live).toBe(0);
});

test('every uploaded file is set to 0644 before its rename; no fallback is named on a full OpenSSH-like server', async () => {
  const server = new FakeServer();
  const result = await deliver(server, settings());
  expect(result.fallbacks).toEqual([]);
  for (const rename of server.log.filter((l) => l.startsWith('posixRename'))) {
    const temp = rename.split(' ')[1];
    expect(server.log.indexOf(`chmod ${temp}`)).toBeGreaterThan(-1);
    expect(server.log.indexOf(`chmod ${temp}`)).toBeLessThan(server.log.indexOf(rename));
  }
  expect(server.log.filter((l) => l.startsWith('chmod'))).toHaveLength(3);
});

test('a server without fsync and posix-rename is delivered to, and both fallbacks are named', async () => {
  const server = new FakeServer({ extensions: {} });
  const result = await deliver(server, settings());
  expect(result.outcome).toBe('delivered');
  expect(result.fallbacks).toEqual(['no-fsync', 'no-posix-rename']);
});

test('a missing remote_dir is REMOTE_DIR_MISSING at once: not retried, nothing created or written', async () => {
  const server = new FakeServer({ missingDirs: ['/prep'] });
  const result = await deliver(server, settings({ retries: 3 }));
  expect([result.error?.code, result.attempts, server.connects]).toEqual(['REMOTE_DIR_MISSING', 1, 1]);
  expect(result.error?.message).toMatch(/remote_dir \/prep does not exist as this account sees it; prep-push never creates remote_dir.*chrooted account/);
  expect(server.log.filter((l) => /^(mkdir|mkdirp|fastPut|writeFile)/.test(l))).toEqual([]);
});

test('a size mismatch is VERIFY_FAILED, nothing lands under a final name, the temp file is removed', async () => {
  const server = new FakeServer({ statSizeOverride: 999 });
  const result = await deliver(server, settings());
  expect(result.error?.code).toBe('VERIFY_FAILED');
  expect(result.error?.message).toMatch(/^el-sol \(127\.0\.0\.1:22\): uploading PREP2024_MICH_20240602_2020\.tar\.gz \(1000 bytes\): uploaded .* has 999 bytes, expected 1000; /);
  expect([...server.files.keys()]).toEqual([]);
  expect(server.connects).toBe(1);
});

test('a retryable failure then success: attempts 2, after a backoff', async () => {
  let calls = 0;
  const server = new FakeServer({ fail: { connect: () => (++calls === 1 ? refused() : undefined) } });
  const result = await deliver(server, settings({ retries: 1 }));
  expect([result.outcome, result.attempts]).toEqual(['delivered', 2]);
  expect(result.seconds).toBeGreaterThanOrEqual(1);
});

test('non-retryable failures are reported after one attempt whatever retries says', async () => {
  const server = new FakeServer({ fail: { fastPut: () => Object.assign(new Error('Permission denied'), { code: 3 }) } });
  const result = await deliver(server, settings({ retries: 3 }));
  expect([result.error?.code, result.attempts, server.connects]).toEqual(['PERMISSION_DENIED', 1, 1]);
});

test('retries stop when the remaining deadline cannot hold another attempt', async () => {
  const server = new FakeServer({ fail: { connect: refused } });
  const result = await deliver(server, settings({ retries: 5, transferTimeoutS: 2 }));
  // attempt 1 at 0 s, backoff 1 s, attempt 2 at 1 s; a 2 s backoff would pass the deadline.
  expect([result.error?.code, result.attempts]).toEqual(['CONNECT_REFUSED', 2]);
  expect(result.seconds).toBeLessThan(2);
});

test('a frozen transfer is cut at the transfer deadline and its connection destroyed', async () => {
  const server = new FakeServer({ hang: ['fastPut'] });
  const result = await deliver(server, settings({ transferTimeoutS: 0.4, retries: 2 }));
  expect(result.error?.code).toBe('TRANSFER_TIMEOUT');
  expect(result.attempts).toBe(1);
  expect(result.seconds).toBeGreaterThanOrEqual(0.39);
  expect(result.seconds).toBeLessThan(0.6);
  expect(server.destroyed).toBeGreaterThanOrEqual(1);
  expect(server.live).toBe(0);
});

test('a server that never completes the handshake is CONNECT_TIMEOUT at the connect deadline', async () => {
  const server = new FakeServer({ hang: ['connect'] });
  const result = await deliver(server, settings({ connectTimeoutS: 0.3, transferTimeoutS: 10 }));
  expect(result.error?.code).toBe('CONNECT_TIMEOUT');
  expect(result.seconds).toBeLessThan(0.5);
});

test('the whole deadline cutting a connect short still reads as CONNECT_TIMEOUT', async () => {
  const server = new FakeServer({ hang: ['connect'] });
  const result = await deliver(server, settings({ connectTimeoutS: 10, transferTimeoutS: 0.3 }));
  expect(result.error?.code).toBe('CONNECT_TIMEOUT');
  expect(result.seconds).toBeLessThan(0.5);
});

describe('deliverToAll', () => {
  const deps = (server: FakeServer) => ({ transport: server.transport(), env: {}, clock: systemClock });
  const targets = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => aDifusor(id, { remoteDir: `/prep/${id}` }));

  test('bounds concurrency, keeps target order, isolates failures, waits for every onResult', async () => {
    const server = new FakeServer({ fail: { stat: (path) => (path === '/prep/c' ? refused() : undefined) } });
    const journaled: string[] = [];
    const results = await deliverToAll(await resultsPlan({ pkg, targets, settings: settings({ concurrency: 2 }) }), deps(server), {
      onResult: async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        journaled.push(r.id);
      },
    });
    expect(results.map((r) => [r.id, r.outcome])).toEqual([
      ['a', 'delivered'],
      ['b', 'delivered'],
      ['c', 'failed'],
      ['d', 'delivered'],
      ['e', 'delivered'],
      ['f', 'delivered'],
    ]);
    expect(journaled.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(server.peakLive).toBe(2);
  });

  test('a rejected onResult rejects the run only after every delivery ended', async () => {
    const server = new FakeServer();
    const ended: string[] = [];
    await expect(
      deliverToAll(await resultsPlan({ pkg, targets, settings: settings({ concurrency: 2 }) }), deps(server), {
        onResult: (r) => {
          ended.push(r.id);
          if (r.id === 'a') throw new Error('journal is full');
        },
      }),
    ).rejects.toThrow('journal is full');
    expect(ended.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  test('an unreadable .sha256 is the institute\'s io error, before anything is sent', async () => {
    const server = new FakeServer();
    const error = await resultsPlan({ pkg: { ...pkg, sha256File: join(work, 'missing.sha256') }, targets, settings: settings() })
      .then((plan) => deliverToAll(plan, deps(server)))
      .catch((e: unknown) => e);
    expect(isPrepPushError(error) && error.kind).toBe('io');
    expect(server.connects).toBe(0);
  });

  test('after the signal aborts, no new difusor starts; results hold only the started ones', async () => {
    const server = new FakeServer();
    const controller = new AbortController();
    const started: string[] = [];
    const results = await deliverToAll(await resultsPlan({ pkg, targets, settings: settings({ concurrency: 1 }) }), deps(server), {
      signal: controller.signal,
      onStart: (id) => started.push(id),
      onResult: (r) => {
        if (r.id === 'b') controller.abort();
      },
    });
    expect(started).toEqual(['a', 'b']);
    expect(results.map((r) => r.id)).toEqual(['a', 'b']);
  });
});
