// The in-process SFTP server, checked with the two clients that matter: OpenSSH's sftp (the
// reference) and ssh2 (what prep-push uses), and one test per injected fault showing it happens.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Client, type SFTPWrapper } from 'ssh2';

import { startSftpServer, type SftpFaults, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { fingerprintOf, makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { startSshd } from '../helpers/sshd.js';

const run = promisify(execFile);

let work: string;
let clientKey: KeyPair;
let privateKey: Buffer;
const servers: SftpServerHandle[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-push-sftpd-'));
  clientKey = await makeKeyPair(work, 'client');
  privateKey = await readFile(clientKey.privateKeyPath);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let rootCount = 0;
async function serve(faults?: SftpFaults, extra: { password?: string } = {}): Promise<{ server: SftpServerHandle; root: string }> {
  const root = join(work, `root${(rootCount += 1)}`);
  await mkdir(join(root, 'prep'), { recursive: true });
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [clientKey.publicKey], faults, ...extra });
  servers.push(server);
  return { server, root };
}

interface Connected {
  client: Client;
  sftp: SFTPWrapper;
  closed: Promise<void>;
  /** Errors the client emitted after it was ready (a lost connection shows here). */
  errors: Error[];
}

function connectSftp(server: SftpServerHandle, auth: { privateKey?: Buffer; password?: string } = { privateKey }): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const closed = new Promise<void>((done) => client.once('close', () => done()));
    const errors: Error[] = [];
    client.on('error', (error) => {
      errors.push(error);
      reject(error); // no effect once connected
    });
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp, closed, errors }))));
    client.connect({
      host: '127.0.0.1',
      port: server.port,
      username: 'iem',
      ...auth,
      hostVerifier: (key: Buffer) => key.equals(Buffer.from(server.hostPublicKey.split(' ')[1], 'base64')),
    });
  });
}

const fastPut = (sftp: SFTPWrapper, local: string, remote: string): Promise<void> =>
  new Promise((resolve, reject) => sftp.fastPut(local, remote, (err) => (err ? reject(err) : resolve())));

async function bigFile(name: string, bytes: number): Promise<string> {
  const path = join(work, name);
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 1) data[i] = (i * 31 + 7) & 0xff;
  await writeFile(path, data);
  return path;
}

async function openSshSftp(server: SftpServerHandle, commands: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const knownHosts = join(work, `known_hosts_${server.port}`);
  await writeFile(knownHosts, `[127.0.0.1]:${server.port} ${server.hostPublicKey}\n`);
  const batch = join(work, `batch_${server.port}`);
  await writeFile(batch, `${commands.join('\n')}\n`);
  try {
    const { stdout, stderr } = await run(
      'sftp',
      ['-b', batch, '-i', clientKey.privateKeyPath, '-P', String(server.port), '-o', `UserKnownHostsFile=${knownHosts}`,
        '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', 'iem@127.0.0.1'],
      { cwd: work },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('with the OpenSSH sftp client', () => {
  it('puts, renames (posix-rename), lists, gets, makes and removes directories, reports df', async () => {
    const { server, root } = await serve();
    await writeFile(join(work, 'paquete.tar.gz'), 'paquete\n');
    const result = await openSshSftp(server, [
      'pwd',
      'cd /prep',
      'put paquete.tar.gz .paquete.part',
      'rename .paquete.part paquete.tar.gz',
      'mkdir sub',
      'rmdir sub',
      'ls -l',
      'get paquete.tar.gz copia.tar.gz',
      'df /prep',
    ]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('Remote working directory: /');
    expect(result.stdout).toMatch(/-rw.* paquete\.tar\.gz/);
    expect(result.stdout).toMatch(/Size\s+Used\s+Avail/); // df needs statvfs@openssh.com, so the VERSION advertised it
    expect(await readdir(join(root, 'prep'))).toEqual(['paquete.tar.gz']);
    expect(await readFile(join(work, 'copia.tar.gz'), 'utf8')).toBe('paquete\n');
  });

  it('pins the host key: a known_hosts with another key is refused', async () => {
    const { server } = await serve();
    const other = await startSftpServer({ root: work, username: 'iem', authorizedKeys: [clientKey.publicKey] });
    servers.push(other);
    const knownHosts = join(work, 'known_hosts_wrong');
    await writeFile(knownHosts, `[127.0.0.1]:${server.port} ${other.hostPublicKey}\n`);
    await expect(
      run('sftp', ['-b', '/dev/null', '-i', clientKey.privateKeyPath, '-P', String(server.port), '-o', `UserKnownHostsFile=${knownHosts}`,
        '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', 'iem@127.0.0.1']),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/Host key verification failed/) });
  });

  it('readOnly answers a put with permission denied, as sftp-server -R does', async () => {
    const { server, root } = await serve({ readOnly: true });
    await writeFile(join(work, 'x.txt'), 'x');
    const result = await openSshSftp(server, ['put x.txt /prep/x.txt']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied/);
    expect(await readdir(join(root, 'prep'))).toEqual([]);
  });
});

describe('host key', () => {
  it('reports the fingerprint ssh-keygen -lf prints, for a generated and for a given key', async () => {
    const { server } = await serve();
    await writeFile(join(work, 'generated.pub'), `${server.hostPublicKey}\n`);
    expect(server.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(await fingerprintOf(join(work, 'generated.pub'))).toBe(server.hostKeyFingerprint);

    const given = await makeKeyPair(work, 'given_host');
    const withGiven = await startSftpServer({ root: work, username: 'iem', hostKey: await readFile(given.privateKeyPath), authorizedKeys: [] });
    servers.push(withGiven);
    expect(withGiven.hostKeyFingerprint).toBe(given.fingerprint);
  });

  it('refuses a root that is not a directory, naming it', async () => {
    await expect(startSftpServer({ root: join(work, 'nope'), username: 'iem' })).rejects.toThrow(/nope is not a directory/);
  });
});

describe('with the ssh2 client', () => {
  it('fastPut then ext_openssh_rename replaces the target atomically; statvfs answers', async () => {
    const { server, root } = await serve();
    await writeFile(join(root, 'prep', 'LATEST'), 'old\n');
    const local = await bigFile('one-mb.bin', 1024 * 1024 + 17);
    const { client, sftp } = await connectSftp(server);
    try {
      await fastPut(sftp, local, '/prep/.p.part');
      await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename('/prep/.p.part', '/prep/LATEST', (e) => (e ? reject(e) : resolve())));
      const stats = await new Promise<{ f_bavail: number }>((resolve, reject) =>
        sftp.ext_openssh_statvfs('/prep', (e: Error | undefined, s: { f_bavail: number }) => (e ? reject(e) : resolve(s))),
      );
      expect(stats.f_bavail).toBeGreaterThan(0);
    } finally {
      client.end();
    }
    expect(await readdir(join(root, 'prep'))).toEqual(['LATEST']);
    expect((await readFile(join(root, 'prep', 'LATEST'))).equals(await readFile(local))).toBe(true);
    expect(server.bytesWritten).toBe(1024 * 1024 + 17);
    expect(server.connections).toBe(1);
  });

  it('plain RENAME refuses to replace an existing file (SFTP v3, as OpenSSH)', async () => {
    const { server, root } = await serve();
    await writeFile(join(root, 'prep', 'a'), 'a');
    await writeFile(join(root, 'prep', 'b'), 'b');
    const { client, sftp } = await connectSftp(server);
    try {
      await expect(new Promise<void>((resolve, reject) => sftp.rename('/prep/a', '/prep/b', (e) => (e ? reject(e) : resolve())))).rejects.toMatchObject({ code: 4 });
    } finally {
      client.end();
    }
    expect(await readFile(join(root, 'prep', 'b'), 'utf8')).toBe('b');
  });

  it('keeps .. inside the root', async () => {
    const { server, root } = await serve();
    await writeFile(join(work, 'escape.txt'), 'e');
    const { client, sftp } = await connectSftp(server);
    try {
      await fastPut(sftp, join(work, 'escape.txt'), '/../../../escape.txt');
    } finally {
      client.end();
    }
    expect(await readdir(root)).toEqual(expect.arrayContaining(['escape.txt']));
  });

  it('maps a missing file to NO_SUCH_FILE and lists a directory', async () => {
    const { server, root } = await serve();
    await writeFile(join(root, 'prep', 'uno'), '1');
    const { client, sftp } = await connectSftp(server);
    try {
      await expect(new Promise((resolve, reject) => sftp.stat('/prep/nada', (e, s) => (e ? reject(e) : resolve(s))))).rejects.toMatchObject({ code: 2 });
      const list = await new Promise<string[]>((resolve, reject) => sftp.readdir('/prep', (e, l) => (e ? reject(e) : resolve(l.map((x) => x.filename)))));
      expect(list).toEqual(['uno']);
    } finally {
      client.end();
    }
  });

  it('accepts a password when one is configured, and refuses a wrong one or an unknown key', async () => {
    const { server } = await serve(undefined, { password: 'clave-demo' });
    const ok = await connectSftp(server, { password: 'clave-demo' });
    ok.client.end();
    await expect(connectSftp(server, { password: 'otra' })).rejects.toMatchObject({ level: 'client-authentication' });
    const stranger = await makeKeyPair(work, `stranger${rootCount}`);
    await expect(connectSftp(server, { privateKey: await readFile(stranger.privateKeyPath) })).rejects.toMatchObject({ level: 'client-authentication' });
  });

  it('counts concurrent sessions (high-water mark)', async () => {
    const { server } = await serve();
    const sessions = await Promise.all([1, 2, 3, 4, 5].map(() => connectSftp(server)));
    expect(server.activeSessions()).toBe(5);
    for (const s of sessions) s.client.end();
    await Promise.all(sessions.map((s) => s.closed));
    const deadline = Date.now() + 2000;
    while (server.activeSessions() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.activeSessions()).toBe(0);
    expect(server.maxConcurrentSessions).toBe(5);
  });
});

describe('faults', () => {
  it('refuseAll rejects a valid key', async () => {
    const { server } = await serve({ refuseAll: true });
    await expect(connectSftp(server)).rejects.toMatchObject({ level: 'client-authentication' });
  });

  it('stallAfterBytes: the upload does not complete and the connection stays open', async () => {
    const { server } = await serve({ stallAfterBytes: 64 * 1024 });
    const local = await bigFile('stall.bin', 2 * 1024 * 1024);
    const { client, sftp, closed } = await connectSftp(server);
    try {
      const outcome = await Promise.race([
        fastPut(sftp, local, '/prep/stall.bin').then(() => 'completed', () => 'failed'),
        closed.then(() => 'closed'),
        new Promise((r) => setTimeout(() => r('still waiting'), 2000)),
      ]);
      expect(outcome).toBe('still waiting');
      expect(server.bytesWritten).toBeLessThanOrEqual(64 * 1024);
    } finally {
      client.end();
    }
  });

  it('dropAfterBytes: the client sees the connection reset and close', async () => {
    const { server } = await serve({ dropAfterBytes: 100 * 1024 });
    const local = await bigFile('drop.bin', 1024 * 1024);
    const { sftp, closed, errors } = await connectSftp(server);
    // ssh2's fastPut never calls back once the connection is gone: callers need their own deadline.
    void fastPut(sftp, local, '/prep/drop.bin').catch(() => {});
    await closed;
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toContain('ECONNRESET');
    expect(server.bytesWritten).toBeLessThanOrEqual(100 * 1024);
  });

  it('onlyFirstConnections: the first connection drops, a second one succeeds', async () => {
    const { server, root } = await serve({ dropAfterBytes: 10 * 1024, onlyFirstConnections: 1 });
    const local = await bigFile('retry.bin', 256 * 1024);
    const first = await connectSftp(server);
    void fastPut(first.sftp, local, '/prep/retry.bin').catch(() => {});
    await first.closed;
    const second = await connectSftp(server);
    try {
      await fastPut(second.sftp, local, '/prep/retry.bin');
    } finally {
      second.client.end();
    }
    expect((await readFile(join(root, 'prep', 'retry.bin'))).length).toBe(256 * 1024);
    expect(server.connections).toBe(2);
  });

  it('failWritesAfterBytes: the upload errors with FAILURE "Failure" and statvfs reports a full disk', async () => {
    const { server } = await serve({ failWritesAfterBytes: 100 * 1024 });
    const local = await bigFile('full.bin', 512 * 1024);
    const { client, sftp } = await connectSftp(server);
    try {
      await expect(fastPut(sftp, local, '/prep/full.bin')).rejects.toMatchObject({ code: 4, message: expect.stringContaining('Failure') });
      const stats = await new Promise<{ f_bavail: number; f_bfree: number }>((resolve, reject) =>
        sftp.ext_openssh_statvfs('/prep', (e: Error | undefined, s: { f_bavail: number; f_bfree: number }) => (e ? reject(e) : resolve(s))),
      );
      expect(stats).toMatchObject({ f_bavail: 0, f_bfree: 0 });
    } finally {
      client.end();
    }
    expect(server.bytesWritten).toBeLessThanOrEqual(100 * 1024);
  });

  it('failWritesMessage changes the full-disk message (servers that say more than OpenSSH)', async () => {
    const { server } = await serve({ failWritesAfterBytes: 0, failWritesMessage: 'No space left on device' });
    const local = await bigFile('full2.bin', 64 * 1024);
    const { client, sftp } = await connectSftp(server);
    try {
      await expect(fastPut(sftp, local, '/prep/full2.bin')).rejects.toMatchObject({ code: 4, message: expect.stringContaining('No space left on device') });
    } finally {
      client.end();
    }
  });

  it('latencyMs delays every reply by a measurable amount', async () => {
    const timeStats = async (faults?: SftpFaults): Promise<number> => {
      const { server } = await serve(faults);
      const { client, sftp } = await connectSftp(server);
      try {
        const start = performance.now();
        for (let i = 0; i < 3; i += 1) await new Promise((resolve, reject) => sftp.stat('/prep', (e, s) => (e ? reject(e) : resolve(s))));
        return performance.now() - start;
      } finally {
        client.end();
      }
    };
    const fast = await timeStats();
    const slow = await timeStats({ latencyMs: 150 });
    expect(slow).toBeGreaterThanOrEqual(3 * 150 - 5);
    expect(slow - fast).toBeGreaterThanOrEqual(3 * 140);
  });

  it('bytesPerSecond throttles an upload', async () => {
    const { server } = await serve({ bytesPerSecond: 512 * 1024 });
    const local = await bigFile('slow.bin', 512 * 1024);
    const { client, sftp } = await connectSftp(server);
    try {
      const start = performance.now();
      await fastPut(sftp, local, '/prep/slow.bin');
      expect(performance.now() - start).toBeGreaterThanOrEqual(900);
    } finally {
      client.end();
    }
  });
});

describe('reference: what real OpenSSH sends', () => {
  it('answers a write that fails with ENOSPC with a bare "Failure" (what failWritesAfterBytes mimics)', async () => {
    const fixture = await startSshd({ accounts: [{ id: 'ref' }] });
    try {
      const key = await readFile(fixture.clientKey.privateKeyPath);
      const { sftp, client } = await new Promise<{ client: Client; sftp: SFTPWrapper }>((resolve, reject) => {
        const c = new Client();
        c.on('error', reject);
        c.once('ready', () => c.sftp((e, s) => (e ? reject(e) : resolve({ client: c, sftp: s }))));
        c.connect({ host: '127.0.0.1', port: fixture.accounts.ref.port, username: fixture.username, privateKey: key });
      });
      try {
        const local = await bigFile('ref.bin', 64 * 1024);
        // /dev/full answers every write with ENOSPC: a full disk without filling one.
        await expect(fastPut(sftp, local, '/dev/full')).rejects.toMatchObject({ code: 4, message: expect.stringMatching(/^Failure/) });
      } finally {
        client.end();
      }
    } finally {
      await fixture.stop();
    }
  });
});
