// A real ProFTPD 1.3.8 mod_sftp server for interoperability tests: one SFTP-only virtual account
// with key authentication, optionally chrooted, optionally with a tiny full-disk folder (tmpfs).
// Uses no jest globals: tsconfig.build.json compiles it into dist/ for the benchmark.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { fingerprintOf, makeKeyPair } from './keys.js';
import { freePort } from './net.js';
import { waitForExit, waitUntilAccepting } from './sshd.js';

const run = promisify(execFile);

const PROFTPD = '/usr/sbin/proftpd';
const MOD_SFTP = '/usr/lib/proftpd/mod_sftp.so';
/** The virtual account's uid/gid: nobody, so the server really drops root for the session. */
const ACCOUNT_UID = 65534;
const ACCOUNT_GID = 65534;
const ACCOUNT_NAME = 'prep';

/** Why ProFTPD cannot run here, or undefined when it can (tests skip visibly with this text). */
export function proftpdUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'ProFTPD tests need root (the server drops to the account uid)';
  if (!existsSync(PROFTPD)) return `${PROFTPD} is missing (apt-get install proftpd-core)`;
  if (!existsSync(MOD_SFTP)) return `${MOD_SFTP} is missing (apt-get install proftpd-mod-crypto)`;
  return undefined;
}

export interface StartProftpdOptions {
  /** `DefaultRoot ~`: the account sees its home as `/`. */
  chroot?: boolean;
  /**
   * Mounts a tmpfs of this many bytes at `<home>/full` (a disk that fills up). The fixture's
   * `fullDiskUnavailable` says why when the mount is refused.
   */
  fullDiskBytes?: number;
}

export interface ProftpdFixture {
  host: string;
  port: number;
  username: string;
  /** The account's home on this machine; with `chroot`, the account sees it as `/`. */
  homeDir: string;
  /** The path the account writes for a local folder under `homeDir`. */
  remotePathOf(localPath: string): string;
  /** Local path of the tmpfs folder that fills up (`fullDiskBytes`), when it could be mounted. */
  fullDiskDir?: string;
  fullDiskUnavailable?: string;
  /** Fingerprints of the server's host keys, `SHA256:...`, by type. */
  hostKeys: { 'ssh-ed25519': string; 'ssh-rsa': string };
  clientKey: { privateKeyPath: string; publicKey: string; fingerprint: string };
  /** mod_sftp's log (authentication, channel requests, permissions set). */
  logFile: string;
  stop(): Promise<void>;
}

/** Starts `proftpd -n` as root on a free 127.0.0.1 port and waits until it accepts connections. */
export async function startProftpd(opts: StartProftpdOptions = {}): Promise<ProftpdFixture> {
  const unavailable = proftpdUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const root = await mkdtemp(join(tmpdir(), 'prep-push-proftpd-'));
  // Without a chroot the session (uid nobody) walks the path from / to its home.
  await chmod(root, 0o755);
  let child: ChildProcess | undefined;
  let fullDiskDir: string | undefined;
  const cleanUp = async (): Promise<void> => {
    if (child) await stopServer(child);
    if (fullDiskDir) await run('umount', ['-l', fullDiskDir]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const ed25519 = await makeKeyPair(root, 'host_ed25519');
    // mod_sftp reads RSA host keys in PEM form.
    const rsaPath = join(root, 'host_rsa');
    await run('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', rsaPath]);
    const clientKey = await makeKeyPair(root, 'client_ed25519');
    // mod_sftp's file: key store wants RFC 4716 public keys.
    const { stdout: rfc4716 } = await run('ssh-keygen', ['-e', '-f', clientKey.publicKeyPath]);
    const authorizedKeys = join(root, 'authorized_keys');
    await writeFile(authorizedKeys, rfc4716, { mode: 0o644 });

    const homeDir = join(root, 'home', ACCOUNT_NAME);
    await mkdir(homeDir, { recursive: true });
    await chown(join(root, 'home'), 0, 0);
    await chown(homeDir, ACCOUNT_UID, ACCOUNT_GID);
    let fullDiskUnavailable: string | undefined;
    if (opts.fullDiskBytes !== undefined) {
      const dir = join(homeDir, 'full');
      await mkdir(dir);
      try {
        await run('mount', ['-t', 'tmpfs', '-o', `size=${opts.fullDiskBytes},mode=0755,uid=${ACCOUNT_UID},gid=${ACCOUNT_GID}`, 'tmpfs', dir]);
        fullDiskDir = dir;
      } catch (error) {
        fullDiskUnavailable = `cannot mount a tmpfs for the full disk: ${(error as Error).message.split('\n')[0]}`;
      }
    }

    const passwd = join(root, 'passwd');
    const group = join(root, 'group');
    await writeFile(passwd, `${ACCOUNT_NAME}:x:${ACCOUNT_UID}:${ACCOUNT_GID}::${homeDir}:/bin/false\n`, { mode: 0o600 });
    await writeFile(group, `${ACCOUNT_NAME}:x:${ACCOUNT_GID}:\n`, { mode: 0o600 });
    const logFile = join(root, 'sftp.log');
    const port = await freePort();
    const configFile = join(root, 'proftpd.conf');
    await writeFile(
      configFile,
      [
        'ServerType standalone',
        'DefaultServer off',
        'Port 0',
        'SocketBindTight on',
        'User nobody',
        'Group nogroup',
        `PidFile ${join(root, 'proftpd.pid')}`,
        `ScoreboardFile ${join(root, 'scoreboard')}`,
        'DelayTable none',
        'WtmpLog off',
        'UseReverseDNS off',
        'TransferLog none',
        `SystemLog ${join(root, 'system.log')}`,
        '<IfModule mod_ctrls.c>',
        '  ControlsEngine off',
        '</IfModule>',
        'LoadModule mod_sftp.c',
        '<VirtualHost 127.0.0.1>',
        `  Port ${port}`,
        '  SFTPEngine on',
        `  SFTPLog ${logFile}`,
        `  SFTPHostKey ${ed25519.privateKeyPath}`,
        `  SFTPHostKey ${rsaPath}`,
        '  SFTPAuthMethods publickey',
        `  SFTPAuthorizedUserKeys file:${authorizedKeys}`,
        '  AuthOrder mod_auth_file.c',
        `  AuthUserFile ${passwd}`,
        `  AuthGroupFile ${group}`,
        '  RequireValidShell off',
        ...(opts.chroot ? ['  DefaultRoot ~'] : []),
        // A permissive umask, as on many hosting setups: files get the mode the client asks for.
        '  Umask 000',
        '  AllowOverwrite on',
        '</VirtualHost>',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    child = spawn(PROFTPD, ['-n', '-q', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await waitUntilAccepting('127.0.0.1', port, child);
    } catch (error) {
      throw new Error(`proftpd did not start on 127.0.0.1:${port}: ${(error as Error).message}\n${stderr}`);
    }
    child.stderr?.removeAllListeners('data');
    child.stderr?.resume();
    const chrooted = opts.chroot === true;
    return {
      host: '127.0.0.1',
      port,
      username: ACCOUNT_NAME,
      homeDir,
      remotePathOf: (localPath) => {
        if (!chrooted) return localPath;
        if (!localPath.startsWith(homeDir)) throw new Error(`${localPath} is outside the jail ${homeDir}`);
        return localPath.slice(homeDir.length) || '/';
      },
      fullDiskDir,
      fullDiskUnavailable,
      hostKeys: { 'ssh-ed25519': ed25519.fingerprint, 'ssh-rsa': await fingerprintOf(`${rsaPath}.pub`) },
      clientKey: { privateKeyPath: clientKey.privateKeyPath, publicKey: clientKey.publicKey, fingerprint: clientKey.fingerprint },
      logFile,
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** SIGTERM makes the ProFTPD master end its session processes too; SIGKILL if it lingers. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await waitForExit(child);
  clearTimeout(timer);
}
