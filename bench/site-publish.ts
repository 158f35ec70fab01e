// Figure 6: publishing a site in site mode to 8 difusores on real sshd. A cut changing ~3% of the
// files: `prep-push push` (hard links + one rename) vs `rclone sync` (sftp backend, one per difusor,
// 8 in parallel, onto a copy of the previous cut, default size+modtime comparison). Also the first
// publish of the whole site vs `rclone copy` into empty folders. Two shapes of site: a PREP site's
// (one JSON per casilla in ~10,000 sección folders, bench/prep-shaped.ts), which 6a and 6b measure,
// and the same file count in a few dozen large folders (bench/synthetic-site.ts), which 6c measures.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutAt } from '../src/core/cut.js';
import { buildPackage } from '../src/package/build-package.js';
import { packageStoreDir } from '../src/core/state-dir.js';
import type { SshdFixture } from '../tests/helpers/sshd.js';
import { mulberry32 } from '../tests/helpers/prng.js';
import { interleave, PACKAGE_NAME, runPushCli, targetsOf, writeRegistry, type Interleaved, type PushRun, type Target } from './harness.js';
import { generateSyntheticSite } from './synthetic-site.js';
import { generatePrepShapedSite } from './prep-shaped.js';

export interface SitePublishSizes {
  /** `prep`: ~10,000 sección folders of two files; `few-folders`: a few dozen folders of hundreds of files. */
  shape: 'prep' | 'few-folders';
  /** Both rows, or only keep_releases 0 (the few-folders comparison). */
  rows: 'both' | 'keep-all';
  files: number;
  bytes: number;
  difusores: number;
  reps: number;
  stepTimeoutMs: number;
}

/** One setting of `publish.keep_releases`: prep-push push (a) vs rclone sync (b), the ~3% cut. */
export interface SitePublishRow {
  incremental: Interleaved;
  notes: string[];
}

export interface SitePublishResult {
  /** keep_releases 0 (keep all, the default): the new release hard-links every unchanged file. */
  keepAll: SitePublishRow;
  /** keep_releases 3: the release pruning would remove is recycled into the new one (null when not asked for). */
  recycle: SitePublishRow | null;
  /** About the site and the tools, shared by both rows. */
  notes: string[];
}

export const CUT1 = cutAt(Date.parse('2024-06-02T20:00:00-06:00'), 'America/Mexico_City');
export const CUT2 = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
// Two older cuts, for the keep_releases row: the difusor holds A, B and cut 1 when cut 2 comes.
const CUT_A = cutAt(Date.parse('2024-06-02T19:20:00-06:00'), 'America/Mexico_City');
const CUT_B = cutAt(Date.parse('2024-06-02T19:40:00-06:00'), 'America/Mexico_City');
const KEEP_RELEASES = 3;
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

/**
 * Another cut: a copy of `from` (mtimes kept, as a PREP system rewrites only what changed) with ~3%
 * of the files rewritten; `seed` picks which.
 */
export function makeNextCut(from: string, to: string, seed = 99): { changed: number; changedBytes: number; paths: string[] } {
  cpSync(from, to, { recursive: true, preserveTimestamps: true });
  const random = mulberry32(seed);
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

export function rcloneConfig(file: string, targets: Target[], fixture: SshdFixture, knownHosts: string): void {
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
export function runRclone(
  verb: 'sync' | 'copy',
  source: string,
  conf: string,
  targets: Target[],
  dirOf: (t: Target) => string,
  timeoutMs: number,
  extraArgs: string[] = [],
): Promise<{ wallS: number; bytes: number[] }> {
  const started = performance.now();
  return Promise.all(
    targets.map(
      (t) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn('rclone', [verb, source, `${t.id}:${dirOf(t)}`, '--config', conf, '--use-json-log', '--stats', '1h', '--stats-log-level', 'NOTICE', ...extraArgs], {
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
export function resetToFirstCut(target: Target, cut1Release: string): void {
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
  const site = sizes.shape === 'prep' ? generatePrepShapedSite(v1, { files: sizes.files, seed: 6 }) : generateSyntheticSite(v1, { files: sizes.files, bytes: sizes.bytes, seed: 6 });
  const folders = execFileSync('find', [v1, '-mindepth', '1', '-type', 'd']).toString().split('\n').filter((l) => l !== '').length;
  const next = makeNextCut(v1, v2);
  const cuts: Array<readonly [string, typeof CUT1]> = [[v1, CUT1], [v2, CUT2]];
  if (sizes.rows === 'both') {
    // The two older cuts only the recycle row publishes.
    const [vA, vB] = [join(dir, 'vA'), join(dir, 'vB')];
    makeNextCut(v1, vA, 11);
    makeNextCut(v1, vB, 12);
    cuts.push([vA, CUT_A], [vB, CUT_B]);
  }
  for (const [source, cut] of cuts) {
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

  const restoreRclone = (): void => {
    // rclone sync rewrote only the changed files: put cut 1's back, with their times.
    for (const t of targets) for (const rel of next.paths) cpSync(join(v1, rel), join(t.localDir as string, 'rclone', rel), { preserveTimestamps: true });
  };
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  /** The ~3% cut, interleaved with rclone sync; each side starts from the previous cut on every difusor. */
  const measure = async (reset: () => void): Promise<SitePublishRow> => {
    const requests: number[] = [];
    let last: PushRun['publish'] = [];
    let rcloneBytes = 0;
    const incremental = await interleave(
      sizes.reps,
      async () => {
        const run = await runPushCli(config, stateDir, sizes.stepTimeoutMs, ['--cut', CUT2.id]);
        if (run.delivered.length !== targets.length) throw new Error(`incremental publish: ${JSON.stringify(run.failed.slice(0, 3))}`);
        requests.push(median(run.publish.map((p) => p.sftp_operations ?? NaN)));
        last = run.publish;
        return run.wallS;
      },
      async () => {
        const run = await runRclone('sync', v2, conf, targets, rcloneDir, sizes.stepTimeoutMs);
        rcloneBytes = run.bytes.reduce((a, b) => a + b, 0);
        return run.wallS;
      },
      async () => {
        reset();
        restoreRclone();
      },
      log,
    );
    const one = last[0];
    const prepBytes = last.reduce((a, p) => a + p.bytes_uploaded, 0);
    const kept = one?.recycled_from ? `, ${one.kept_files} kept in place in the recycled ${one.recycled_from}` : '';
    return {
      incremental,
      notes: [
        `publish.mode ${one?.mode}; per difusor ${one?.uploaded_files} uploaded + ${one?.linked_files} linked${kept}`,
        `bytes uploaded per difusor: prep-push ${mb(prepBytes / targets.length)}, rclone sync ${mb(rcloneBytes / targets.length)} (all ${targets.length}: ${mb(prepBytes)} vs ${mb(rcloneBytes)})`,
        `SFTP operations per difusor (prep-push's count; an upload = open+write+close counts once): ${median(requests)} (rclone's not counted)`,
      ],
    };
  };

  // keep_releases 0: every rep starts from "cut 1 published", the new release links what is unchanged.
  const keepAll = await measure(() => {
    for (const t of targets) resetToFirstCut(t, CUT1.id);
  });

  const measureRecycle = async (): Promise<SitePublishRow> => {
    // keep_releases 3: the steady state of a night with history trimmed. The difusor holds A, B and
    // cut 1 (current), all published by prep-push (so trusted); cut 2 makes A the one pruning removes,
    // and it is recycled. A differs from cut 2 by two cuts' changes (its own ~3% and cut 2's).
    writeFileSync(config, `${readFileSync(config, 'utf8')}publish:\n  keep_releases: ${KEEP_RELEASES}\n`);
    for (const t of targets) resetToFirstCut(t, CUT1.id);
    for (const args of [['--cut', CUT_A.id, '--allow-rollback'], ['--cut', CUT_B.id], ['--cut', CUT1.id]]) {
      const run = await runPushCli(config, stateDir, sizes.stepTimeoutMs, args);
      if (run.delivered.length !== targets.length) throw new Error(`setting up the recycle row (${args.join(' ')}): ${JSON.stringify(run.failed.slice(0, 3))}`);
    }
    // A copy of A made of hard links beside the difusor's folder: recycling unlinks names in A, never
    // writes its inodes, so this copy stays cut A and puts A back between reps in a second.
    const pristineOf = (t: Target): string => `${t.localDir as string}.pristine-${CUT_A.id}`;
    for (const t of targets) {
      rmSync(pristineOf(t), { recursive: true, force: true });
      execFileSync('cp', ['-al', join(t.localDir as string, 'releases', CUT_A.id), pristineOf(t)]);
    }
    const row = await measure(() => {
      for (const t of targets) {
        const releases = join(t.localDir as string, 'releases');
        for (const name of readdirSync(releases)) {
          if (![CUT_A.id, CUT_B.id, CUT1.id].includes(name)) rmSync(join(releases, name), { recursive: true, force: true });
        }
        if (!readdirSync(releases).includes(CUT_A.id)) execFileSync('cp', ['-al', pristineOf(t), join(releases, CUT_A.id)]);
        rmSync(join(t.localDir as string, 'current'), { force: true });
        symlinkSync(`releases/${CUT1.id}`, join(t.localDir as string, 'current'));
      }
    });
    for (const t of targets) rmSync(pristineOf(t), { recursive: true, force: true });
    return row;
  };
  const recycle = sizes.rows === 'both' ? await measureRecycle() : null;
  clean();
  rmSync(dir, { recursive: true, force: true });

  return {
    keepAll,
    recycle,
    notes: [
      `site ${site.files} files in ${folders} folders, ${mb(site.bytes)}; cut 2 changes ${next.changed} files (${mb(next.changedBytes)}), ${sizes.difusores} difusores`,
      `first publish of the whole site (one pair): prep-push ${first.prepS.toFixed(2)} s vs rclone copy ${first.rcloneS.toFixed(2)} s (ratio ${(first.prepS / first.rcloneS).toFixed(2)}); bytes ${mb(first.prepBytes)} vs ${mb(first.rcloneBytes)}; ${first.requests} SFTP operations per difusor`,
      `rclone ${execFileSync('rclone', ['version']).toString().split('\n')[0]}, defaults (--transfers 4, --checkers 8), shell_type none, disable_hashcheck`,
    ],
  };
}
