// Figure 10: prep-push over a WAN (bench/wan-link.ts: 50 ms RTT, 100 Mbit/s each way, a userspace
// delay line between two TUN devices, tbf for the rate), 8 difusores on real sshd inside the far
// namespace, each ratio against the standard tool in the same run:
//   10a  an incremental site publish (~3 % of a PREP-shaped site changed) vs `rclone sync` ×8 tuned
//        for the WAN (--checkers 64 --transfers 16), goal <= 0.1;
//   10b  the first (full) site publish to empty difusores vs `rclone copy` ×8, same flags;
//   10c  a package fan-out (32 MiB) vs `sftp -b` ×8, goal <= 0.9.
// Each row also states the physical floor: the bytes that must cross the link at its rate plus a few
// round trips, and, for 10a, where a traced push (PREP_PUSH_TRACE=1) spent its time.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPackage } from '../src/package/build-package.js';
import { packageStoreDir } from '../src/core/state-dir.js';
import {
  emptyRemoteDirs,
  interleave,
  makeStoredPackage,
  PACKAGE_NAME,
  prepareOpenSshFanOut,
  runPushCli,
  runShellTimed,
  spread,
  startBenchSshd,
  targetsOf,
  writeRegistry,
  type Interleaved,
  type PushRun,
  type Target,
} from './harness.js';
import { journaledScratchDisk } from './journaled-disk.js';
import { generatePrepShapedSite } from './prep-shaped.js';
import { CUT1, CUT2, makeNextCut, rcloneConfig, resetToFirstCut, runRclone } from './site-publish.js';
import { createWanLink, measureLink } from './wan-link.js';

export const WAN_RTT_MS = 50;
export const WAN_RATE_MBIT = 100;
/** rclone tuned for a long fat link, as a sysadmin would after reading its docs. */
export const RCLONE_WAN_FLAGS = ['--checkers', '64', '--transfers', '16'];
/** Round trips any delivery needs at least: TCP, SSH version + key exchange + new keys, auth, SFTP init, the writes' answers, the switch. */
const FLOOR_ROUND_TRIPS = 8;
/** IP + TCP headers per 1448-byte segment and SSH/SFTP framing: payload is ~0.96 of what tbf counts. */
const PAYLOAD_SHARE = 0.96;

export interface WanSizes {
  files: number;
  difusores: number;
  reps: number;
  /** Pairs of the first (full) publish, no warm-up (each is long). */
  firstReps: number;
  packageBytes: number;
  stepTimeoutMs: number;
}

export interface WanRow {
  figure: string;
  ratioOf: string;
  goal: string;
  meets: ((median: number) => boolean) | null;
  result: Interleaved;
  notes: string[];
}

/** Seconds to move `bytes` over the link plus the round trips no delivery can avoid. */
function floorS(bytes: number): number {
  return (bytes * 8) / (WAN_RATE_MBIT * 1e6 * PAYLOAD_SHARE) + (FLOOR_ROUND_TRIPS * WAN_RTT_MS) / 1000;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
const med = (values: number[]): number => spread(values).median;

/**
 * The timeline of one difusor in a traced push: each mark with the ms since the previous one of the
 * same difusor (or the process's marks before the first connect); the five longest steps first.
 */
export function summarizeTrace(stderr: string, id: string, remoteDir: string): { lines: string[]; longest: string } {
  const marks = stderr
    .split('\n')
    .map((l) => /^prep-push trace: \+\s*([\d.]+) ms {2}(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ ms: Number(m[1]), label: m[2].split(remoteDir).join('~') }))
    .filter((m) => m.label.startsWith(`${id}: `) || !/^[a-z]+\d{3}: /.test(m.label));
  const lines: string[] = [];
  const steps: Array<{ label: string; ms: number }> = [];
  // A mark is where a step starts: its time is until the next mark.
  for (let i = 0; i < marks.length; i += 1) {
    const dt = i + 1 < marks.length ? marks[i + 1].ms - marks[i].ms : 0;
    lines.push(`+${marks[i].ms.toFixed(0).padStart(6)} ms  [${dt.toFixed(0).padStart(5)} ms]  ${marks[i].label}`);
    steps.push({ label: marks[i].label.replace(`${id}: `, ''), ms: dt });
  }
  const longest = [...steps]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 6)
    .map((s) => `${s.label} ${(s.ms / 1000).toFixed(2)} s`)
    .join('; ');
  return { lines, longest };
}

export async function benchWan(
  work: string,
  sizes: WanSizes,
  log: (line: string) => void,
  defer: (fn: () => unknown) => void,
): Promise<WanRow[]> {
  const dir = join(work, 'wan');
  mkdirSync(dir, { recursive: true });
  const link = await createWanLink({ rttMs: WAN_RTT_MS, rateMbit: WAN_RATE_MBIT });
  defer(() => link.remove());
  const probe = await measureLink(link, 32);
  const linkNote = `link (${WAN_RTT_MS} ms RTT, ${WAN_RATE_MBIT} Mbit/s each way; TUN delay line + tbf): TCP connect ${probe.connectMs.toFixed(1)} ms, echo RTT ${probe.echoRttMs.toFixed(1)} ms, one TCP stream ${probe.bulkMbit.toFixed(1)} Mbit/s over ${probe.bulkMiB} MiB`;
  log(`  ${linkNote}`);
  // Inodes per difusor: cut 1's release, rclone's copy, the new release's folders; ~6 per file.
  const disk = journaledScratchDisk(Math.max(1, Math.ceil((sizes.files * sizes.difusores * 8 * 4096) / 2 ** 30)), Math.max(100_000, sizes.files * sizes.difusores * 6));
  defer(() => disk.remove());
  log(`  ${disk.note}`);
  const fixture = await startBenchSshd(sizes.difusores, 'v', { listenHost: link.remoteHost, netns: link.netns, tmpRoot: disk.dir });
  defer(() => fixture.stop());
  const targets = targetsOf(fixture, sizes.difusores);
  const n = targets.length;

  // ---- the site and its two cuts ----
  const stateDir = join(dir, 'state');
  const v1 = join(dir, 'v1');
  const v2 = join(dir, 'v2');
  mkdirSync(v1, { recursive: true });
  const site = generatePrepShapedSite(v1, { files: sizes.files, seed: 10 });
  const next = makeNextCut(v1, v2);
  for (const [source, cut] of [[v1, CUT1], [v2, CUT2]] as const) {
    await buildPackage({ sourceDir: source, cut, institute: 'IEM', nameTemplate: PACKAGE_NAME, format: 'tar.gz', storeDir: packageStoreDir(stateDir) });
  }
  const config = join(dir, 'site.yaml');
  writeRegistry(config, targets, fixture.username, fixture.clientKey.privateKeyPath, { concurrency: 16, connect_timeout_s: 60, transfer_timeout_s: 1800, retries: 0 });
  writeFileSync(config, readFileSync(config, 'utf8').replace('\ndifusores:\n', '\n  delivery: site\ndifusores:\n'));
  const conf = join(dir, 'rclone.conf');
  rcloneConfig(conf, targets, fixture, join(dir, 'known_hosts'));
  const rcloneDir = (t: Target): string => join(t.remoteDir, 'rclone');
  const siteNote = `site ${site.files} files in ${site.dirs} sección folders, ${mb(site.bytes)}; cut 2 changes ${next.changed} files (${mb(next.changedBytes)}); ${n} difusores, real sshd in the namespace, journaled ext4`;
  const push = async (cut: string, env: Record<string, string> = {}): Promise<PushRun> => {
    const run = await runPushCli(config, stateDir, sizes.stepTimeoutMs, ['--cut', cut], env);
    if (run.delivered.length !== n) throw new Error(`push --cut ${cut}: ${JSON.stringify(run.failed.slice(0, 3))}`);
    return run;
  };
  const cleanPrepPush = (): void => {
    for (const t of targets) for (const name of readdirSync(t.localDir as string)) if (name !== 'rclone') rmSync(join(t.localDir as string, name), { recursive: true, force: true });
  };
  const cleanRclone = (): void => {
    for (const t of targets) rmSync(rcloneDir(t), { recursive: true, force: true });
  };

  // ---- 10b: the first publish (no warm-up: each side starts from empty difusores) ----
  log('  10b first publish:');
  const first: Interleaved = { a: [], b: [], ratios: [] };
  let firstRun: PushRun | null = null;
  let firstRcloneBytes = 0;
  for (let i = 0; i < sizes.firstReps; i += 1) {
    const ours = async (): Promise<number> => {
      cleanPrepPush();
      firstRun = await push(CUT1.id);
      return firstRun.wallS;
    };
    const theirs = async (): Promise<number> => {
      cleanRclone();
      const r = await runRclone('copy', v1, conf, targets, rcloneDir, sizes.stepTimeoutMs, RCLONE_WAN_FLAGS);
      firstRcloneBytes = r.bytes.reduce((a, b) => a + b, 0);
      return r.wallS;
    };
    let a2: number;
    let b: number;
    if (i % 2 === 0) {
      a2 = await ours();
      b = await theirs();
    } else {
      b = await theirs();
      a2 = await ours();
    }
    log(`  pair ${i + 1}: prep-push ${a2.toFixed(3)} s, rclone copy ${b.toFixed(3)} s`);
    first.a.push(a2);
    first.b.push(b);
    first.ratios.push(a2 / b);
  }
  const firstPublish = (firstRun as PushRun | null)?.publish ?? [];
  const firstBytes = firstPublish.reduce((s, p) => s + p.bytes_uploaded, 0);
  const firstFloor = floorS(site.bytes * n);
  const rowB: WanRow = {
    figure: `10b. WAN first site publish (${site.files} files, ${n} difusores, ${WAN_RTT_MS} ms RTT, ${WAN_RATE_MBIT} Mbit/s)`,
    ratioOf: `prep-push push (site, empty difusores) / rclone copy ×${n} ${RCLONE_WAN_FLAGS.join(' ')}`,
    goal: '-',
    meets: null,
    result: first,
    notes: [
      siteNote,
      `bytes sent: prep-push ${mb(firstBytes)} (all ${n}; files + MANIFEST.json), rclone ${mb(firstRcloneBytes)}; SFTP operations per difusor ${med(firstPublish.map((p) => p.sftp_operations ?? NaN))}`,
      `floor ${firstFloor.toFixed(1)} s (${mb(site.bytes * n)} at ${WAN_RATE_MBIT} Mbit/s × ${PAYLOAD_SHARE} + ${FLOOR_ROUND_TRIPS} RTT): prep-push ${(med(first.a) / firstFloor).toFixed(2)}× the floor, rclone ${(med(first.b) / firstFloor).toFixed(2)}×`,
      `${sizes.firstReps} pair(s), no warm-up`,
      linkNote,
    ],
  };

  // ---- 10a: the ~3 % cut, from cut 1 on every difusor (both sides left it there) ----
  log('  10a incremental publish:');
  const restoreRclone = (): void => {
    for (const t of targets) for (const rel of next.paths) cpSync(join(v1, rel), join(rcloneDir(t), rel), { preserveTimestamps: true });
  };
  const reset = async (): Promise<void> => {
    for (const t of targets) resetToFirstCut(t, CUT1.id);
    restoreRclone();
  };
  let last: PushRun | null = null;
  let rcloneBytes = 0;
  const incremental = await interleave(
    sizes.reps,
    async () => {
      last = await push(CUT2.id);
      return last.wallS;
    },
    async () => {
      const r = await runRclone('sync', v2, conf, targets, rcloneDir, sizes.stepTimeoutMs, RCLONE_WAN_FLAGS);
      rcloneBytes = r.bytes.reduce((a, b) => a + b, 0);
      return r.wallS;
    },
    reset,
    log,
  );
  await reset();
  const traced = await push(CUT2.id, { PREP_PUSH_TRACE: '1' });
  const trace = summarizeTrace(traced.stderr, targets[0].id, targets[0].remoteDir);
  log(`  traced push (${traced.wallS.toFixed(2)} s), ${targets[0].id}:`);
  for (const l of trace.lines) log(`    ${l}`);
  const lastPublish = (last as PushRun | null)?.publish ?? [];
  const one = lastPublish[0];
  const incBytes = lastPublish.reduce((s, p) => s + p.bytes_uploaded, 0);
  const incFloor = floorS(next.changedBytes * n);
  const rowA: WanRow = {
    figure: `10a. WAN incremental site publish (~3 % of ${site.files} files, ${n} difusores, ${WAN_RTT_MS} ms RTT)`,
    ratioOf: `prep-push push (site) / rclone sync ×${n} ${RCLONE_WAN_FLAGS.join(' ')}`,
    goal: '<= 0.1',
    meets: (r) => r <= 0.1,
    result: incremental,
    notes: [
      siteNote,
      `per difusor ${one?.uploaded_files} uploaded + ${one?.linked_files} linked, ${med(lastPublish.map((p) => p.sftp_operations ?? NaN))} SFTP operations; bytes sent: prep-push ${mb(incBytes)} (all ${n}), rclone ${mb(rcloneBytes)}; changed files ${mb(next.changedBytes * n)}`,
      `floor ${incFloor.toFixed(2)} s (the changed files at ${WAN_RATE_MBIT} Mbit/s + ${FLOOR_ROUND_TRIPS} RTT): prep-push ${(med(incremental.a) / incFloor).toFixed(1)}× the floor, rclone ${(med(incremental.b) / incFloor).toFixed(1)}×`,
      `traced push ${traced.wallS.toFixed(2)} s, longest steps of ${targets[0].id} (each from its mark to the next; ~ = remote_dir): ${trace.longest}`,
      linkNote,
    ],
  };

  // ---- 10c: a package to every difusor vs sftp -b ×n ----
  log('  10c package fan-out:');
  emptyRemoteDirs(targets);
  const pdir = join(dir, 'package');
  const pstate = join(pdir, 'state');
  mkdirSync(pdir, { recursive: true });
  const pkg = await makeStoredPackage(pdir, pstate, sizes.packageBytes);
  const pconfig = join(pdir, 'difusores.yaml');
  writeRegistry(pconfig, targets, fixture.username, fixture.clientKey.privateKeyPath, { concurrency: 16, connect_timeout_s: 60, transfer_timeout_s: 1800, retries: 0 });
  const baseline = prepareOpenSshFanOut({ workDir: join(pdir, 'openssh'), targets, pkg, username: fixture.username, privateKey: fixture.clientKey.privateKeyPath, concurrency: 16 });
  const windows: number[] = [];
  const fan = await interleave(
    sizes.reps,
    async () => {
      const run = await runPushCli(pconfig, pstate, sizes.stepTimeoutMs);
      if (run.delivered.length !== n) throw new Error(`package push: ${JSON.stringify(run.failed.slice(0, 3))}`);
      windows.push(run.maxDeliveryS);
      return run.wallS;
    },
    () => runShellTimed(baseline, sizes.stepTimeoutMs),
    async () => emptyRemoteDirs(targets),
    log,
  );
  emptyRemoteDirs(targets);
  const fanFloor = floorS(pkg.bytes * n);
  const rowC: WanRow = {
    figure: `10c. WAN package fan-out (${(sizes.packageBytes / 2 ** 20).toFixed(0)} MiB to ${n}, ${WAN_RTT_MS} ms RTT, ${WAN_RATE_MBIT} Mbit/s)`,
    ratioOf: `prep-push push / sftp -b ×${n} via xargs -P16`,
    goal: '<= 0.9',
    meets: (r) => r <= 0.9,
    result: fan,
    notes: [
      `package ${mb(pkg.bytes)} × ${n} = ${mb(pkg.bytes * n)} through one ${WAN_RATE_MBIT} Mbit/s link`,
      `floor ${fanFloor.toFixed(1)} s: prep-push ${(med(fan.a) / fanFloor).toFixed(2)}× the floor (deliveries alone ${(med(windows.slice(1)) / fanFloor).toFixed(2)}×), sftp -b ${(med(fan.b) / fanFloor).toFixed(2)}×; both share the one link, so the ratio cannot go much below 1 - (start-up + handshakes) / wall`,
      linkNote,
    ],
  };
  // The accounts hold millions of names: unmounting the disk drops them at once, where the
  // fixture's own rm would walk them (minutes at 50 difusores).
  fixture.killAll('SIGKILL');
  disk.remove();
  await fixture.stop();
  link.remove();
  rmSync(dir, { recursive: true, force: true });
  return [rowA, rowB, rowC];
}
