// Real OpenSSH sshd instances for the benchmark: one SFTP-only account (directory) per port, at most
// 16 ports per sshd process (sshd's MAX_LISTEN_SOCKS), optionally inside a network namespace.
// A trimmed copy of tests/helpers/sshd.ts: bench/ is compiled into dist/ and must not pull tests/ in.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const PORTS_PER_SSHD = 16;
const START_TIMEOUT_MS = 15_000;

export interface KeyPair {
  privateKeyPath: string;
  publicKey: string;
  fingerprint: string;
}

export interface BenchAccount {
  id: string;
  host: string;
  port: number;
  /** Where the account writes; local path = remote path (no chroot). */
  dir: string;
}

export interface BenchSshd {
  hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA...`, for a known_hosts line. */
  hostPublicKey: string;
  clientKey: KeyPair;
  username: string;
  accounts: BenchAccount[];
  root: string;
  stop(): Promise<void>;
}

export interface StartBenchSshdOptions {
  count: number;
  /** Default 127.0.0.1. */
  listenHost?: string;
  /** Run sshd inside this network namespace (`ip netns exec`); ports are then fixed from 22000. */
  netns?: string;
  /** Reuse keys (so every fixture of a run shares one client key). */
  clientKey?: KeyPair;
  idPrefix?: string;
}

export async function makeKeyPair(dir: string, name: string): Promise<KeyPair> {
  const privateKeyPath = join(dir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@prep-push-bench`, '-f', privateKeyPath]);
  const publicKey = (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim();
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${privateKeyPath}.pub`]);
  const match = /\b(SHA256:[A-Za-z0-9+/]+)/.exec(stdout);
  if (!match) throw new Error(`ssh-keygen -lf ${privateKeyPath}.pub printed no fingerprint: ${stdout}`);
  return { privateKeyPath, publicKey, fingerprint: match[1] };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export async function startBenchSshd(opts: StartBenchSshdOptions): Promise<BenchSshd> {
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const host = opts.listenHost ?? '127.0.0.1';
  const root = await mkdtemp(join(tmpdir(), 'prep-bench-sshd-'));
  const children: ChildProcess[] = [];
  const killAll = async (): Promise<void> => {
    const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
    // Connection processes call setsid(): a group kill would miss them, so walk /proc.
    for (const pid of [...pids.flatMap(descendantsOf), ...pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all(children.map(waitForExit));
  };
  try {
    const hostKey = await makeKeyPair(root, 'host_ed25519');
    const clientKey = opts.clientKey ?? (await makeKeyPair(root, 'client_ed25519'));
    const authorizedKeys = join(root, 'authorized_keys');
    await writeFile(authorizedKeys, `${clientKey.publicKey}\n`, { mode: 0o600 });
    const logFile = join(root, 'sshd.log');
    await writeFile(logFile, '');
    const accounts: BenchAccount[] = [];
    for (let i = 0; i < opts.count; i += 1) {
      const id = `${opts.idPrefix ?? 'd'}${String(i + 1).padStart(3, '0')}`;
      const dir = join(root, 'accounts', id);
      await mkdir(dir, { recursive: true });
      accounts.push({ id, host, port: 0, dir });
    }
    let nextFixedPort = 22000;
    for (let start = 0, n = 0; start < accounts.length; start += PORTS_PER_SSHD, n += 1) {
      const group = accounts.slice(start, start + PORTS_PER_SSHD);
      const ports: number[] = [];
      while (ports.length < group.length) {
        const port = opts.netns ? nextFixedPort++ : await freePort();
        if (!ports.includes(port)) ports.push(port);
      }
      group.forEach((a, i) => (a.port = ports[i]));
      const configFile = join(root, `sshd${n}.conf`);
      await writeFile(configFile, sshdConfig(root, n, host, group, hostKey.privateKeyPath, authorizedKeys), { mode: 0o600 });
      const argv = [SSHD, '-D', '-f', configFile, '-E', logFile];
      const child = opts.netns
        ? spawn('ip', ['netns', 'exec', opts.netns, ...argv], { stdio: 'ignore' })
        : spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
      children.push(child);
      try {
        await Promise.all(group.map((a) => waitUntilAccepting(host, a.port, child)));
      } catch (error) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        throw new Error(`sshd${n} (${host}, ports ${ports.join(',')}) did not start: ${(error as Error).message}\n${log.slice(-2000)}`);
      }
    }
    return {
      hostKeyFingerprint: hostKey.fingerprint,
      hostPublicKey: hostKey.publicKey.split(' ').slice(0, 2).join(' '),
      clientKey,
      username: userInfo().username,
      accounts,
      root,
      stop: async () => {
        await killAll();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await killAll();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

function sshdConfig(root: string, n: number, host: string, group: BenchAccount[], hostKeyPath: string, authorizedKeys: string): string {
  const lines = [
    ...group.map((a) => `ListenAddress ${host}:${a.port}`),
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(root, `sshd${n}.pid`)}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'UseDNS no',
    'MaxStartups 400',
    'MaxSessions 200',
    'MaxAuthTries 10',
    'LoginGraceTime 60',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    'PrintMotd no',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
    '',
  ];
  for (const a of group) lines.push(`Match LocalPort ${a.port}`, `  ForceCommand internal-sftp -d ${a.dir}`, '');
  return lines.join('\n');
}

async function waitUntilAccepting(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (code ${child.exitCode}) before ${host}:${port} accepted`);
    if (await accepts(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${host}:${port} did not accept within ${START_TIMEOUT_MS} ms`);
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function childrenOf(pid: number): number[] {
  const result: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return result;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) result.push(...text.split(/\s+/).map(Number));
    } catch {
      // the task ended while we looked
    }
  }
  return result;
}

function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const child of childrenOf(parent)) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}
