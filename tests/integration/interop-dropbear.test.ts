// Package-mode deliveries to a real Dropbear 2022.83 (OpenSSH's sftp-server behind it): complete,
// byte-identical, every file 0644; an account with no valid shell is AUTH_FAILED with a hint that
// names the shell, not only the key; an RSA-pinned server is reachable; keyscan finds every type.
import { chown, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltPackage } from '../../src/package/types.js';
import type { Difusor } from '../../src/registry/types.js';
import { dropbearUnavailableReason, startDropbear, type DropbearAccount, type DropbearFixture } from '../helpers/dropbear.js';
import { buildInteropPackage, deliverOnce, filesIn } from '../helpers/interop.js';
import { expectKeyscanAgreesWithOpenSSH } from '../helpers/jest-fixtures.js';

const unavailable = dropbearUnavailableReason();
const describeIfRunnable = unavailable ? describe.skip : describe;
if (unavailable) {
  test.skip(`Dropbear interoperability: SKIPPED, ${unavailable}`, () => {});
}

describeIfRunnable('Dropbear 2022.83', () => {
  let work: string;
  let server: DropbearFixture;
  let pkg: BuiltPackage;

  const inboxOf = (account: DropbearAccount): string => join(account.homeDir, 'prep');
  const difusor = (account: DropbearAccount, overrides: Partial<Difusor> = {}): Difusor => ({
    id: 'dropbear',
    name: 'Dropbear',
    host: server.host,
    port: server.port,
    username: account.username,
    privateKey: server.clientKey.privateKeyPath,
    hostKey: server.hostKeys['ssh-ed25519'],
    remoteDir: inboxOf(account),
    enabled: true,
    ...overrides,
  });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'prep-push-interop-dropbear-'));
    server = await startDropbear();
    for (const account of [server.account, server.noShellAccount]) {
      await mkdir(inboxOf(account));
      const owner = await stat(account.homeDir);
      await chown(inboxOf(account), owner.uid, owner.gid);
    }
    pkg = await buildInteropPackage(work, '2024-06-02T20:20:00-06:00');
  });
  afterAll(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('a cut: byte-identical package and .sha256, LATEST, no temporary file, every file 0644, no fallback', async () => {
    const result = await deliverOnce(difusor(server.account), pkg);
    expect([result.outcome, result.error, result.attempts, result.fallbacks]).toEqual(['delivered', null, 1, []]);
    const files = await filesIn(inboxOf(server.account));
    expect(files.map((f) => f.name)).toEqual([pkg.fileName, `${pkg.fileName}.sha256`, 'LATEST'].sort());
    expect(files.find((f) => f.name === pkg.fileName)?.bytes.equals(await readFile(pkg.file))).toBe(true);
    expect(files.find((f) => f.name === `${pkg.fileName}.sha256`)?.bytes.equals(await readFile(pkg.sha256File))).toBe(true);
    expect(files.find((f) => f.name === 'LATEST')?.bytes.toString()).toBe(`${pkg.fileName}\n`);
    expect(files.map((f) => f.mode.toString(8))).toEqual(['644', '644', '644']);
  });

  test('an account whose shell is not in /etc/shells: AUTH_FAILED, not retried, the hint names the shell as well as the key', async () => {
    const result = await deliverOnce(difusor(server.noShellAccount), pkg);
    expect([result.outcome, result.error?.code, result.attempts]).toEqual(['failed', 'AUTH_FAILED', 1]);
    expect(result.error?.message).toMatch(/the server is Dropbear \(dropbear_2022\.83\), which also refuses, whatever the key, an account whose shell is not listed in its \/etc\/shells/);
    // Dropbear's child writes its log line as it exits, which may be just after our client gave up.
    const rejected = `User '${server.noShellAccount.username}' has invalid shell, rejected`;
    for (let waited = 0; !server.log().includes(rejected) && waited < 5000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(server.log()).toContain(rejected);
    expect(await filesIn(inboxOf(server.noShellAccount))).toEqual([]);
  });

  test('the RSA host key pinned without its type is reached (a second handshake asks for it)', async () => {
    const rsa = server.hostKeys['ssh-rsa'];
    const result = await deliverOnce(difusor(server.account, { hostKey: rsa, hostKeys: [{ fingerprint: rsa }] }), pkg);
    expect([result.outcome, result.error]).toEqual(['delivered', null]);
  });

  test('keyscan finds every host key type, each as ssh-keyscan -t TYPE | ssh-keygen -lf - prints it', async () => {
    await expectKeyscanAgreesWithOpenSSH(server);
  });
});
