// A real Dropbear 2022.83 server (SFTP through OpenSSH's sftp-server) for interoperability tests:
// two throwaway system accounts with key authentication, one with a login shell and one whose
// shell is not in /etc/shells (Dropbear refuses it whatever the key).
// Uses no jest globals: tsconfig.build.json compiles it into dist/ for the benchmark.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

import { makeKeyPair } from './keys.js';
import { freePort } from './net.js';
import { waitForExit, waitUntilAccepting } from './sshd.js';

const run = promisify(execFile);

const DROPBEAR = '/usr/sbin/dropbear';
/** Debian's dropbear runs this for the `sftp` subsystem (through the account's shell). */
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** Why Dropbear cannot run here, or undefined when it can (tests skip visibly with this text). */
export function dropbearUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'Dropbear tests need root (throwaway system accounts)';
  if (!existsSync(DROPBEAR)) return `${DROPBEAR} is missing (apt-get install dropbear-bin)`;
  if (!existsSync(SFTP_SERVER)) return `${SFTP_SERVER} is missing (apt-get install openssh-sftp-server)`;
  if (!existsSync('/usr/sbin/useradd')) return 'useradd is missing (passwd package)';
  return undefined;
}

export interface DropbearAccount {
  username: string;
  /** Home on this machine; no chroot, so the account writes this very path. */
  homeDir: string;
}

export interface DropbearFixture {
  host: string;
  port: number;
  /** An account with /bin/sh as its shell: SFTP works. */
  account: DropbearAccount;
  /** An account whose shell is /usr/sbin/nologin: Dropbear refuses to log it in. */
  noShellAccount: DropbearAccount;
  hostKeys: { 'ssh-ed25519': string; 'ssh-rsa': string };
  clientKey: { privateKeyPath: string; publicKey: string; fingerprint: string };
  /** Dropbear's own log (stderr with -E). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `dropbear -F -E` on a free 127.0.0.1 port with two fresh accounts; waits until it accepts. */
export async function startDropbear(): Promise<DropbearFixture> {
  const unavailable = dropbearUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const root = await mkdtemp(join(tmpdir(), 'prep-push-dropbear-'));
  await chmod(root, 0o755);
  const suffix = randomBytes(3).toString('hex');
  const usernames: string[] = [];
  let child: ChildProcess | undefined;
  const cleanUp = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      // Connection processes (forked per client) end when their client hangs up.
      child.kill('SIGKILL');
      await waitForExit(child);
    }
    for (const username of usernames) await run('userdel', ['-f', username]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const clientKey = await makeKeyPair(root, 'client_ed25519');
    const makeAccount = async (name: string, shell: string): Promise<DropbearAccount> => {
      const username = `ppdb-${name}-${suffix}`;
      const homeDir = join(root, username);
      await run('useradd', ['--system', '--no-create-home', '--home-dir', homeDir, '--shell', shell, '--user-group', username]);
      usernames.push(username);
      await mkdir(join(homeDir, '.ssh'), { recursive: true, mode: 0o700 });
      await writeFile(join(homeDir, '.ssh', 'authorized_keys'), `${clientKey.publicKey}\n`, { mode: 0o600 });
      const { stdout } = await run('id', ['-u', username]);
      const { stdout: gid } = await run('id', ['-g', username]);
      for (const path of [homeDir, join(homeDir, '.ssh'), join(homeDir, '.ssh', 'authorized_keys')]) {
        await chown(path, Number(stdout.trim()), Number(gid.trim()));
      }
      await chmod(homeDir, 0o755);
      return { username, homeDir };
    };
    const account = await makeAccount('sh', '/bin/sh');
    const noShellAccount = await makeAccount('nosh', '/usr/sbin/nologin');

    const hostKeys = { 'ssh-ed25519': '', 'ssh-rsa': '' };
    const keyArgs: string[] = [];
    for (const [type, file, extra] of [
      ['ssh-ed25519', 'host_ed25519', []],
      ['ssh-rsa', 'host_rsa', ['-s', '2048']],
    ] as const) {
      const path = join(root, file);
      await run('dropbearkey', ['-t', type === 'ssh-rsa' ? 'rsa' : 'ed25519', ...extra, '-f', path]);
      const { stdout } = await run('dropbearkey', ['-y', '-f', path]);
      const match = /Fingerprint: (SHA256:[A-Za-z0-9+/]+)/.exec(stdout);
      if (!match) throw new Error(`dropbearkey -y -f ${path} printed no SHA256 fingerprint: ${stdout}`);
      hostKeys[type] = match[1];
      keyArgs.push('-r', path);
    }

    const port = await freePort();
    // -F foreground, -E log to stderr, -s no passwords, -w no root logins, -j/-k no forwarding.
    child = spawn(DROPBEAR, ['-F', '-E', '-s', '-w', '-j', '-k', '-p', `127.0.0.1:${port}`, '-P', join(root, 'dropbear.pid'), ...keyArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    try {
      await waitUntilAccepting('127.0.0.1', port, child);
    } catch (error) {
      throw new Error(`dropbear did not start on 127.0.0.1:${port}: ${(error as Error).message}\n${log}`);
    }
    return {
      host: '127.0.0.1',
      port,
      account,
      noShellAccount,
      hostKeys,
      clientKey: { privateKeyPath: clientKey.privateKeyPath, publicKey: clientKey.publicKey, fingerprint: clientKey.fingerprint },
      log: () => log,
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
