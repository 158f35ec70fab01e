// The delivery engine against in-process SFTP servers that misbehave on purpose: a server that
// freezes or drops mid-transfer, a full disk, a read-only account, a slow link; beside healthy
// ones in the same run, each failure classified and every deadline held.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../../src/core/clock.js';
import { deliverToAll } from '../../src/delivery/deliver.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { DeliveryResult } from '../../src/delivery/types.js';
import type { BuiltPackage } from '../../src/package/types.js';
import type { Difusor, PushSettings } from '../../src/registry/types.js';
import { startSftpServer, type SftpFaults, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { resultsPlan } from '../helpers/delivery.js';

let work: string;
let clientKey: KeyPair;
let pkg: BuiltPackage;
const servers: SftpServerHandle[] = [];

const PACKAGE_BYTES = 4 * 1024 * 1024;
const deps = { transport: ssh2Transport, env: { PREP_PUSH_TEST_PASSWORD: 's3cret' }, clock: systemClock };
const settings = (overrides: Partial<PushSettings> = {}): PushSettings => ({
  concurrency: 16,
  connectTimeoutS: 2,
  transferTimeoutS: 4,
  retries: 0,
  ...overrides,
});

interface Served {
  server: SftpServerHandle;
  root: string;
  difusor: Difusor;
}

/** An in-process server serving its own temp root, and the difusor entry pointing at it. */
async function serve(id: string, faults: SftpFaults = {}, opts: { password?: string } = {}): Promise<Served> {
  const root = await mkdtemp(join(work, `${id}-`));
  await mkdir(join(root, 'srv/prep'), { recursive: true }); // remote_dir exists: prep-push never creates it
  const server = await startSftpServer({
    root,
    username: 'iem',
    authorizedKeys: opts.password ? [] : [clientKey.publicKey],
    password: opts.password,
    faults,
  });
  servers.push(server);
  const difusor: Difusor = {
    id,
    name: id,
    host: '127.0.0.1',
    port: server.port,
    username: 'iem',
    ...(opts.password ? { passwordEnv: 'PREP_PUSH_TEST_PASSWORD' } : { privateKey: clientKey.privateKeyPath }),
    hostKey: server.hostKeyFingerprint,
    remoteDir: '/srv/prep',
    enabled: true,
  };
  return { server, root, difusor };
}

/** Everything under the served remote dir (the final names and any temporary file). */
async function remoteFiles(served: Served): Promise<string[]> {
  const dir = join(served.root, 'srv', 'prep');
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
}

function byId(results: DeliveryResult[]): Record<string, DeliveryResult> {
  return Object.fromEntries(results.map((r) => [r.id, r]));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-push-delivery-faults-'));
  clientKey = await makeKeyPair(work, 'client');
  const data = randomBytes(PACKAGE_BYTES);
  const fileName = 'PREP2024_MICH_20240602_2020.tar.gz';
  const storeDir = join(work, 'store');
  await mkdir(storeDir);
  const file = join(storeDir, fileName);
  await writeFile(file, data);
  const sha256 = createHash('sha256').update(data).digest('hex');
  await writeFile(`${file}.sha256`, `${sha256}  ${fileName}\n`);
  pkg = {
    cutId: '20240602_2020',
    cutTime: '2024-06-02T20:20:00-06:00',
    format: 'tar.gz',
    file,
    fileName,
    sha256File: `${file}.sha256`,
    sha256,
    bytes: PACKAGE_BYTES,
    fileCount: 1,
  };
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

test('stall, drop, full disk and read-only beside healthy servers: each classified, deadlines held', async () => {
  const healthy = await serve('healthy');
  const withPassword = await serve('with-password', {}, { password: 's3cret' });
  const stall = await serve('stall', { stallAfterBytes: 1024 * 1024 });
  const drop = await serve('drop', { dropAfterBytes: 1024 * 1024 });
  const full = await serve('full', { failWritesAfterBytes: 1024 * 1024 });
  const readOnly = await serve('read-only', { readOnly: true });
  const all = [healthy, withPassword, stall, drop, full, readOnly];

  const t0 = performance.now();
  const results = byId(await deliverToAll(await resultsPlan({ pkg, targets: all.map((s) => s.difusor), settings: settings() }), deps));
  const wallS = (performance.now() - t0) / 1000;

  expect(Object.fromEntries(Object.values(results).map((r) => [r.id, r.error?.code ?? r.outcome]))).toEqual({
    healthy: 'delivered',
    'with-password': 'delivered',
    stall: 'TRANSFER_TIMEOUT',
    drop: 'CONNECTION_LOST',
    full: 'NO_SPACE',
    'read-only': 'PERMISSION_DENIED',
  });
  // The stalled server holds the run only until the transfer deadline (plus a socket teardown).
  expect(results.stall.seconds).toBeGreaterThanOrEqual(3.9);
  expect(results.stall.seconds).toBeLessThan(5);
  expect(wallS).toBeLessThan(5);
  expect(results.stall.error?.message).toMatch(
    new RegExp(`^stall \\(127\\.0\\.0\\.1:${stall.server.port}\\): uploading ${pkg.fileName.replace(/\./g, '\\.')} \\(${PACKAGE_BYTES} bytes\\): delivery not finished within transfer_timeout_s \\(4 s\\), [\\d.]+ (B|KiB|MiB) of 4\\.0 MiB acknowledged; `),
  );
  expect(results.full.error?.message).toMatch(/Failure \(SFTP status 4\); 0 B free after removing our partial file, 4\.0 MiB needed; their disk or quota is full/);

  for (const served of [healthy, withPassword]) {
    expect(await remoteFiles(served)).toEqual(['LATEST', pkg.fileName, `${pkg.fileName}.sha256`].sort());
    expect((await readFile(join(served.root, 'srv/prep', pkg.fileName))).equals(await readFile(pkg.file))).toBe(true);
  }
  // Never a partial file under a final name; the failed uploads cleaned their temporary file
  // (drop: on a quick second connection; full: on the same one).
  expect(await remoteFiles(drop)).toEqual([]);
  expect(await remoteFiles(full)).toEqual([]);
  expect(await remoteFiles(readOnly)).toEqual([]);
  expect(drop.server.connections).toBe(2);
  // The frozen server got no final name either; its temporary file waits for the next sweep.
  const stallFiles = await remoteFiles(stall);
  expect(stallFiles.every((name) => /^\..*\.prep-push-[0-9a-f]{12}\.part$/.test(name))).toBe(true);
});

test('the next delivery to a once-stalled server sweeps the temporary file it left', async () => {
  const root = await mkdtemp(join(work, 'sweep-'));
  await mkdir(join(root, 'srv/prep'), { recursive: true });
  const leftover = join(root, 'srv/prep', `.${pkg.fileName}.prep-push-00112233aabb.part`);
  await writeFile(leftover, randomBytes(1000));
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [clientKey.publicKey] });
  servers.push(server);
  const difusor: Difusor = {
    id: 'sweep',
    name: 'sweep',
    host: '127.0.0.1',
    port: server.port,
    username: 'iem',
    privateKey: clientKey.privateKeyPath,
    hostKey: server.hostKeyFingerprint,
    remoteDir: '/srv/prep',
    enabled: true,
  };
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [difusor], settings: settings() }), deps);
  expect(result.outcome).toBe('delivered');
  expect(existsSync(leftover)).toBe(false);
});

test('a dropped first connection is retried: delivered on attempt 2', async () => {
  const flaky = await serve('flaky', { dropAfterBytes: 512 * 1024, onlyFirstConnections: 1 });
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [flaky.difusor], settings: settings({ retries: 1, transferTimeoutS: 10 }) }), deps);
  expect([result.outcome, result.attempts, result.bytes]).toEqual(['delivered', 2, PACKAGE_BYTES]);
  expect(result.seconds).toBeGreaterThanOrEqual(1); // the backoff
  expect(await remoteFiles(flaky)).toEqual(['LATEST', pkg.fileName, `${pkg.fileName}.sha256`].sort());
});

test('every file is flushed to the difusor’s disk (fsync@openssh.com) before it is renamed into place', async () => {
  const durable = await serve('durable');
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [durable.difusor], settings: settings() }), deps);
  expect(result.outcome).toBe('delivered');
  // The package, its .sha256 and LATEST: one flush each.
  expect(durable.server.fsyncs).toBe(3);
});

test('a non-retryable failure is not retried even with retries left', async () => {
  const full = await serve('full-again', { failWritesAfterBytes: 0 });
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [full.difusor], settings: settings({ retries: 3 }) }), deps);
  expect([result.error?.code, result.attempts]).toEqual(['NO_SPACE', 1]);
});

test('concurrency: sessions open at once never exceed settings.concurrency', async () => {
  const slow = await Promise.all(
    Array.from({ length: 6 }, (_, i) => serve(`slow-${i}`, { bytesPerSecond: 40 * 1024 * 1024 })),
  );
  // Every server sees one session at a time; the engine's bound shows across servers, so each
  // server counts sessions and the test watches the sum.
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, slow.reduce((sum, s) => sum + s.server.activeSessions(), 0));
  }, 2);
  try {
    const results = await deliverToAll(
      await resultsPlan({ pkg, targets: slow.map((s) => s.difusor), settings: settings({ concurrency: 2, transferTimeoutS: 20 }) }),
      deps,
    );
    expect(results.map((r) => r.outcome)).toEqual(Array(6).fill('delivered'));
  } finally {
    clearInterval(sampler);
  }
  expect(peak).toBe(2);
  expect(slow.every((s) => s.server.maxConcurrentSessions === 1)).toBe(true);
});

test('credentials: a passphrase from the named env var, a missing env var, and ssh-agent', async () => {
  const locked = await makeKeyPair(work, 'locked', { passphrase: 'open sesame' });
  const agentKey = await makeKeyPair(work, 'agent-key');
  const root = await mkdtemp(join(work, 'creds-'));
  await mkdir(join(root, 'srv/prep'), { recursive: true }); // remote_dir exists: prep-push never creates it
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [locked.publicKey, agentKey.publicKey] });
  servers.push(server);
  const base: Difusor = {
    id: 'creds',
    name: 'creds',
    host: '127.0.0.1',
    port: server.port,
    username: 'iem',
    hostKey: server.hostKeyFingerprint,
    remoteDir: '/srv/prep',
    enabled: true,
  };
  const withPassphrase = { ...base, privateKey: locked.privateKeyPath, privateKeyPassphraseEnv: 'CREDS_KEY_PASSPHRASE' };
  const run = async (difusor: Difusor, env: NodeJS.ProcessEnv) =>
    deliverToAll(await resultsPlan({ pkg, targets: [difusor], settings: settings() }), { ...deps, env }).then(([r]) => r);

  expect((await run(withPassphrase, { CREDS_KEY_PASSPHRASE: 'open sesame' })).outcome).toBe('delivered');
  const unset = await run(withPassphrase, {});
  expect(unset.error?.code).toBe('AUTH_FAILED');
  expect(unset.error?.message).toMatch(/environment variable CREDS_KEY_PASSPHRASE \(private_key_passphrase_env\) is not set/);
  expect((await run(withPassphrase, { CREDS_KEY_PASSPHRASE: 'wrong' })).error?.code).toBe('AUTH_FAILED');
  expect((await run(base, {})).error?.message).toMatch(/no private_key, no password_env and no ssh-agent/);

  // No key, no password: the agent named by SSH_AUTH_SOCK signs.
  const socket = join(work, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !existsSync(socket); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    await promisify(execFile)('ssh-add', [agentKey.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    expect((await run(base, { SSH_AUTH_SOCK: socket })).outcome).toBe('delivered');
  } finally {
    agent.kill();
  }
});

test('a login that works but whose SFTP subsystem is refused: AUTH_FAILED that says the key was accepted, not retried', async () => {
  const served = await serve('no-sftp', { refuseSftp: true });
  const [result] = await deliverToAll(await resultsPlan({ pkg, targets: [served.difusor], settings: settings({ retries: 2 }) }), deps);
  expect([result.error?.code, result.attempts]).toEqual(['AUTH_FAILED', 1]);
  expect(result.error?.message).toMatch(/connecting as iem: logged in as iem, but Unable to start subsystem: sftp; our key was accepted, but the server refused to start SFTP for this account \(shell or subsystem refused\)/);
  expect(result.error?.message).not.toMatch(/confirm our public key is installed/);
});
