// The delivery engine against real OpenSSH sshd on 127.0.0.1: atomic, verified uploads to many
// difusores at once, every failure classified, deadlines held, concurrency bounded.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../../src/core/clock.js';
import { deliverToAll } from '../../src/delivery/deliver.js';
import { scanHostKey } from '../../src/sftp/keyscan.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { DeliveryResult } from '../../src/delivery/types.js';
import { deliverToDifusor } from '../../src/delivery/deliver-one.js';
import { TEMP_FILE_PATTERN } from '../../src/sftp/atomic-upload.js';
import type { BuiltPackage } from '../../src/package/types.js';
import type { Difusor, PushSettings } from '../../src/registry/types.js';
import { makeKeyPair } from '../helpers/keys.js';
import { closedPort, startBlackhole } from '../helpers/net.js';
import { countLiveSftpSessions, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { resultsPlan, resultsDelivery } from '../helpers/delivery.js';

const run = promisify(execFile);
const HEALTHY = Array.from({ length: 10 }, (_, i) => `difusor-${i + 1}`);

let fixture: SshdFixture;
let work: string;

/** A package-shaped file of random bytes plus its `sha256sum` line, as the builder would store it. */
async function makePackage(dir: string, fileName: string, bytes: number): Promise<BuiltPackage> {
  const data = randomBytes(bytes);
  const file = join(dir, fileName);
  await writeFile(file, data);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const sha256File = `${file}.sha256`;
  await writeFile(sha256File, `${sha256}  ${fileName}\n`);
  return { cutId: '20240602_2020', cutTime: '2024-06-02T20:20:00-06:00', format: 'tar.gz', file, fileName, sha256File, sha256, bytes, fileCount: 1 };
}

function difusorFor(id: string, overrides: Partial<Difusor> = {}): Difusor {
  const account = fixture.accounts[id];
  return {
    id,
    name: id,
    host: '127.0.0.1',
    port: account?.port ?? 1,
    username: fixture.username,
    privateKey: fixture.clientKey.privateKeyPath,
    hostKey: fixture.hostKeyFingerprint,
    remoteDir: account?.dir ?? '/nonexistent',
    enabled: true,
    ...overrides,
  };
}

const settings = (overrides: Partial<PushSettings> = {}): PushSettings => ({
  concurrency: 16,
  connectTimeoutS: 5,
  transferTimeoutS: 30,
  retries: 0,
  ...overrides,
});
const deps = { transport: ssh2Transport, env: {}, clock: systemClock };

function byId(results: DeliveryResult[]): Record<string, DeliveryResult> {
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

async function tempsIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => TEMP_FILE_PATTERN.test(name) || name.includes('.prep-push-'));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-push-delivery-'));
  fixture = await startSshd({
    accounts: [
      ...HEALTHY.map((id) => ({ id })),
      { id: 'wrong-host-key' },
      { id: 'wrong-client-key' },
      { id: 'read-only', readOnly: true },
      { id: 'repush' },
      { id: 'retry' },
      { id: 'big' },
    ],
  });
});

afterAll(async () => {
  await fixture?.stop();
  await rm(work, { recursive: true, force: true });
});

test('delivers byte-identical package, .sha256 and LATEST to 10 sshd difusores at once', async () => {
  const pkg = await makePackage(work, 'PREP2024_MICH_20240602_2020.tar.gz', 3 * 1024 * 1024 + 17);
  const started: string[] = [];
  const journaled: string[] = [];
  const results = await deliverToAll(
    await resultsPlan({ pkg, targets: HEALTHY.map((id) => difusorFor(id)), settings: settings({ concurrency: 4 }) }),
    deps,
    {
      onStart: (id) => started.push(id),
      onResult: async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        journaled.push(r.id);
      },
    },
  );
  expect(results.map((r) => [r.id, r.outcome, r.error])).toEqual(HEALTHY.map((id) => [id, 'delivered', null]));
  expect(results.every((r) => r.attempts === 1 && r.bytes === pkg.bytes)).toBe(true);
  expect(started.sort()).toEqual([...HEALTHY].sort());
  expect(journaled.sort()).toEqual([...HEALTHY].sort());
  const original = await readFile(pkg.file);
  for (const id of HEALTHY) {
    const dir = fixture.accounts[id].dir;
    expect((await readFile(join(dir, pkg.fileName))).equals(original)).toBe(true);
    expect(await readFile(join(dir, `${pkg.fileName}.sha256`), 'utf8')).toBe(await readFile(pkg.sha256File, 'utf8'));
    expect(await readFile(join(dir, 'LATEST'), 'utf8')).toBe(`${pkg.fileName}\n`);
    const check = await run('sha256sum', ['-c', `${pkg.fileName}.sha256`], { cwd: dir });
    expect(check.stdout).toBe(`${pkg.fileName}: OK\n`);
    expect(await tempsIn(dir)).toEqual([]);
  }
});

test('beside healthy difusores, each fault gets its code and the run stays within its deadlines', async () => {
  const pkg = await makePackage(work, 'PREP2024_MICH_20240602_2030.tar.gz', 2 * 1024 * 1024);
  const strangerKey = await makeKeyPair(work, 'stranger');
  const blackhole = await startBlackhole();
  try {
    const targets = [
      difusorFor('difusor-1'),
      difusorFor('wrong-host-key', { hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
      difusorFor('wrong-client-key', { privateKey: strangerKey.privateKeyPath }),
      difusorFor('closed', { port: await closedPort() }),
      difusorFor('blackhole', { port: blackhole.port }),
      difusorFor('read-only'),
      difusorFor('difusor-2'),
    ];
    const t0 = performance.now();
    const results = byId(await deliverToAll(await resultsPlan({ pkg, targets, settings: settings({ connectTimeoutS: 2, transferTimeoutS: 4 }) }), deps));
    const wallS = (performance.now() - t0) / 1000;

    expect(results['difusor-1'].outcome).toBe('delivered');
    expect(results['difusor-2'].outcome).toBe('delivered');
    const codes = Object.fromEntries(Object.values(results).map((r) => [r.id, r.error?.code ?? null]));
    expect(codes).toEqual({
      'difusor-1': null,
      'wrong-host-key': 'HOST_KEY_MISMATCH',
      'wrong-client-key': 'AUTH_FAILED',
      closed: 'CONNECT_REFUSED',
      blackhole: 'CONNECT_TIMEOUT',
      'read-only': 'PERMISSION_DENIED',
      'difusor-2': null,
    });
    const port = fixture.accounts['wrong-host-key'].port;
    expect(results['wrong-host-key'].error?.message).toBe(
      `wrong-host-key (127.0.0.1:${port}): connecting as ${fixture.username}: host key mismatch: pinned SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, ` +
        `server offered ssh-ed25519 ${fixture.hostKeyFingerprint}; if wrong-host-key rotated its key, ` +
        'confirm the new fingerprint with them (out of band) and update host_key',
    );
    expect(results['wrong-client-key'].error?.message).toBe(
      `wrong-client-key (127.0.0.1:${fixture.accounts['wrong-client-key'].port}): connecting as ${fixture.username}: ` +
        `All configured authentication methods failed (offered private_key ${strangerKey.privateKeyPath}); ` +
        'check username and credentials in the registry, and ask them to confirm our public key is installed',
    );
    expect(results['read-only'].error?.message).toMatch(/^read-only \(127\.0\.0\.1:\d+\): uploading PREP2024_MICH_20240602_2030\.tar\.gz/);
    expect(results.blackhole.seconds).toBeGreaterThanOrEqual(1.9);
    expect(results.blackhole.seconds).toBeLessThan(3);
    expect(blackhole.accepted).toBeGreaterThanOrEqual(1);
    expect(wallS).toBeLessThan(5);
    for (const r of Object.values(results)) if (r.error) expect(r.attempts).toBe(1);
    expect(await readdir(fixture.accounts['wrong-host-key'].dir)).toEqual([]);
    expect(await readdir(fixture.accounts['wrong-client-key'].dir)).toEqual([]);
    expect(await readdir(fixture.accounts['read-only'].dir)).toEqual([]);
    // The pinned-key check refuses in the key exchange: sshd saw a key-exchange failure
    // (disconnect reason 3) and no authentication attempt at all from that connection.
    // sshd logs the disconnect a moment after our side has already given up.
    let log = '';
    for (let i = 0; i < 40 && !/Received disconnect from .*:3:/.test(log); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      log = await readFile(fixture.logFile, 'utf8');
    }
    // Every connection after the fixture's readiness probe is ours: the pinned type first (refused,
    // reason 3), then one asking for the other key types the server may hold (it has none).
    const clientPorts = [...log.matchAll(new RegExp(`Connection from 127\\.0\\.0\\.1 port (\\d+) on 127\\.0\\.0\\.1 port ${port} `, 'g'))]
      .slice(1)
      .map((m) => m[1]);
    expect(clientPorts.length).toBeGreaterThanOrEqual(1);
    const ours = log.split('\n').filter((line) => clientPorts.some((p) => line.includes(`port ${p}`)));
    expect(ours.some((line) => /Received disconnect from 127\.0\.0\.1 port \d+:3:/.test(line))).toBe(true);
    expect(ours.filter((line) => /publickey|password|Accepted|Failed/.test(line))).toEqual([]);
    // The read-only account was refused once, and nothing needed a cleanup reconnect.
    const readOnlyPort = fixture.accounts['read-only'].port;
    expect(log.match(new RegExp(`on 127\\.0\\.0\\.1 port ${readOnlyPort} `, 'g'))).toHaveLength(2); // probe + ours
  } finally {
    await blackhole.close();
  }
});

test('simultaneous SFTP sessions never exceed settings.concurrency', async () => {
  const pkg = await makePackage(work, 'PREP2024_MICH_20240602_2040.tar.gz', 4 * 1024 * 1024);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, countLiveSftpSessions(fixture));
  }, 5);
  try {
    const results = await deliverToAll(await resultsPlan({ pkg, targets: HEALTHY.map((id) => difusorFor(id)), settings: settings({ concurrency: 3 }) }), deps);
    expect(results.every((r) => r.outcome === 'delivered')).toBe(true);
  } finally {
    clearInterval(sampler);
  }
  expect(peak).toBeGreaterThanOrEqual(2);
  expect(peak).toBeLessThanOrEqual(3);
});

test('re-pushing replaces atomically: a reader never sees a partial file under the final name', async () => {
  const dir = fixture.accounts.repush.dir;
  const oldPkg = await makePackage(await mkdtemp(join(work, 'old-')), 'PREP2024_MICH_REPUSH.tar.gz', 5 * 1024 * 1024);
  const newPkg = await makePackage(await mkdtemp(join(work, 'new-')), 'PREP2024_MICH_REPUSH.tar.gz', 6 * 1024 * 1024 + 3);
  const target = [difusorFor('repush')];
  expect((await deliverToAll(await resultsPlan({ pkg: oldPkg, targets: target, settings: settings() }), deps))[0].outcome).toBe('delivered');

  const finalPath = join(dir, oldPkg.fileName);
  const seen = new Set<number>();
  let polling = true;
  const reader = (async () => {
    while (polling) {
      seen.add((await stat(finalPath)).size);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const results = await deliverToAll(await resultsPlan({ pkg: newPkg, targets: target, settings: settings() }), deps);
  // and the same cut again: the same result, nothing left over
  const again = await deliverToAll(await resultsPlan({ pkg: newPkg, targets: target, settings: settings() }), deps);
  polling = false;
  await reader;
  expect([results[0].outcome, again[0].outcome]).toEqual(['delivered', 'delivered']);
  expect([...seen].every((size) => size === oldPkg.bytes || size === newPkg.bytes)).toBe(true);
  expect(seen.has(newPkg.bytes)).toBe(true);
  expect((await readFile(finalPath)).equals(await readFile(newPkg.file))).toBe(true);
  expect(await tempsIn(dir)).toEqual([]);
});

test('a stale temporary file from an earlier failed run is swept at the next delivery', async () => {
  const dir = fixture.accounts['difusor-3'].dir;
  const stale = join(dir, '.PREP2024_MICH_20240602_1900.tar.gz.prep-push-0123456789ab.part');
  const theirs = join(dir, 'their-own-file.part');
  await writeFile(stale, 'half a package');
  await writeFile(theirs, 'not ours');
  const pkg = await makePackage(work, 'PREP2024_MICH_20240602_2050.tar.gz', 1024 * 1024);
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [difusorFor('difusor-3')], settings: settings() }), deps);
  expect(result.outcome).toBe('delivered');
  expect(existsSync(stale)).toBe(false);
  expect(existsSync(theirs)).toBe(true);
});

test('retries: a refused connect that recovers counts 2 attempts; a host key mismatch is never retried', async () => {
  const pkg = await makePackage(work, 'PREP2024_MICH_20240602_2100.tar.gz', 512 * 1024);
  // First attempt: a port nobody listens on. The transport is the real one; only the first
  // connect is pointed elsewhere, as when a difusor's sshd restarts during the cut.
  let connects = 0;
  const flaky = {
    connect: (difusor: Difusor, options: Parameters<typeof ssh2Transport.connect>[1]) => {
      connects += 1;
      return connects === 1 ? refusedPort.then((port) => ssh2Transport.connect({ ...difusor, port }, options)) : ssh2Transport.connect(difusor, options);
    },
  };
  const refusedPort = closedPort();
  const retry = await deliverToDifusor(
    resultsDelivery({ difusor: difusorFor('retry'), pkg, sha256Text: await readFile(pkg.sha256File, 'utf8'), settings: settings({ retries: 2 }) }),
    { ...deps, transport: flaky },
  );
  expect([retry.outcome, retry.attempts]).toEqual(['delivered', 2]);
  expect(retry.seconds).toBeGreaterThanOrEqual(1);

  const mismatch = await deliverToDifusor(
    resultsDelivery({
      difusor: difusorFor('retry', { hostKey: 'SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }),
      pkg,
      sha256Text: await readFile(pkg.sha256File, 'utf8'),
      settings: settings({ retries: 3 }),
    }),
    deps,
  );
  expect([mismatch.outcome, mismatch.error?.code, mismatch.attempts]).toEqual(['failed', 'HOST_KEY_MISMATCH', 1]);
});

test('an aborted run starts no new difusor and reports only the started ones', async () => {
  const pkg = await makePackage(work, 'PREP2024_MICH_20240602_2110.tar.gz', 256 * 1024);
  const controller = new AbortController();
  let started = 0;
  const results = await deliverToAll(
    await resultsPlan({ pkg, targets: HEALTHY.slice(0, 5).map((id) => difusorFor(id)), settings: settings({ concurrency: 2 }) }),
    deps,
    {
      signal: controller.signal,
      onStart: () => {
        started += 1;
        if (started === 2) controller.abort();
      },
    },
  );
  expect(results.map((r) => r.outcome)).toEqual(['delivered', 'delivered']);
});

test('scanHostKey returns the fingerprint ssh-keyscan | ssh-keygen -lf prints', async () => {
  const port = fixture.accounts['difusor-1'].port;
  const { stdout: scanned } = await run('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), '127.0.0.1']);
  const keygen = await new Promise<string>((resolve, reject) => {
    const child = execFile('ssh-keygen', ['-lf', '-'], (error, stdout) => (error ? reject(error) : resolve(stdout)));
    child.stdin?.end(scanned);
  });
  const expected = /SHA256:[A-Za-z0-9+/]+/.exec(keygen)?.[0];
  expect(expected).toBe(fixture.hostKeyFingerprint);
  await expect(scanHostKey('127.0.0.1', port, 3000)).resolves.toBe(expected);
  await expect(scanHostKey('127.0.0.1', await closedPort(), 3000)).rejects.toMatchObject({ code: 'CONNECT_REFUSED' });
  const blackhole = await startBlackhole();
  try {
    await expect(scanHostKey('127.0.0.1', blackhole.port, 500)).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' });
  } finally {
    await blackhole.close();
  }
});

test('throughput: one 64 MB upload to sshd on loopback', async () => {
  const pkg = await makePackage(work, 'PREP2024_MICH_BIG.tar.gz', 64 * 1024 * 1024);
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [difusorFor('big')], settings: settings({ transferTimeoutS: 60 }) }), deps);
  expect(result.outcome).toBe('delivered');
  const mbPerS = pkg.bytes / 1e6 / result.seconds;
  process.stderr.write(`delivery throughput: 64 MiB in ${result.seconds} s = ${mbPerS.toFixed(1)} MB/s\n`);
  expect((await stat(join(fixture.accounts.big.dir, pkg.fileName))).size).toBe(pkg.bytes);
});
