// The real-sshd harness itself: real OpenSSH client against real OpenSSH server, so the delivery
// tests built on it stand on something verified.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Client, type SFTPWrapper } from 'ssh2';

import { fingerprintOf, makeKeyPair } from '../helpers/keys.js';
import { closedPort, startBlackhole } from '../helpers/net.js';
import { countLiveSftpSessions, describeSshdProcesses, registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';

const run = promisify(execFile);

interface SftpRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the OpenSSH `sftp` client in batch mode against one account, pinning the fixture's host key. */
async function sftpBatch(fixture: SshdFixture, work: string, id: string, commands: string[]): Promise<SftpRun> {
  const knownHosts = join(work, `known_hosts-${id}`);
  await writeFile(knownHosts, `[127.0.0.1]:${fixture.accounts[id].port} ${fixture.hostPublicKey}\n`);
  const batch = join(work, `batch-${id}`);
  await writeFile(batch, `${commands.join('\n')}\n`);
  const args = [
    '-b', batch,
    '-i', fixture.clientKey.privateKeyPath,
    '-P', String(fixture.accounts[id].port),
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    `${fixture.username}@127.0.0.1`,
  ];
  try {
    const { stdout, stderr } = await run('sftp', args, { cwd: work });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function openSftp(fixture: SshdFixture, id: string, privateKey: Buffer): Promise<{ client: Client; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('error', reject);
    client.once('ready', () => {
      client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp })));
    });
    client.connect({ host: '127.0.0.1', port: fixture.accounts[id].port, username: fixture.username, privateKey });
  });
}

describe('keys helper', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'prep-push-keys-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('makes ed25519 and rsa pairs whose fingerprint matches ssh-keygen -lf', async () => {
    const ed = await makeKeyPair(work, 'ed');
    const rsa = await makeKeyPair(work, 'rsa', { type: 'rsa', passphrase: 'secreto' });
    expect(ed.publicKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(rsa.publicKey).toMatch(/^ssh-rsa AAAA/);
    expect(ed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(await fingerprintOf(ed.publicKeyPath)).toBe(ed.fingerprint);
    expect(rsa.fingerprint).not.toBe(ed.fingerprint);
    expect(await readFile(rsa.privateKeyPath, 'utf8')).toContain('OPENSSH PRIVATE KEY');
  });
});

describe('net helpers', () => {
  it('closedPort refuses and the blackhole accepts without speaking', async () => {
    const { connect } = await import('node:net');
    const refused = await new Promise<string>((resolve) => {
      closedPort().then((port) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'no code'));
        s.once('connect', () => resolve('connected'));
      });
    });
    expect(refused).toBe('ECONNREFUSED');

    const hole = await startBlackhole();
    try {
      const received = await new Promise<number>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: hole.port });
        let bytes = 0;
        s.on('data', (d) => (bytes += d.length));
        s.once('error', reject);
        s.once('connect', () => setTimeout(() => (s.destroy(), resolve(bytes)), 300));
      });
      expect(received).toBe(0);
      expect(hole.accepted).toBe(1);
    } finally {
      await hole.close();
    }
  });
});

describe('real sshd fixture', () => {
  let fixture: SshdFixture;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'prep-push-harness-'));
    fixture = await startSshd({ accounts: [{ id: 'el-sol' }, { id: 'la-voz', readOnly: true }] });
  });
  afterAll(async () => {
    await fixture?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('accepts the OpenSSH sftp client: put, rename, list, with the host key pinned', async () => {
    await writeFile(join(work, 'paquete.tar.gz'), 'contenido del paquete\n');
    const dir = fixture.accounts['el-sol'].dir;
    const result = await sftpBatch(fixture, work, 'el-sol', [
      `put paquete.tar.gz ${dir}/.paquete.tar.gz.part`,
      `rename ${dir}/.paquete.tar.gz.part ${dir}/paquete.tar.gz`,
      `ls -1 ${dir}`,
    ]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('paquete.tar.gz');
    expect(await readdir(dir)).toEqual(['paquete.tar.gz']);
    expect(await readFile(join(dir, 'paquete.tar.gz'), 'utf8')).toBe('contenido del paquete\n');
  });

  it('starts in the account directory (ForceCommand internal-sftp -d)', async () => {
    const result = await sftpBatch(fixture, work, 'el-sol', ['pwd']);
    expect(result.stdout).toContain(fixture.accounts['el-sol'].dir);
  });

  it('refuses writes on a read-only account with permission denied', async () => {
    await writeFile(join(work, 'x.txt'), 'x');
    const dir = fixture.accounts['la-voz'].dir;
    const result = await sftpBatch(fixture, work, 'la-voz', [`put x.txt ${dir}/x.txt`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Permission denied/i);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects a client that pins a different host key', async () => {
    const other = await makeKeyPair(work, 'other_host');
    const knownHosts = join(work, 'known_hosts_wrong');
    await writeFile(knownHosts, `[127.0.0.1]:${fixture.accounts['el-sol'].port} ${other.publicKey}\n`);
    await expect(
      run('sftp', ['-b', '/dev/null', '-i', fixture.clientKey.privateKeyPath, '-P', String(fixture.accounts['el-sol'].port),
        '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '127.0.0.1']),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/) });
  });

  it('counts live SFTP sessions server-side', async () => {
    const key = await readFile(fixture.clientKey.privateKeyPath);
    expect(countLiveSftpSessions(fixture)).toBe(0);
    const sessions = await Promise.all([1, 2, 3].map(() => openSftp(fixture, 'el-sol', key)));
    try {
      expect({ count: countLiveSftpSessions(fixture), tree: describeSshdProcesses(fixture) }).toMatchObject({ count: 3 });
    } finally {
      for (const s of sessions) s.client.end();
    }
    const deadline = Date.now() + 5000;
    while (countLiveSftpSessions(fixture) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(countLiveSftpSessions(fixture)).toBe(0);
  });

  it('holds 100 concurrent SFTP sessions on one account (MaxStartups/MaxSessions are high enough)', async () => {
    const key = await readFile(fixture.clientKey.privateKeyPath);
    const started = performance.now();
    const sessions = await Promise.all(Array.from({ length: 100 }, () => openSftp(fixture, 'el-sol', key)));
    const seconds = (performance.now() - started) / 1000;
    try {
      expect(countLiveSftpSessions(fixture)).toBe(100);
      expect(seconds).toBeLessThan(30);
    } finally {
      for (const s of sessions) s.client.end();
    }
  });

  it('killAll drops live connections (the server dying mid-transfer)', async () => {
    const scratch = await startSshd({ accounts: [{ id: 'a' }] });
    try {
      const key = await readFile(scratch.clientKey.privateKeyPath);
      const { client } = await openSftp(scratch, 'a', key);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      scratch.killAll();
      await closed;
      // Every process got SIGKILL, but the client can see the socket close before the last of them
      // (the internal-sftp child) has been scheduled to die: on a loaded machine it shows for a moment.
      const deadline = Date.now() + 5000;
      while (countLiveSftpSessions(scratch) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(countLiveSftpSessions(scratch)).toBe(0);
    } finally {
      await scratch.stop();
    }
  });

  it('builds a registry YAML pointing at the accounts', () => {
    const yaml = registryYamlFor(fixture, ['el-sol'], { push: { concurrency: 4 } });
    expect(yaml).toContain(`port: ${fixture.accounts['el-sol'].port}`);
    expect(yaml).toContain(`host_key: "${fixture.hostKeyFingerprint}"`);
    expect(yaml).toContain('concurrency: 4');
    expect(yaml).not.toContain('la-voz');
  });
});

describe('many accounts', () => {
  it('serves 20 accounts from 2 sshd processes, each writable through its own port', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}`);
    const fixture = await startSshd({ accounts: ids.map((id) => ({ id })) });
    const work = await mkdtemp(join(tmpdir(), 'prep-push-harness20-'));
    try {
      expect(fixture.pids).toHaveLength(2);
      expect(new Set(ids.map((id) => fixture.accounts[id].port)).size).toBe(20);
      await writeFile(join(work, 'f.txt'), 'hola');
      const results = await Promise.all(
        ids.map((id) => sftpBatch(fixture, work, id, [`put f.txt ${fixture.accounts[id].dir}/f-${id}.txt`])),
      );
      expect(results.map((r) => r.code)).toEqual(ids.map(() => 0));
      for (const id of ids) expect(await readdir(fixture.accounts[id].dir)).toEqual([`f-${id}.txt`]);
    } finally {
      await fixture.stop();
      await rm(work, { recursive: true, force: true });
    }
  });
});
