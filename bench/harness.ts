// The benchmark's moving parts: interleaved measurement, a stored package to push, the real
// `prep-push push` CLI run as a child (wall time and peak RSS), and the OpenSSH baseline
// (`sftp -b` fanned out with `xargs -P`) doing the same uploads to the same servers.
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cutAt } from '../src/core/cut.js';
import { packageStoreDir } from '../src/core/state-dir.js';
import { buildPackage } from '../src/package/build-package.js';
import type { BuiltPackage } from '../src/package/types.js';
import { startSshd, type SshdFixture } from '../tests/helpers/sshd.js';

/** dist/bench/harness.js → the package root (two levels up). */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI = join(PACKAGE_ROOT, 'bin', 'prep-push.js');
export const BENCH_CUT = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
export const PACKAGE_NAME = 'PREP2024_MICH_{cut}';

// Children still running (push CLIs, baseline shells), so an interrupted benchmark can end them.
const liveChildren = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/** SIGKILLs every push CLI and baseline still running (baseline shells with their process group). */
export function killLiveChildren(): void {
  for (const child of liveChildren) {
    try {
      if (child.spawnargs[0] === 'sh') process.kill(-(child.pid as number), 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export interface Interleaved {
  a: number[];
  b: number[];
  /** a[i] / b[i], pairwise: each pair ran back to back, under the same machine conditions. */
  ratios: number[];
}

/**
 * One warm-up pair (discarded), then `reps` pairs, A first in even pairs and B first in odd ones:
 * the second run of a pair tends to be slower (the first one's writeback and freed memory are still
 * being settled), and a fixed order would hand that to one side. `reset` runs (unmeasured) before
 * every single measurement, e.g. to empty the remote directories.
 */
export async function interleave(
  reps: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
  reset: () => Promise<void> = async () => {},
  log: (line: string) => void = () => {},
): Promise<Interleaved> {
  const out: Interleaved = { a: [], b: [], ratios: [] };
  for (let i = 0; i <= reps; i += 1) {
    let ta: number;
    let tb: number;
    if (i % 2 === 0) {
      await reset();
      ta = await a();
      await reset();
      tb = await b();
    } else {
      await reset();
      tb = await b();
      await reset();
      ta = await a();
    }
    log(`  ${i === 0 ? 'warm-up' : `rep ${i}`}: prep-push ${ta.toFixed(3)} s, baseline ${tb.toFixed(3)} s`);
    if (i === 0) continue;
    out.a.push(ta);
    out.b.push(tb);
    out.ratios.push(ta / tb);
  }
  return out;
}

/** Deterministic incompressible bytes (AES-256-CTR of zeros with a fixed key), so tar.gz ≈ raw size. */
export function incompressibleBytes(size: number, seed = 1): Buffer {
  const key = Buffer.alloc(32, seed);
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16, 0));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/** Builds (with prep-push's own builder) a package of about `bytes` into `stateDir`'s store. */
export async function makeStoredPackage(workDir: string, stateDir: string, bytes: number): Promise<BuiltPackage> {
  const source = join(workDir, `pkg-source-${bytes}`);
  mkdirSync(source, { recursive: true });
  writeFileSync(join(source, 'resultados.bin'), incompressibleBytes(bytes));
  writeFileSync(join(source, 'index.html'), '<html><body>PREP</body></html>\n');
  const pkg = await buildPackage({
    sourceDir: source,
    cut: BENCH_CUT,
    institute: 'IEM',
    nameTemplate: PACKAGE_NAME,
    format: 'tar.gz',
    storeDir: packageStoreDir(stateDir),
  });
  rmSync(source, { recursive: true, force: true });
  return pkg;
}

export interface Target {
  id: string;
  host: string;
  port: number;
  hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA...` for the baseline's known_hosts. */
  hostPublicKey: string;
  remoteDir: string;
  /** Local path of the remote dir, to empty it between runs; absent for servers we cannot reach. */
  localDir?: string;
}

export interface BenchSshdOptions {
  /** Default 127.0.0.1. */
  listenHost?: string;
  /** Run the sshd inside this network namespace (see netns.ts). */
  netns?: string;
  /** Where the fixture's folder (accounts' homes included) is made; default os.tmpdir(). */
  tmpRoot?: string;
}

/** Real sshd for `count` difusores named PREFIX001, PREFIX002, ... (the test suite's starter). */
export function startBenchSshd(count: number, idPrefix: string, opts: BenchSshdOptions = {}): Promise<SshdFixture> {
  const accounts = Array.from({ length: count }, (_, i) => ({ id: `${idPrefix}${String(i + 1).padStart(3, '0')}` }));
  return startSshd({ accounts, ...opts });
}

/** The fixture's first `count` accounts, in the order they were started, as push targets (local path = remote path). */
export function targetsOf(fixture: SshdFixture, count = Object.keys(fixture.accounts).length): Target[] {
  return Object.entries(fixture.accounts)
    .slice(0, count)
    .map(([id, account]) => ({
      id,
      host: fixture.host,
      port: account.port,
      hostKeyFingerprint: fixture.hostKeyFingerprint,
      hostPublicKey: fixture.hostPublicKey,
      remoteDir: account.dir,
      localDir: account.dir,
    }));
}

export interface PushSettingsYaml {
  concurrency: number;
  connect_timeout_s: number;
  transfer_timeout_s: number;
  retries: number;
}

export function writeRegistry(file: string, targets: Target[], username: string, privateKey: string, push: PushSettingsYaml): void {
  const q = JSON.stringify;
  const lines = [
    'institute: IEM',
    'timezone: America/Mexico_City',
    // The benchmark repeats the same cut; hung difusores must stay targeted every time.
    'block_after_misses: 1000000',
    'package:',
    `  name: ${q(PACKAGE_NAME)}`,
    '  format: tar.gz',
    'push:',
    ...Object.entries(push).map(([k, v]) => `  ${k}: ${v}`),
    'defaults:',
    `  username: ${q(username)}`,
    `  private_key: ${q(privateKey)}`,
    'difusores:',
  ];
  for (const t of targets) {
    lines.push(
      `  - id: ${t.id}`,
      `    name: ${q(`Difusor ${t.id}`)}`,
      `    host: ${q(t.host)}`,
      `    port: ${t.port}`,
      `    host_key: ${q(t.hostKeyFingerprint)}`,
      `    remote_dir: ${q(t.remoteDir)}`,
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

export function emptyRemoteDirs(targets: Target[]): void {
  for (const t of targets) {
    if (!t.localDir) continue;
    for (const name of readdirSync(t.localDir)) rmSync(join(t.localDir, name), { recursive: true, force: true });
  }
}

export interface PushRun {
  wallS: number;
  /** What the process printed on stderr (with PREP_PUSH_TRACE=1, the timeline). */
  stderr: string;
  /** Peak resident set of the prep-push process (VmHWM), MiB. */
  peakRssMiB: number;
  exitCode: number | null;
  delivered: string[];
  /** The slowest difusor's own `seconds` (connect to LATEST), i.e. the delivery window without process start. */
  maxDeliveryS: number;
  failed: Array<{ id: string; code: string }>;
  /** Site mode: each delivered result's `publish` object, as `--json` printed it. */
  publish: Array<{
    id: string;
    mode?: string;
    uploaded_files: number;
    linked_files: number;
    bytes_uploaded: number;
    sftp_operations?: number;
    kept_files?: number;
    recycled_from?: string | null;
  }>;
}

/**
 * Runs `prep-push --config C --state-dir S push --json` as a child, as cron would, and measures
 * its wall time from spawn to exit and its peak RSS (VmHWM, polled; it only ever grows).
 */
export function runPushCli(config: string, stateDir: string, timeoutMs: number, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<PushRun> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    // PREP_PUSH_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles each push (Node refuses
    // --cpu-prof in NODE_OPTIONS).
    const nodeArgs = (process.env.PREP_PUSH_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...nodeArgs, CLI, '--config', config, '--state-dir', stateDir, 'push', '--json', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    track(child);
    let stdout = '';
    let stderr = '';
    let peakKiB = 0;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const sample = (): void => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      } catch {
        // exited between samples
      }
    };
    const poll = setInterval(sample, 20);
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearInterval(poll);
      clearTimeout(killer);
      reject(e);
    });
    child.once('exit', (code) => {
      const wallS = (performance.now() - started) / 1000;
      clearInterval(poll);
      clearTimeout(killer);
      let report: {
        results?: Array<{ id: string; outcome: string; seconds: number; error: { code: string } | null; publish?: PushRun['publish'][number] | null }>;
      };
      try {
        report = JSON.parse(stdout);
      } catch {
        reject(new Error(`prep-push push (exit ${code}) printed no JSON report.\nstderr: ${stderr.slice(-2000)}\nstdout: ${stdout.slice(0, 500)}`));
        return;
      }
      const results = report.results ?? [];
      resolvePromise({
        wallS,
        stderr,
        peakRssMiB: peakKiB / 1024,
        exitCode: code,
        delivered: results.filter((r) => r.outcome === 'delivered').map((r) => r.id),
        maxDeliveryS: Math.max(0, ...results.map((r) => r.seconds)),
        failed: results.filter((r) => r.outcome !== 'delivered').map((r) => ({ id: r.id, code: r.error?.code ?? r.outcome })),
        publish: results.flatMap((r) => (r.publish ? [{ ...r.publish, id: r.id }] : [])),
      });
    });
  });
}

export interface OpenSshFanOut {
  workDir: string;
  targets: Target[];
  pkg: BuiltPackage;
  username: string;
  privateKey: string;
  concurrency: number;
}

/**
 * The baseline's cipher. ssh2 (prep-push) negotiates aes128-gcm@openssh.com on CPUs with AES
 * instructions, OpenSSH's client chacha20-poly1305, which costs sshd more CPU per byte. We give sftp
 * the same cipher so the ratio compares the implementations, not the cipher choice; set
 * BENCH_SFTP_CIPHER=default to compare each tool's defaults instead.
 */
export const BASELINE_CIPHER = process.env.BENCH_SFTP_CIPHER ?? 'aes128-gcm@openssh.com';

/**
 * Writes, per target, an `sftp -b` batch doing what a delivery does (package, .sha256, LATEST, each
 * put under a temporary name, flushed to disk (`put -f`: fsync@openssh.com, as prep-push does before
 * every rename), then renamed; plain `rename` cannot replace a file, so the remote dirs
 * must be emptied between runs), a known_hosts pinning each host key, and the xargs argument list.
 * Returns the shell command that runs the fan-out.
 */
export function prepareOpenSshFanOut(o: OpenSshFanOut): string {
  mkdirSync(o.workDir, { recursive: true });
  const knownHosts = join(o.workDir, 'known_hosts');
  writeFileSync(knownHosts, o.targets.map((t) => `${t.id} ${t.hostPublicKey}\n`).join(''));
  const latest = join(o.workDir, 'LATEST');
  writeFileSync(latest, `${o.pkg.fileName}\n`);
  const args: string[] = [];
  for (const t of o.targets) {
    const put = (local: string, name: string): string[] => [
      `put -f ${local} ${t.remoteDir}/.${name}.tmp`,
      `rename ${t.remoteDir}/.${name}.tmp ${t.remoteDir}/${name}`,
    ];
    const batch = join(o.workDir, `${t.id}.batch`);
    writeFileSync(
      batch,
      [...put(o.pkg.file, o.pkg.fileName), ...put(o.pkg.sha256File, `${o.pkg.fileName}.sha256`), ...put(latest, 'LATEST'), ''].join('\n'),
    );
    args.push(`${t.port} ${t.host} ${t.id} ${batch}`);
  }
  const argsFile = join(o.workDir, 'xargs.txt');
  writeFileSync(argsFile, `${args.join('\n')}\n`);
  const sftp =
    `exec sftp -q -b "$3" -i ${o.privateKey} -P "$0" -o HostKeyAlias="$2" -o StrictHostKeyChecking=yes ` +
    `-o UserKnownHostsFile=${knownHosts}${BASELINE_CIPHER === 'default' ? '' : ` -c ${BASELINE_CIPHER}`} -o BatchMode=yes -o CheckHostIP=no -o ConnectTimeout=15 ${o.username}@"$1" >/dev/null`;
  return `xargs -P ${o.concurrency} -n 4 sh -c '${sftp}' < ${argsFile}`;
}

/** Runs the baseline command; rejects when any sftp failed (xargs exits 123), so a failure never reads as a time. */
export function runShellTimed(command: string, timeoutMs: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    track(child);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolvePromise(seconds);
      else reject(new Error(`baseline failed (exit ${code ?? signal}): ${command.slice(0, 200)}\n${stderr.slice(-1500)}`));
    });
  });
}
