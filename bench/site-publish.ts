// Figure 6: publishing a PREP-shaped site in site mode to 8 difusores on real sshd. A cut changing
// ~3% of the files: `prep-push push` (hard links + one rename) vs `rclone sync` (sftp backend, one
// per difusor, 8 in parallel, onto a copy of the previous cut, default size+modtime comparison).
// Also the first publish of the whole site vs `rclone copy` into empty folders.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutAt } from '../src/core/cut.js';
import { buildPackage } from '../src/package/build-package.js';
import { packageStoreDir } from '../src/cut/state-dir.js';
import type { SshdFixture } from '../tests/helpers/sshd.js';
import { mulberry32 } from '../tests/helpers/prng.js';
import { interleave, PACKAGE_NAME, runPushCli, targetsOf, writeRegistry, type Interleaved, type Target } from './harness.js';
import { generateSyntheticSite } from './synthetic-site.js';

export interface SitePublishSizes {
  files: number;
  bytes: number;
  difusores: number;
  reps: number;
  stepTimeoutMs: number;
}

export interface SitePublishResult {
  /** prep-push push (a = prep-push, b = rclone sync), the ~3% cut. */
  incremental: Interleaved;
  notes: string[];
}

const CUT1 = cutAt(Date.parse('2024-06-02T20:00:00-06:00'), 'America/Mexico_City');
const CUT2 = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
const CHANGED_SHARE = 0.03;

function filesUnder(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...filesUnder(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** The next cut: a copy of `from` (mtimes kept, as a PREP system rewrites only what changed) with ~3% of the files rewritten. */
function makeNextCut(from: string, to: string): { changed: number; changedBytes: number; paths: string[] } {
  cpSync(from, to, { recursive: true, preserveTimestamps: true });
  const random = mulberry32(99);
  let changed = 0;
  let changedBytes = 0;
  const paths: string[] = [];
  const later = new Date(Date.parse('2024-06-03T02:20:00Z'));
  for (const rel of filesUnder(to)) {
    if (rel !== 'json/main.json' && random() >= CHANGED_SHARE) continue;
    const path = join(to, rel);
    const data = readFileSync(path);
    const next = rel.endsWith('.json') || rel.endsWith('.html') || rel.endsWith('.csv')
      ? Buffer.concat([data, Buffer.from(`\n`)])
      : Buffer.from(data.map((b) => b ^ 0x5a));
    writeFileSync(path, next);
    utimesSync(path, later, later);
    changed += 1;
    changedBytes += next.length;
    paths.push(rel);
  }
  return { changed, changedBytes, paths };
}

function rcloneConfig(file: string, targets: Target[], fixture: SshdFixture, knownHosts: string): void {
  writeFileSync(knownHosts, targets.map((t) => `[${t.host}]:${t.port} ${t.hostPublicKey}`).join('\n') + '\n');
  const sections = targets.map((t) =>
    [
      `[${t.id}]`,
      'type = sftp',
      `host = ${t.host}`,
      `port = ${t.port}`,
      `user = ${fixture.username}`,
      `key_file = ${fixture.clientKey.privateKeyPath}`,
      `known_hosts_file = ${knownHosts}`,
      // The accounts are SFTP-only: no remote shell for md5sum; the comparison stays size+modtime.
      'shell_type = none',
      'disable_hashcheck = true',
      '',
    ].join('\n'),
  );
  writeFileSync(file, sections.join('\n'));
}

/** Runs one rclone per difusor, all at once; resolves with the wall time and the bytes each reported. */
function runRclone(verb: 'sync' | 'copy', source: string, conf: string, targets: Target[], dirOf: (t: Target) => string, timeoutMs: number): Promise<{ wallS: number; bytes: number[] }> {
  const started = performance.now();
  return Promise.all(
    targets.map(
      (t) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn('rclone', [verb, source, `${t.id}:${dirOf(t)}`, '--config', conf, '--use-json-log', '--stats', '1h', '--stats-log-level', 'NOTICE'], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          child.once('error', reject);
          child.once('exit', (code) => {
            clearTimeout(killer);
            if (code !== 0) {
              reject(new Error(`rclone ${verb} to ${t.id} exited ${code}: ${stderr.slice(-500)}`));
              return;
            }
            const statsLine = stderr.split('\n').reverse().find((l) => l.includes('"stats"'));
            resolve(statsLine ? Number(JSON.parse(statsLine).stats.bytes) : NaN);
          });
        }),
    ),
  ).then((bytes) => ({ wallS: (performance.now() - started) / 1000, bytes }));
}

/** Puts a difusor back to "cut 1 published": releases/<cut1> and current -> it, nothing else. */
function resetToFirstCut(target: Target, cut1Release: string): void {
  const dir = target.localDir as string;
  for (const name of readdirSync(join(dir, 'releases'))) {
    if (name !== cut1Release) rmSync(join(dir, 'releases', name), { recursive: true, force: true });
  }
  rmSync(join(dir, 'current'), { force: true });
  symlinkSync(`releases/${cut1Release}`, join(dir, 'current'));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

export async function benchSitePublish(work: string, fixture: SshdFixture, sizes: SitePublishSizes, log: (line: string) => void): Promise<SitePublishResult> {
  const dir = join(work, 'site-publish');
  const stateDir = join(dir, 'state');
  const v1 = join(dir, 'v1');
  const v2 = join(dir, 'v2');
  mkdirSync(v1, { recursive: true });
  const site = generateSyntheticSite(v1, { files: sizes.files, bytes: sizes.bytes, seed: 6 });
  const next = makeNextCut(v1, v2);
  for (const [source, cut] of [[v1, CUT1], [v2, CUT2]] as const) {
    await buildPackage({ sourceDir: source, cut, institute: 'IEM', nameTemplate: PACKAGE_NAME, format: 'tar.gz', storeDir: packageStoreDir(stateDir) });
  }
  const targets = targetsOf(fixture, sizes.difusores);
  const config = join(dir, 'difusores.yaml');
  writeRegistry(config, targets, fixture.username, fixture.clientKey.privateKeyPath, { concurrency: 16, connect_timeout_s: 30, transfer_timeout_s: 900, retries: 0 });
  writeFileSync(config, readFileSync(config, 'utf8').replace('\ndifusores:\n', '\n  delivery: site\ndifusores:\n'));
  const conf = join(dir, 'rclone.conf');
  rcloneConfig(conf, targets, fixture, join(dir, 'known_hosts'));
  const rcloneDir = (t: Target) => join(t.remoteDir, 'rclone');
  const clean = (): void => {
    for (const t of targets) for (const name of readdirSync(t.localDir as string)) rmSync(join(t.localDir as string, name), { recursive: true, force: true });
  };

  // First publish: the whole site onto empty difusores, one pair (a note, not a goal).
  clean();
  const firstRun = await runPushCli(config, stateDir, sizes.stepTimeoutMs, ['--cut', CUT1.id]);
  if (firstRun.delivered.length !== targets.length) throw new Error(`first publish: ${JSON.stringify(firstRun.failed.slice(0, 3))}`);
  const firstRclone = await runRclone('copy', v1, conf, targets, rcloneDir, sizes.stepTimeoutMs);
  const first = {
    prepS: firstRun.wallS,
    rcloneS: firstRclone.wallS,
    requests: median(firstRun.publish.map((p) => p.sftp_operations ?? NaN)),
    prepBytes: firstRun.publish.reduce((a, p) => a + p.bytes_uploaded, 0),
    rcloneBytes: firstRclone.bytes.reduce((a, b) => a + b, 0),
  };
  log(`  first publish: prep-push ${first.prepS.toFixed(3)} s, rclone copy ${first.rcloneS.toFixed(3)} s`);

  // The ~3% cut: each side starts from the previous cut on every difusor.
  // Both sides hold cut 1 now (prep-push's release and current, rclone's copy); every rep resets to that.
  const requests: number[] = [];
  const bytes = { prep: 0, rclone: 0, uploadedFiles: 0, linkedFiles: 0 };
  const incremental = await interleave(
    sizes.reps,
    async () => {
      const run = await runPushCli(config, stateDir, sizes.stepTimeoutMs, ['--cut', CUT2.id]);
      if (run.delivered.length !== targets.length) throw new Error(`incremental publish: ${JSON.stringify(run.failed.slice(0, 3))}`);
      requests.push(median(run.publish.map((p) => p.sftp_operations ?? NaN)));
      bytes.prep = run.publish.reduce((a, p) => a + p.bytes_uploaded, 0);
      bytes.uploadedFiles = run.publish[0]?.uploaded_files ?? NaN;
      bytes.linkedFiles = run.publish[0]?.linked_files ?? NaN;
      return run.wallS;
    },
    async () => {
      const run = await runRclone('sync', v2, conf, targets, rcloneDir, sizes.stepTimeoutMs);
      bytes.rclone = run.bytes.reduce((a, b) => a + b, 0);
      return run.wallS;
    },
    async () => {
      for (const t of targets) {
        resetToFirstCut(t, CUT1.id);
        // rclone sync rewrote only the changed files: put cut 1's back, with their times.
        for (const rel of next.paths) cpSync(join(v1, rel), join(t.localDir as string, 'rclone', rel), { preserveTimestamps: true });
      }
    },
    log,
  );
  clean();
  rmSync(dir, { recursive: true, force: true });

  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return {
    incremental,
    notes: [
      `site ${site.files} files, ${mb(site.bytes)}; cut 2 changes ${next.changed} files (${mb(next.changedBytes)}), ${sizes.difusores} difusores`,
      `bytes uploaded to all difusores for cut 2: prep-push ${mb(bytes.prep)} (${bytes.uploadedFiles} uploaded + ${bytes.linkedFiles} linked per difusor), rclone sync ${mb(bytes.rclone)}`,
      `SFTP operations per difusor (prep-push's count; an upload = open+write+close counts once): cut 2 ${median(requests)}, first publish ${first.requests}`,
      `first publish of the whole site (one pair): prep-push ${first.prepS.toFixed(2)} s vs rclone copy ${first.rcloneS.toFixed(2)} s (ratio ${(first.prepS / first.rcloneS).toFixed(2)}); bytes ${mb(first.prepBytes)} vs ${mb(first.rcloneBytes)}`,
      `rclone ${execFileSync('rclone', ['version']).toString().split('\n')[0]}, defaults (--transfers 4, --checkers 8), shell_type none, disable_hashcheck`,
    ],
  };
}
