// `probe` against real servers: OpenSSH (everything offered; a read-only account) and the
// in-process server (a thin link, read-only, a frozen upload, no symlinks or hard links) —
// each verdict, and nothing left on any difusor afterwards.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { probe, type ProbeCommandDeps } from '../../src/commands/probe.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { Difusor, Requirements } from '../../src/registry/types.js';
import { startSftpServer, type SftpFaults, type SftpQuirks, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { startSshd, type SshdFixture } from '../helpers/sshd.js';

let sshd: SshdFixture;
let work: string;
let clientKey: KeyPair;
const servers: SftpServerHandle[] = [];

const deps: ProbeCommandDeps = { transport: ssh2Transport, env: {}, clock: systemClock };
/** Small and lenient: these tests are about verdicts and cleanup, not this machine's speed. */
const lenient: Requirements = { minFreeGb: 0.01, minUploadMbS: 0.1, probeMb: 2 };

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'el-sol' }, { id: 'solo-lectura', readOnly: true }] });
  work = await mkdtemp(join(tmpdir(), 'prep-push-probe-test-'));
  clientKey = await makeKeyPair(work, 'client');
}, 30_000);
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await sshd?.stop();
  await rm(work, { recursive: true, force: true });
});

function sshdDifusor(id: string): Difusor {
  const account = sshd.accounts[id];
  return aDifusor(id, {
    host: sshd.host,
    port: account.port,
    username: sshd.username,
    privateKey: sshd.clientKey.privateKeyPath,
    hostKey: sshd.hostKeyFingerprint,
    remoteDir: account.dir,
  });
}

/** An in-process server with `faults`, its remote_dir (/srv/prep) already there, and its local path. */
async function served(id: string, faults: SftpFaults, quirks?: SftpQuirks): Promise<{ difusor: Difusor; dir: string; server: SftpServerHandle }> {
  const root = await mkdtemp(join(work, `${id}-`));
  const dir = join(root, 'srv', 'prep');
  await mkdir(dir, { recursive: true });
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [clientKey.publicKey], faults, quirks });
  servers.push(server);
  const difusor = aDifusor(id, { port: server.port, privateKey: clientKey.privateKeyPath, hostKey: server.hostKeyFingerprint, remoteDir: '/srv/prep' });
  return { difusor, dir, server };
}

const registryOf = (difusores: Difusor[], requirements: Requirements, transferTimeoutS = 30) =>
  aRegistry(difusores, { requirements, push: { concurrency: 4, connectTimeoutS: 5, transferTimeoutS, retries: 0 } });

test('OpenSSH: ok, every capability tried and found, both modes, free space and rate measured, nothing left', async () => {
  const dir = sshd.accounts['el-sol'].dir;
  // What an interrupted earlier probe left: swept now.
  await writeFile(join(dir, '.prep-push-probe-0123456789ab-upload'), 'half');
  await writeFile(join(dir, 'LATEST'), 'PREP2024_MICH_20240602_2020.tar.gz\n');
  const failed: string[] = [];
  const report = await probe(registryOf([sshdDifusor('el-sol')], lenient), undefined, { ...deps, onProbeFailed: (d) => void failed.push(d.id) });

  const [result] = report.results;
  expect(result.problems).toEqual([]);
  expect(result).toMatchObject({
    id: 'el-sol',
    ok: true,
    capabilities: { hardlink: true, posix_rename: true, symlink: true, fsync: true, statvfs: true, atomic_symlink_swap: true },
    modes: ['package', 'site'],
  });
  expect(result.free_gb).toBeGreaterThan(0.01);
  expect(result.upload_mb_s).toBeGreaterThan(0.1);
  expect(result.notes).toEqual(['removed 1 leftover(s) of an interrupted earlier probe']);
  expect(report.exit_code).toBe(0);
  expect(failed).toEqual([]);
  expect(await readdir(dir)).toEqual(['LATEST']);
}, 60_000);

test('OpenSSH read-only account (internal-sftp -R): a write problem, package/site not allowed, exit 1, hook called', async () => {
  const failed: Array<[string, string[]]> = [];
  const report = await probe(registryOf([sshdDifusor('solo-lectura')], lenient), ['solo-lectura'], {
    ...deps,
    onProbeFailed: (d, problems) => void failed.push([d.id, problems]),
  });
  const [result] = report.results;
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([expect.stringMatching(/^cannot write a test file in remote_dir: PERMISSION_DENIED: /)]);
  expect(result.modes).toEqual([]);
  expect(result.upload_mb_s).toBeNull();
  expect(report.exit_code).toBe(1);
  expect(failed).toEqual([['solo-lectura', result.problems]]);
  expect(await readdir(sshd.accounts['solo-lectura'].dir)).toEqual([]);
}, 60_000);

test('in-process server on a thin link: below min_upload_mb_s; no symlink or hard link offered: package only, said why', async () => {
  // A server like many SFTP-only appliances: no hard links, no symlinks.
  const thin = await served('thin', { bytesPerSecond: 512 * 1024 }, { withoutExtensions: ['hardlink@openssh.com'], noSymlinks: true });
  const report = await probe(registryOf([thin.difusor], { minFreeGb: 0.01, minUploadMbS: 40, probeMb: 1 }), undefined, deps);
  const [result] = report.results;
  expect(result.ok).toBe(false);
  expect(result.upload_mb_s).toBeLessThan(1);
  expect(result.problems).toEqual([expect.stringMatching(/^upload rate [\d.]+ MB\/s is below the required 40 MB\/s$/)]);
  expect(result.capabilities).toEqual({ hardlink: false, posix_rename: true, symlink: false, fsync: true, statvfs: true, atomic_symlink_swap: false });
  expect(result.modes).toEqual(['package']);
  expect(result.notes).toContain('site: not possible, the server does not create symlinks (needed for `current`); use package mode with the kit');
  expect(report.exit_code).toBe(1);
  expect(await readdir(thin.dir)).toEqual([]);
}, 60_000);

test('in-process read-only server: a write problem, nothing left', async () => {
  const readOnly = await served('ro', { readOnly: true });
  const [result] = (await probe(registryOf([readOnly.difusor], lenient), undefined, deps)).results;
  expect(result.problems).toEqual([expect.stringMatching(/^cannot write a test file in remote_dir: PERMISSION_DENIED: /)]);
  expect(await readdir(readOnly.dir)).toEqual([]);
}, 60_000);

test('remote_dir missing: REMOTE_DIR_MISSING, named; nothing created', async () => {
  const missing = await served('sin-carpeta', {});
  const [result] = (await probe(registryOf([{ ...missing.difusor, remoteDir: '/no/existe' }], lenient), undefined, deps)).results;
  expect(result.problems).toEqual(['probe stopped at list remote_dir: REMOTE_DIR_MISSING: /no/existe does not exist as iem sees it; ask the difusor to create it, or fix remote_dir']);
  expect(existsSync(join(missing.dir, '..', '..', 'no'))).toBe(false);
}, 60_000);

test('a signal stops the probe between difusores: the rest not started, exit 1', async () => {
  const controller = new AbortController();
  const report = await probe(registryOf([sshdDifusor('el-sol'), sshdDifusor('solo-lectura')], lenient), undefined, {
    ...deps,
    signal: controller.signal,
    onResult: () => controller.abort(),
  });
  expect(report.results.map((r) => [r.id, r.ok])).toEqual([['el-sol', true]]);
  expect([report.not_started, report.exit_code]).toEqual([['solo-lectura'], 1]);
}, 60_000);

test('an upload that freezes: stopped at its deadline, the partial file removed over a second connection', async () => {
  const frozen = await served('frozen', { stallAfterBytes: 256 * 1024, onlyFirstConnections: 1 });
  const t0 = performance.now();
  const [result] = (await probe(registryOf([frozen.difusor], lenient, 3), undefined, deps)).results;
  const seconds = (performance.now() - t0) / 1000;
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual([expect.stringMatching(/^upload of 2 MB did not finish within 3 s \(([\d.]+ MB\/s|no rate measured)\); required 0.1 MB\/s$/)]);
  expect(seconds).toBeLessThan(15);
  expect(frozen.server.connections).toBe(2);
  expect(await readdir(frozen.dir)).toEqual([]);
}, 60_000);

test('a server that refuses the connection: a connect problem, the other difusor still probed', async () => {
  const down: Difusor = { ...sshdDifusor('el-sol'), id: 'caido', port: 1 };
  const report = await probe(registryOf([down, sshdDifusor('el-sol')], lenient), undefined, deps);
  expect(report.results.map((r) => [r.id, r.ok])).toEqual([
    ['caido', false],
    ['el-sol', true],
  ]);
  expect(report.results[0].problems).toEqual([expect.stringMatching(/^cannot connect: CONNECT_REFUSED: /)]);
  expect(report.results[0].capabilities.statvfs).toBe(false);
  expect(existsSync(sshd.accounts['el-sol'].dir)).toBe(true);
}, 60_000);
