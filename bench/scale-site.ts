// Figure 11: what one site-mode difusor costs the client. 10 and 50 difusores on real sshd (16
// accounts per sshd process) on loopback, the PREP-shaped 20,000-file site: the first publish of the
// whole site and a ~3 % cut (keep all: every unchanged file hard-linked), each run as the real
// `prep-push push` under /usr/bin/time (user + system CPU seconds, peak RSS). The cost of one more
// difusor is the slope between 10 and 50, so the process's fixed cost (start-up, build, extraction)
// is not spread over the difusores. The servers run as their own processes, so the client's CPU is
// its own; they share the 2 cores, so the wall times are the machine's, not the client's.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageStoreDir } from '../src/core/state-dir.js';
import { buildPackage } from '../src/package/build-package.js';
import { CLI, PACKAGE_NAME, spread, startBenchSshd, targetsOf, writeRegistry, type Spread, type Target } from './harness.js';
import { journaledScratchDisk } from './journaled-disk.js';
import { generatePrepShapedSite } from './prep-shaped.js';
import { CUT1, CUT2, makeNextCut, resetToFirstCut } from './site-publish.js';

export interface ScaleSiteSizes {
  files: number;
  /** Two counts, fewer first: the slope between them is the cost per difusor. */
  counts: [number, number];
  reps: number;
  stepTimeoutMs: number;
}

export interface TimedPush {
  wallS: number;
  cpuS: number;
  userS: number;
  systemS: number;
  peakRssMiB: number;
  delivered: number;
  uploadedBytes: number;
}

/** `prep-push push --json` under GNU time: CPU and peak RSS of the client process alone. */
export function timedPush(config: string, stateDir: string, args: string[], timeoutMs: number): Promise<TimedPush> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'TIMED %U %S %M', process.execPath, CLI, '--config', config, '--state-dir', stateDir, 'push', '--json', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(killer);
      const wallS = (performance.now() - started) / 1000;
      const m = /TIMED ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      let report: { results?: Array<{ outcome: string; publish?: { bytes_uploaded: number } | null; error?: { code: string } | null }> };
      try {
        report = JSON.parse(stdout);
      } catch {
        reject(new Error(`push printed no JSON report: ${stderr.slice(-1500)}`));
        return;
      }
      if (!m) {
        reject(new Error(`no /usr/bin/time line: ${stderr.slice(-500)}`));
        return;
      }
      const results = report.results ?? [];
      resolvePromise({
        wallS,
        userS: Number(m[1]),
        systemS: Number(m[2]),
        cpuS: Number(m[1]) + Number(m[2]),
        peakRssMiB: Number(m[3]) / 1024,
        delivered: results.filter((r) => r.outcome === 'delivered').length,
        uploadedBytes: results.reduce((a, r) => a + (r.publish?.bytes_uploaded ?? 0), 0),
      });
    });
  });
}

export interface ScalePhase {
  /** Per count: median wall, CPU-s, peak RSS. */
  at: Array<{ count: number; wall: Spread; cpu: Spread; rss: Spread; uploadedMB: number }>;
  /** (CPU at the larger count - at the smaller) / difference in difusores. */
  cpuPerDifusorS: number;
  rssPerDifusorMiB: number;
}

export interface ScaleSiteResult {
  first: ScalePhase;
  incremental: ScalePhase;
  notes: string[];
}

export async function benchScaleSite(work: string, sizes: ScaleSiteSizes, log: (line: string) => void, defer: (fn: () => unknown) => void): Promise<ScaleSiteResult> {
  const dir = join(work, 'scale-site');
  mkdirSync(dir, { recursive: true });
  const max = sizes.counts[1];
  // Inodes per difusor: cut 1's release (files + folders) and the new release's folders.
  const disk = journaledScratchDisk(Math.max(1, Math.ceil((sizes.files * max * 2.2 * 4096) / 2 ** 30)), Math.max(100_000, Math.ceil(sizes.files * max * 2.2)));
  defer(() => disk.remove());
  log(`  ${disk.note}`);
  const fixture = await startBenchSshd(max, 'x', { tmpRoot: disk.dir });
  defer(() => fixture.stop());
  const all = targetsOf(fixture, max);
  const stateDir = join(dir, 'state');
  const v1 = join(dir, 'v1');
  const v2 = join(dir, 'v2');
  mkdirSync(v1, { recursive: true });
  const site = generatePrepShapedSite(v1, { files: sizes.files, seed: 11 });
  const next = makeNextCut(v1, v2);
  for (const [source, cut] of [[v1, CUT1], [v2, CUT2]] as const) {
    await buildPackage({ sourceDir: source, cut, institute: 'IEM', nameTemplate: PACKAGE_NAME, format: 'tar.gz', storeDir: packageStoreDir(stateDir) });
  }
  const configFor = (targets: Target[]): string => {
    const file = join(dir, `difusores-${targets.length}.yaml`);
    writeRegistry(file, targets, fixture.username, fixture.clientKey.privateKeyPath, { concurrency: 16, connect_timeout_s: 60, transfer_timeout_s: 3600, retries: 0 });
    writeFileSync(file, readFileSync(file, 'utf8').replace('\ndifusores:\n', '\n  delivery: site\ndifusores:\n'));
    return file;
  };
  const clean = (targets: Target[]): void => {
    for (const t of targets) for (const name of readdirSync(t.localDir as string)) rmSync(join(t.localDir as string, name), { recursive: true, force: true });
  };
  const run = async (config: string, cut: string, expected: number, what: string): Promise<TimedPush> => {
    const r = await timedPush(config, stateDir, ['--cut', cut], sizes.stepTimeoutMs);
    if (r.delivered !== expected) throw new Error(`${what}: ${r.delivered} of ${expected} delivered`);
    log(`  ${what}: wall ${r.wallS.toFixed(2)} s, CPU ${r.cpuS.toFixed(2)} s (user ${r.userS.toFixed(2)}, sys ${r.systemS.toFixed(2)}), peak RSS ${r.peakRssMiB.toFixed(0)} MiB`);
    return r;
  };
  const raw = { first: new Map<number, TimedPush[]>(), incremental: new Map<number, TimedPush[]>() };
  for (const count of sizes.counts) {
    const targets = all.slice(0, count);
    const config = configFor(targets);
    raw.first.set(count, []);
    raw.incremental.set(count, []);
    for (let i = 0; i < sizes.reps; i += 1) {
      clean(targets);
      raw.first.get(count)?.push(await run(config, CUT1.id, count, `first publish to ${count}, rep ${i + 1}`));
    }
    for (let i = 0; i < sizes.reps; i += 1) {
      for (const t of targets) resetToFirstCut(t, CUT1.id);
      raw.incremental.get(count)?.push(await run(config, CUT2.id, count, `~3 % cut to ${count}, rep ${i + 1}`));
    }
  }
  const phase = (m: Map<number, TimedPush[]>): ScalePhase => {
    const at = sizes.counts.map((count) => {
      const runs = m.get(count) ?? [];
      return {
        count,
        wall: spread(runs.map((r) => r.wallS)),
        cpu: spread(runs.map((r) => r.cpuS)),
        rss: spread(runs.map((r) => r.peakRssMiB)),
        uploadedMB: spread(runs.map((r) => r.uploadedBytes / 1e6)).median,
      };
    });
    const [lo, hi] = at;
    const d = hi.count - lo.count;
    return { at, cpuPerDifusorS: (hi.cpu.median - lo.cpu.median) / d, rssPerDifusorMiB: (hi.rss.median - lo.rss.median) / d };
  };
  // The accounts hold millions of names: unmounting the disk drops them at once, where the
  // fixture's own rm would walk them (minutes at 50 difusores).
  fixture.killAll('SIGKILL');
  disk.remove();
  await fixture.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    first: phase(raw.first),
    incremental: phase(raw.incremental),
    notes: [
      `site ${site.files} files in ${site.dirs} sección folders, ${(site.bytes / 1e6).toFixed(1)} MB; the cut changes ${next.changed} files (${(next.changedBytes / 1e6).toFixed(2)} MB); ${Math.ceil(max / 16)} sshd on loopback, journaled ext4; ${sizes.reps} run(s) per point, medians`,
    ],
  };
}
