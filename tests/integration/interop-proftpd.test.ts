// Package-mode deliveries to a real ProFTPD 1.3.8 mod_sftp (chrooted virtual account): complete,
// byte-identical, every file 0644 under its permissive umask, a full disk is NO_SPACE (its SFTP v3
// answer is status 4 "Out of disk space"), a remote_dir written as seen from outside the jail is
// REMOTE_DIR_MISSING with nothing created, and an RSA-pinned server is reachable.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, chown } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BuiltPackage } from '../../src/package/types.js';
import type { Difusor } from '../../src/registry/types.js';
import { buildInteropPackage, deliverOnce, filesIn, treeOf } from '../helpers/interop.js';
import { proftpdUnavailableReason, startProftpd, type ProftpdFixture } from '../helpers/proftpd.js';
import { expectKeyscanAgreesWithOpenSSH } from '../helpers/jest-fixtures.js';

const run = promisify(execFile);
const unavailable = proftpdUnavailableReason();
const describeIfRunnable = unavailable ? describe.skip : describe;
if (unavailable) {
  test.skip(`ProFTPD interoperability: SKIPPED, ${unavailable}`, () => {});
}

const WRONG = `SHA256:${'A'.repeat(43)}`;

describeIfRunnable('ProFTPD 1.3.8 mod_sftp', () => {
  let work: string;
  let server: ProftpdFixture;
  let inbox: string;
  let first: BuiltPackage;
  let second: BuiltPackage;

  const difusor = (overrides: Partial<Difusor> = {}): Difusor => ({
    id: 'proftpd',
    name: 'ProFTPD',
    host: server.host,
    port: server.port,
    username: server.username,
    privateKey: server.clientKey.privateKeyPath,
    hostKey: server.hostKeys['ssh-ed25519'],
    remoteDir: server.remotePathOf(inbox),
    enabled: true,
    ...overrides,
  });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'prep-push-interop-proftpd-'));
    server = await startProftpd({ chroot: true, fullDiskBytes: 256 * 1024 });
    inbox = join(server.homeDir, 'prep');
    await mkdir(inbox);
    await chown(inbox, 65534, 65534);
    first = await buildInteropPackage(work, '2024-06-02T20:20:00-06:00');
    second = await buildInteropPackage(work, '2024-06-02T20:40:00-06:00');
  });
  afterAll(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('two cuts: byte-identical package and .sha256, LATEST names the newest, no temporary file, every file 0644, no fallback', async () => {
    expect(server.remotePathOf(inbox)).toBe('/prep');
    for (const pkg of [first, second]) {
      const result = await deliverOnce(difusor(), pkg);
      expect([result.outcome, result.error, result.attempts, result.fallbacks]).toEqual(['delivered', null, 1, []]);
    }
    const files = await filesIn(inbox);
    const names = [first.fileName, `${first.fileName}.sha256`, second.fileName, `${second.fileName}.sha256`, 'LATEST'].sort();
    expect(files.map((f) => f.name)).toEqual(names);
    for (const pkg of [first, second]) {
      expect(files.find((f) => f.name === pkg.fileName)?.bytes.equals(await readFile(pkg.file))).toBe(true);
      expect(files.find((f) => f.name === `${pkg.fileName}.sha256`)?.bytes.equals(await readFile(pkg.sha256File))).toBe(true);
    }
    expect(files.find((f) => f.name === 'LATEST')?.bytes.toString()).toBe(`${second.fileName}\n`);
    // ProFTPD (Umask 000 here) creates files with the mode the client's open asks for.
    expect(Object.fromEntries(files.map((f) => [f.name, f.mode.toString(8)]))).toEqual(Object.fromEntries(names.map((n) => [n, '644'])));
    // The unpacked package verifies with the stock tools, as a difusor would check it.
    await expect(run('sha256sum', ['-c', `${second.fileName}.sha256`], { cwd: inbox })).resolves.toMatchObject({ stdout: `${second.fileName}: OK\n` });
  });

  test('remote_dir written as seen from outside the jail: REMOTE_DIR_MISSING naming the chroot, not retried, nothing created', async () => {
    const before = await treeOf(server.homeDir);
    const result = await deliverOnce(difusor({ remoteDir: inbox }), first);
    expect([result.outcome, result.error?.code, result.attempts]).toEqual(['failed', 'REMOTE_DIR_MISSING', 1]);
    expect(result.error?.message).toContain(`remote_dir ${inbox} does not exist as this account sees it`);
    expect(result.error?.message).toMatch(/on a chrooted account write the path as the jail shows it/);
    expect(await treeOf(server.homeDir)).toEqual(before);
  });

  test('a full disk: NO_SPACE from "Out of disk space", not retried, our partial file removed, free space measured after it', async () => {
    if (!server.fullDiskDir) throw new Error(`the full-disk folder could not be set up: ${server.fullDiskUnavailable}`);
    const big = await buildInteropPackage(work, '2024-06-02T21:00:00-06:00', 1024 * 1024);
    const result = await deliverOnce(difusor({ remoteDir: '/full' }), big);
    expect([result.outcome, result.error?.code, result.attempts]).toEqual(['failed', 'NO_SPACE', 1]);
    expect(result.error?.message).toMatch(/Out of disk space/);
    // tmpfs of 256 KiB, empty again once our partial file is gone.
    expect(result.error?.message).toMatch(/; 256(\.0)? KiB free after removing our partial file, 1\.0 MiB needed; their disk or quota is full/);
    expect(await treeOf(server.fullDiskDir)).toEqual([]);
  });

  test('host keys: the RSA key pinned (typed or not, alone or in a list) is reached; no pin matching is HOST_KEY_MISMATCH naming every key offered', async () => {
    const rsa = server.hostKeys['ssh-rsa'];
    for (const pins of [[{ fingerprint: rsa, type: 'ssh-rsa' }], [{ fingerprint: rsa }], [{ fingerprint: WRONG }, { fingerprint: rsa }]]) {
      const result = await deliverOnce(difusor({ hostKey: pins[0].fingerprint, hostKeys: pins }), first);
      expect([result.outcome, result.error]).toEqual(['delivered', null]);
    }
    const refused = await deliverOnce(difusor({ hostKey: WRONG, hostKeys: [{ fingerprint: WRONG }] }), first);
    expect([refused.error?.code, refused.attempts]).toEqual(['HOST_KEY_MISMATCH', 1]);
    expect(refused.error?.message).toContain(`server offered ssh-ed25519 ${server.hostKeys['ssh-ed25519']}, ssh-rsa ${rsa}`);
  });

  test('keyscan finds every host key type, each as ssh-keyscan -t TYPE | ssh-keygen -lf - prints it', async () => {
    await expectKeyscanAgreesWithOpenSSH(server);
  });
});
