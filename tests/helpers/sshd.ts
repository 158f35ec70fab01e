// Real OpenSSH sshd instances for integration tests and the benchmark: one SFTP-only account per
// port, each with its own directory, all reachable with one generated client key. On 127.0.0.1 by
// default; the benchmark puts them behind a shaped link, inside a network namespace.
// Uses no jest globals: tsconfig.build.json compiles it into dist/ for the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import { makeKeyPair } from './keys.js';
import { freePort } from './net.js';

const SSHD = '/usr/sbin/sshd';
/** sshd's MAX_LISTEN_SOCKS: one process listens on at most 16 sockets. */
const PORTS_PER_SSHD = 16;
// How long a started server may take to accept connections. Quiet, sshd takes well under a second;
// on a shared, loaded CI machine a process start can take seconds. Only a failed start waits it out.
const START_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;
const DEFAULT_LISTEN_HOST = '127.0.0.1';
/** First port inside a network namespace: a fresh namespace has every port free, and freePort() cannot look inside it. */
const NETNS_FIRST_PORT = 22000;

export interface SshdAccountSpec {
  id: string;
  /** Served by `internal-sftp -R`: every write is answered with permission denied (root ignores chmod). */
  readOnly?: boolean;
}

export interface SshdAccount {
  port: number;
  /** Absolute directory the account writes to; local path = remote path (no chroot). */
  dir: string;
}

export interface SshdFixture {
  /** The address every account listens on (StartSshdOptions.listenHost). */
  host: string;
  /** `SHA256:...` of the host key, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** The host public key line, `ssh-ed25519 AAAA...`, for a known_hosts file. */
  hostPublicKey: string;
  clientKey: { privateKeyPath: string; publicKey: string; fingerprint: string };
  username: string;
  accounts: Record<string, SshdAccount>;
  /** All sshd instances log here (LogLevel VERBOSE). */
  logFile: string;
  /** Pids of the listening sshd processes. */
  pids: number[];
  /** Kills every sshd and all their connection and session processes: the server dying mid-transfer. */
  killAll(signal?: NodeJS.Signals): void;
  /** Kills everything and removes the temp dirs. */
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  accounts: SshdAccountSpec[];
  /** Parent of the fixture's temp dir; default os.tmpdir(). */
  tmpRoot?: string;
  /** The address sshd listens on and readiness is checked at; default 127.0.0.1. */
  listenHost?: string;
  /**
   * Run every sshd inside this network namespace (`ip netns exec NS sshd ...`). Ports are then
   * fixed, 22000, 22001, ... in account order, instead of picked free on this side.
   */
  netns?: string;
}

/** Starts as many real sshd processes as needed (16 ports each) and waits until every port accepts. */
export async function startSshd(opts: StartSshdOptions): Promise<SshdFixture> {
  const ids = opts.accounts.map((a) => a.id);
  if (new Set(ids).size !== ids.length) throw new Error(`startSshd: duplicate account ids in ${ids.join(',')}`);
  ensurePrivilegeSeparationDir();
  const host = opts.listenHost ?? DEFAULT_LISTEN_HOST;

  const root = await mkdtemp(join(opts.tmpRoot ?? tmpdir(), 'prep-push-sshd-'));
  const children: ChildProcess[] = [];
  const killAll = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
    // Connection processes call setsid(), so a process-group kill would miss them: walk /proc.
    const all = [...pids.flatMap((pid) => descendantsOf(pid)), ...pids];
    for (const pid of all) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };

  try {
    const hostKey = await makeKeyPair(root, 'host_ed25519');
    const clientKey = await makeKeyPair(root, 'client_ed25519');
    const authorizedKeys = join(root, 'authorized_keys');
    await writeFile(authorizedKeys, `${clientKey.publicKey}\n`, { mode: 0o600 });
    const logFile = join(root, 'sshd.log');
    await writeFile(logFile, '');

    const accounts: Record<string, SshdAccount> = {};
    for (const spec of opts.accounts) {
      const dir = join(root, 'accounts', spec.id);
      await mkdir(dir, { recursive: true });
      accounts[spec.id] = { port: 0, dir };
    }

    for (let start = 0, n = 0; start < opts.accounts.length; start += PORTS_PER_SSHD, n += 1) {
      const group = opts.accounts.slice(start, start + PORTS_PER_SSHD);
      const child = await startOneSshd({
        root,
        name: `sshd${n}`,
        host,
        netns: opts.netns,
        firstFixedPort: opts.netns ? NETNS_FIRST_PORT + start : undefined,
        group,
        accounts,
        hostKeyPath: hostKey.privateKeyPath,
        authorizedKeys,
        logFile,
      });
      children.push(child);
    }

    return {
      host,
      hostKeyFingerprint: hostKey.fingerprint,
      hostPublicKey: hostKey.publicKey.split(' ').slice(0, 2).join(' '),
      clientKey: { privateKeyPath: clientKey.privateKeyPath, publicKey: clientKey.publicKey, fingerprint: clientKey.fingerprint },
      username: userInfo().username,
      accounts,
      logFile,
      pids: children.map((c) => c.pid as number),
      killAll,
      stop: async () => {
        killAll('SIGKILL');
        await Promise.all(children.map(waitForExit));
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    killAll('SIGKILL');
    await Promise.all(children.map(waitForExit));
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

interface OneSshd {
  root: string;
  name: string;
  host: string;
  netns: string | undefined;
  /** Listen on firstFixedPort, +1, ... (inside a namespace); picks free ports when undefined. */
  firstFixedPort: number | undefined;
  group: SshdAccountSpec[];
  accounts: Record<string, SshdAccount>;
  hostKeyPath: string;
  authorizedKeys: string;
  logFile: string;
}

/** Starts one sshd for up to 16 accounts; picks fresh ports and retries if a port was taken meanwhile. */
async function startOneSshd(o: OneSshd): Promise<ChildProcess> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt += 1) {
    const ports: number[] = [];
    while (ports.length < o.group.length) {
      const port = o.firstFixedPort !== undefined ? o.firstFixedPort + ports.length : await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const configFile = join(o.root, `${o.name}.conf`);
    await writeFile(configFile, sshdConfig(o, ports), { mode: 0o600 });
    const logStart = readFileSync(o.logFile, 'utf8').length;
    const sshdArgs = ['-D', '-f', configFile, '-E', o.logFile];
    // `ip netns exec` execs sshd in place (same pid), so killAll and pids work unchanged.
    const child = o.netns
      ? spawn('ip', ['netns', 'exec', o.netns, SSHD, ...sshdArgs], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(SSHD, sshdArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      await Promise.all(ports.map((port) => waitUntilAccepting(o.host, port, child)));
      o.group.forEach((spec, i) => (o.accounts[spec.id].port = ports[i]));
      child.stderr?.removeAllListeners('data');
      child.stderr?.resume();
      return child;
    } catch (error) {
      child.kill('SIGKILL');
      await waitForExit(child);
      const log = readFileSync(o.logFile, 'utf8').slice(logStart);
      lastError = new Error(
        `sshd ${o.name} (${o.host}, ports ${ports.join(',')}${o.netns ? `, netns ${o.netns}` : ''}) did not start, attempt ${attempt}: ${(error as Error).message}\n` +
          `--- stderr ---\n${stderr}\n--- log (${o.logFile}) ---\n${log}`,
      );
    }
  }
  throw lastError;
}

function sshdConfig(o: OneSshd, ports: number[]): string {
  const lines = [
    ...ports.map((port) => `ListenAddress ${o.host}:${port}`),
    `HostKey ${o.hostKeyPath}`,
    `PidFile ${join(o.root, `${o.name}.pid`)}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
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
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTTY no',
    'PrintMotd no',
    'LogLevel VERBOSE',
    'Subsystem sftp internal-sftp',
    '',
  ];
  o.group.forEach((spec, i) => {
    const dir = o.accounts[spec.id].dir;
    lines.push(`Match LocalPort ${ports[i]}`, `  ForceCommand internal-sftp -d ${dir}${spec.readOnly ? ' -R' : ''}`, '');
  });
  return lines.join('\n');
}

/** Polls a TCP connect to the port until it succeeds; fails early if the server process exits. */
export async function waitUntilAccepting(host: string, port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sshd exited (code ${child.exitCode}, signal ${child.signalCode}) before ${host}:${port} accepted`);
    }
    if (await accepts(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${host}:${port} did not accept connections within ${START_TIMEOUT_MS} ms`);
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

export function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** sshd refuses to start without its privilege separation directory (absent in containers). */
function ensurePrivilegeSeparationDir(): void {
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
}

/** Direct children of a process, from /proc/<pid>/task/<tid>/children. */
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

/** Every descendant of a process with its depth below it (1 = child). */
function descendantsWithDepth(pid: number): Array<{ pid: number; depth: number }> {
  const found: Array<{ pid: number; depth: number }> = [];
  const walk = (parent: number, depth: number): void => {
    for (const child of childrenOf(parent)) {
      found.push({ pid: child, depth });
      walk(child, depth + 1);
    }
  };
  walk(pid, 1);
  return found;
}

function descendantsOf(pid: number): number[] {
  return descendantsWithDepth(pid).map((d) => d.pid);
}

/**
 * Live SFTP sessions across the fixture's sshd processes, seen server-side: sshd renames the
 * process that runs internal-sftp to "sshd: USER@internal-sftp", one per open SFTP channel.
 */
export function countLiveSftpSessions(fixture: Pick<SshdFixture, 'pids'>): number {
  let count = 0;
  for (const pid of fixture.pids) {
    count += descendantsOf(pid).filter((d) => cmdline(d).includes('@internal-sftp')).length;
  }
  return count;
}

/** Process tree of the fixture, for debugging a test: pid, depth and command line. */
export function describeSshdProcesses(fixture: Pick<SshdFixture, 'pids'>): string {
  const lines: string[] = [];
  for (const pid of fixture.pids) {
    lines.push(`${pid} ${cmdline(pid)}`);
    for (const d of descendantsWithDepth(pid)) lines.push(`${'  '.repeat(d.depth)}${d.pid} ${cmdline(d.pid)}`);
  }
  return lines.join('\n');
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '?';
  }
}

/** Reads the shared sshd log (for failure messages in tests). */
export function readSshdLog(fixture: Pick<SshdFixture, 'logFile'>): Promise<string> {
  return readFile(fixture.logFile, 'utf8');
}

export interface RegistryOverrides {
  /** Top-level YAML lines replacing the defaults block (e.g. `push:` settings). */
  push?: Partial<{ concurrency: number; connect_timeout_s: number; transfer_timeout_s: number; retries: number }>;
  /** Extra fields per difusor id, e.g. `{ 'el-sol': { host_key: 'SHA256:wrong' } }`. */
  difusores?: Record<string, Record<string, string | number | boolean>>;
  institute?: string;
  packageName?: string;
  format?: 'tar.gz' | 'zip';
  blockAfterMisses?: number;
  stateDir?: string;
}

/** A difusores.yaml text pointing the given accounts of the fixture (absolute paths, real host key). */
export function registryYamlFor(fixture: SshdFixture, ids: string[], overrides: RegistryOverrides = {}): string {
  const push = { concurrency: 16, connect_timeout_s: 5, transfer_timeout_s: 30, retries: 0, ...overrides.push };
  const q = (v: string | number | boolean): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const lines = [
    `institute: ${overrides.institute ?? 'IEM'}`,
    'timezone: America/Mexico_City',
    `block_after_misses: ${overrides.blockAfterMisses ?? 3}`,
    ...(overrides.stateDir ? [`state_dir: ${q(overrides.stateDir)}`] : []),
    'package:',
    `  name: ${q(overrides.packageName ?? 'PREP2024_MICH_{cut}')}`,
    `  format: ${overrides.format ?? 'tar.gz'}`,
    'push:',
    ...Object.entries(push).map(([k, v]) => `  ${k}: ${v}`),
    'defaults:',
    `  username: ${q(fixture.username)}`,
    `  private_key: ${q(fixture.clientKey.privateKeyPath)}`,
    'difusores:',
  ];
  for (const id of ids) {
    const account = fixture.accounts[id];
    if (!account) throw new Error(`registryYamlFor: the fixture has no account ${id}`);
    const fields: Record<string, string | number | boolean> = {
      name: `Difusor ${id}`,
      host: fixture.host,
      port: account.port,
      host_key: fixture.hostKeyFingerprint,
      remote_dir: account.dir,
      ...overrides.difusores?.[id],
    };
    lines.push(`  - id: ${id}`, ...Object.entries(fields).map(([k, v]) => `    ${k}: ${q(v)}`));
  }
  return `${lines.join('\n')}\n`;
}
