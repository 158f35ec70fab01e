// `npm run bench [-- --quick]`: prep-push against the tools a sysadmin would script instead (GNU
// tar + sha256sum, OpenSSH sftp fanned out with xargs -P), measured interleaved in the same run.
// Prints a table, writes bench/results.json (quick mode: a temp file) and cleans up every process,
// namespace and temp dir it made, on success, failure or Ctrl-C.
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { buildPackage } from '../src/package/build-package.js';
import { startSftpServer, type SftpServerHandle } from '../src/sftp-server/index.js';
import type { SshdFixture } from '../tests/helpers/sshd.js';
import {
  BASELINE_CIPHER,
  BENCH_CUT,
  emptyRemoteDirs,
  interleave,
  killLiveChildren,
  makeStoredPackage,
  PACKAGE_ROOT,
  prepareOpenSshFanOut,
  runPushCli,
  runShellTimed,
  spread,
  startBenchSshd,
  targetsOf,
  writeRegistry,
  type PushRun,
  type Spread,
  type Target,
} from './harness.js';
import { benchAudit } from './audit.js';
import { createShapedLink } from './netns.js';
import { generateSyntheticSite } from './synthetic-site.js';
import { benchPrepShaped } from './prep-shaped.js';
import { measureStartupOf } from './startup.js';
import { benchDeltaKit } from './delta-kit.js';
import { benchSitePublish, type SitePublishRow } from './site-publish.js';
import { journaledScratchDisk } from './journaled-disk.js';
import { benchWan, type WanRow, type WanSizes } from './wan.js';
import { benchScaleSite, type ScalePhase, type ScaleSiteSizes } from './scale-site.js';

const quick = process.argv.includes('--quick');
// `--only 2,4`: run only these figures (for investigating one; the full table needs all five).
const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
const only = process.argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',').map((n) => n.trim())) : null;
// A figure's number is its leading digits ('10. WAN' is 10, not 1); figure 9's rows can be asked for
// one by one (`--only 9c`, `--only 9a,9c`); `--only 9` runs all of them.
const numberOf = (text: string): string => /^\d+/.exec(text)?.[0] ?? text;
const wanted = (figure: string): boolean => only === null || [...only].some((o) => numberOf(o) === numberOf(figure));
const nineRows = (): Array<'9a' | '9b' | '9c' | '9d'> =>
  (['9a', '9b', '9c', '9d'] as const).filter((row) => only === null || only.has('9') || only.has(row));
const MB = 1024 * 1024;

const SIZES = quick
  ? { reps: 2, siteFiles: 500, siteBytes: 2_000_000, fanOutBytes: 2 * MB, fanOut: 4, hungHealthy: 3, hungStalled: 1, hungBytes: 2 * MB, hungStallAfter: 256 * 1024, hungDeadlineS: 2, scale: 20, scaleBytes: 2 * MB, shapedMbit: 200, shaped: 4, shapedBytes: 2 * MB }
  : { reps: 5, siteFiles: 20_000, siteBytes: 50_000_000, fanOutBytes: 64 * MB, fanOut: 16, hungHealthy: 12, hungStalled: 4, hungBytes: 8 * MB, hungStallAfter: 1 * MB, hungDeadlineS: 5, scale: 200, scaleBytes: 2 * MB, shapedMbit: 200, shaped: 4, shapedBytes: 32 * MB };
// Figure 10 (bench/wan.ts): 8 difusores behind a 50 ms RTT, 100 Mbit/s link.
const WAN_SIZES: WanSizes = quick
  ? { files: 300, difusores: 4, reps: 1, firstReps: 1, packageBytes: 2 * MB, stepTimeoutMs: 120_000 }
  : { files: 10_000, difusores: 8, reps: 3, firstReps: 1, packageBytes: 32 * MB, stepTimeoutMs: 900_000 };
// Figure 11 (bench/scale-site.ts): client CPU and memory per site-mode difusor, slope from 10 to 50.
const SCALE_SITE_SIZES: ScaleSiteSizes = quick
  ? { files: 300, counts: [2, 6], reps: 1, stepTimeoutMs: 120_000 }
  : { files: 20_000, counts: [10, 50], reps: 1, stepTimeoutMs: 1_800_000 };
const CONCURRENCY = 16;
const STEP_TIMEOUT_MS = quick ? 30_000 : 300_000;
const WATCHDOG_MS = quick ? 300_000 : 75 * 60_000;

export interface Row {
  figure: string;
  /** What the ratio column is. */
  ratioOf: string;
  prepPushS: Spread | null;
  baselineS: Spread | null;
  ratio: Spread | null;
  goal: string;
  goalMet: boolean | null;
  notes: string[];
  skipped?: string;
  error?: string;
}

// ---- cleanup: LIFO, run once, on every exit path ---------------------------------------------
const cleanups: Array<() => unknown> = [];
function defer(fn: () => unknown): void {
  cleanups.push(fn);
}
async function cleanUp(): Promise<void> {
  killLiveChildren();
  while (cleanups.length > 0) {
    const fn = cleanups.pop() as () => unknown;
    try {
      await fn();
    } catch (error) {
      log(`cleanup: ${(error as Error).message}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function emptyRow(figure: string, ratioOf: string, goal: string): Row {
  return { figure, ratioOf, prepPushS: null, baselineS: null, ratio: null, goal, goalMet: null, notes: [] };
}

function requireAllDelivered(run: PushRun, expected: string[], what: string): void {
  const missing = expected.filter((id) => !run.delivered.includes(id));
  if (missing.length > 0) {
    throw new Error(`${what}: ${missing.length} difusores not delivered: ${run.failed.slice(0, 5).map((f) => `${f.id} ${f.code}`).join(', ')}`);
  }
}

/** prep-push push vs the OpenSSH fan-out to the same targets, interleaved; returns the row's numbers. */
async function pushVersusOpenSsh(
  work: string,
  name: string,
  targets: Target[],
  clientKey: SshdFixture['clientKey'],
  username: string,
  packageBytes: number,
  onRun: (run: PushRun) => void = () => {},
): Promise<{ result: Awaited<ReturnType<typeof interleave>>; packageBytes: number }> {
  const dir = join(work, name);
  const stateDir = join(dir, 'state');
  mkdirSync(dir, { recursive: true });
  const pkg = await makeStoredPackage(dir, stateDir, packageBytes);
  const config = join(dir, 'difusores.yaml');
  writeRegistry(config, targets, username, clientKey.privateKeyPath, {
    concurrency: CONCURRENCY,
    connect_timeout_s: 30,
    transfer_timeout_s: 600,
    retries: 0,
  });
  const baseline = prepareOpenSshFanOut({ workDir: join(dir, 'openssh'), targets, pkg, username, privateKey: clientKey.privateKeyPath, concurrency: CONCURRENCY });
  const ids = targets.map((t) => t.id);
  const result = await interleave(
    SIZES.reps,
    async () => {
      const run = await runPushCli(config, stateDir, STEP_TIMEOUT_MS);
      requireAllDelivered(run, ids, `prep-push push (${name})`);
      onRun(run);
      return run.wallS;
    },
    () => runShellTimed(baseline, STEP_TIMEOUT_MS),
    async () => emptyRemoteDirs(targets),
    log,
  );
  emptyRemoteDirs(targets);
  return { result, packageBytes: pkg.bytes };
}

// ---- the five figures -------------------------------------------------------------------------

/** Figure 0 (bench/startup.ts): `prep-push --version` / `--help` vs `node -e 0`, interleaved. */
async function benchStartup(flag: '--version' | '--help'): Promise<Row> {
  const row = emptyRow(`0. Start-up ${flag}`, `prep-push ${flag} / node -e 0`, '<= 1.5');
  const result = await measureStartupOf(flag, SIZES.reps * 4);
  Object.assign(row, { prepPushS: result.prepPushS, baselineS: result.baselineS, ratio: result.ratio, goalMet: result.ratio.median <= 1.5 });
  row.notes.push(`${SIZES.reps * 4} interleaved pairs after a warm-up pair`);
  return row;
}

async function benchBuild(work: string): Promise<Row> {
  const row = emptyRow('1. Build (tar.gz + .sha256)', 'prep-push / tar -czf + sha256sum', '<= 0.8');
  const site = join(work, 'site');
  const summary = generateSyntheticSite(site, { files: SIZES.siteFiles, bytes: SIZES.siteBytes });
  row.notes.push(`site: ${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB`);
  let n = 0;
  const sizes: number[] = [];
  const result = await interleave(
    SIZES.reps,
    async () => {
      const storeDir = join(work, `store-${(n += 1)}`);
      const t = performance.now();
      const built = await buildPackage({ sourceDir: site, cut: BENCH_CUT, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir });
      const seconds = (performance.now() - t) / 1000;
      sizes.push(built.bytes);
      rmSync(storeDir, { recursive: true, force: true });
      return seconds;
    },
    async () => {
      const out = join(work, 'gnu.tgz');
      const seconds = await runShellTimed(`tar -czf ${out} -C ${site} . && sha256sum ${out} > ${out}.sha256`, STEP_TIMEOUT_MS);
      sizes.push(-statSync(out).size);
      rmSync(out, { force: true });
      rmSync(`${out}.sha256`, { force: true });
      return seconds;
    },
    undefined,
    log,
  );
  const ours = sizes.find((s) => s > 0) ?? 0;
  const gnu = -(sizes.find((s) => s < 0) ?? 0);
  row.notes.push(`archive: prep-push ${(ours / 1e6).toFixed(1)} MB, GNU tar ${(gnu / 1e6).toFixed(1)} MB`);
  rmSync(site, { recursive: true, force: true });
  return finishRatioRow(row, result, (r) => r <= 0.8);
}

function finishRatioRow(row: Row, r: { a: number[]; b: number[]; ratios: number[] }, meets: (median: number) => boolean): Row {
  row.prepPushS = spread(r.a);
  row.baselineS = spread(r.b);
  row.ratio = spread(r.ratios);
  row.goalMet = meets(row.ratio.median);
  return row;
}

async function benchFanOut(work: string, fixture: SshdFixture): Promise<Row> {
  const row = emptyRow(`2. Fan-out (${SIZES.fanOutBytes / MB} MiB to ${SIZES.fanOut})`, 'prep-push push / sftp -b via xargs -P16', '<= 0.9');
  const { result, packageBytes } = await pushVersusOpenSsh(work, 'fanout', targetsOf(fixture, SIZES.fanOut), fixture.clientKey, fixture.username, SIZES.fanOutBytes);
  const medianS = spread(result.a).median;
  row.notes.push(`package ${(packageBytes / 1e6).toFixed(1)} MB; prep-push aggregate ${((packageBytes * SIZES.fanOut) / 1e6 / medianS).toFixed(0)} MB/s`);
  return finishRatioRow(row, result, (r) => r <= 0.9);
}

async function benchHung(work: string, fixture: SshdFixture): Promise<Row> {
  const deadline = SIZES.hungDeadlineS;
  const row = emptyRow(
    `3. Hung (${SIZES.hungHealthy} ok + ${SIZES.hungStalled} stalled)`,
    `push wall / (transfer_timeout ${deadline} s + 2 s)`,
    '<= 1.0, all healthy delivered',
  );
  const dir = join(work, 'hung');
  const stateDir = join(dir, 'state');
  mkdirSync(dir, { recursive: true });
  const pkg = await makeStoredPackage(dir, stateDir, SIZES.hungBytes);
  const healthy = targetsOf(fixture, SIZES.hungHealthy);
  const stalled: Target[] = [];
  for (let i = 0; i < SIZES.hungStalled; i += 1) {
    const root = join(dir, `stalled-${i}`);
    // remote_dir /prep exists on the difusor's side: prep-push never creates it.
    mkdirSync(join(root, 'prep'), { recursive: true });
    const server: SftpServerHandle = await startSftpServer({
      root,
      username: fixture.username,
      authorizedKeys: [fixture.clientKey.publicKey],
      faults: { stallAfterBytes: SIZES.hungStallAfter },
    });
    defer(() => server.close());
    stalled.push({ id: `hung${i + 1}`, host: server.host, port: server.port, hostKeyFingerprint: server.hostKeyFingerprint, hostPublicKey: server.hostPublicKey, remoteDir: '/prep' });
  }
  const config = join(dir, 'difusores.yaml');
  // retries 1 as in production: the deadline covers every attempt.
  writeRegistry(config, [...healthy, ...stalled], fixture.username, fixture.clientKey.privateKeyPath, {
    concurrency: CONCURRENCY,
    connect_timeout_s: deadline,
    transfer_timeout_s: deadline,
    retries: 1,
  });
  const walls: number[] = [];
  for (let i = 0; i <= SIZES.reps; i += 1) {
    emptyRemoteDirs(healthy);
    const run = await runPushCli(config, stateDir, STEP_TIMEOUT_MS);
    requireAllDelivered(run, healthy.map((t) => t.id), 'prep-push push (hung)');
    const timedOut = run.failed.filter((f) => f.code === 'TRANSFER_TIMEOUT').length;
    log(`  ${i === 0 ? 'warm-up' : `rep ${i}`}: prep-push ${run.wallS.toFixed(3)} s, ${run.delivered.length} delivered, failed: ${run.failed.map((f) => f.code).join(',')}`);
    if (timedOut !== stalled.length) throw new Error(`hung: expected ${stalled.length} TRANSFER_TIMEOUT, got ${JSON.stringify(run.failed)}`);
    if (i > 0) walls.push(run.wallS);
  }
  emptyRemoteDirs(healthy);
  row.prepPushS = spread(walls);
  row.ratio = spread(walls.map((w) => w / (deadline + 2)));
  // Every repetition, not only the median, must end within the deadline + 2 s.
  row.goalMet = row.ratio.max <= 1;
  row.notes.push(`package ${(pkg.bytes / 1e6).toFixed(1)} MB, stall after ${SIZES.hungStallAfter / 1024} KiB; all ${healthy.length} healthy delivered in every run; max wall ${row.prepPushS.max.toFixed(2)} s`);
  return row;
}

async function benchScale(work: string): Promise<Row> {
  const row = emptyRow(`4. Scale (${SIZES.scale} difusores, ${SIZES.scaleBytes / MB} MiB)`, 'prep-push push / sftp -b via xargs -P16', '<= 1.0, peak RSS <= 256 MB');
  const fixture = await startBenchSshd(SIZES.scale, 's');
  defer(() => fixture.stop());
  let peak = 0;
  const { result } = await pushVersusOpenSsh(work, 'scale', targetsOf(fixture), fixture.clientKey, fixture.username, SIZES.scaleBytes, (run) => {
    peak = Math.max(peak, run.peakRssMiB);
  });
  finishRatioRow(row, result, (r) => r <= 1.0);
  row.goalMet = row.goalMet === true && peak <= 256;
  row.notes.push(`${Math.ceil(SIZES.scale / 16)} sshd processes; all delivered every run; peak RSS of prep-push ${peak.toFixed(0)} MiB (VmHWM)`);
  await fixture.stop();
  return row;
}

async function benchShaped(work: string): Promise<Row> {
  const rate = SIZES.shapedMbit;
  const row = emptyRow(
    `5. Shaped uplink (${rate} Mbit/s tbf, ${SIZES.shaped} x ${SIZES.shapedBytes / MB} MiB)`,
    'aggregate throughput / link rate',
    '>= 0.9',
  );
  let link;
  try {
    link = createShapedLink(rate);
  } catch (error) {
    row.skipped = `network namespace / veth / tbf not permitted here: ${(error as Error).message}`;
    return row;
  }
  defer(() => link.remove());
  const fixture = await startBenchSshd(SIZES.shaped, 'n', { listenHost: link.remoteHost, netns: link.netns });
  defer(() => fixture.stop());
  const windows: number[] = [];
  const { result, packageBytes } = await pushVersusOpenSsh(work, 'shaped', targetsOf(fixture), fixture.clientKey, fixture.username, SIZES.shapedBytes, (run) =>
    windows.push(run.maxDeliveryS),
  );
  const linkBytesPerS = (rate * 1e6) / 8;
  const total = packageBytes * SIZES.shaped;
  row.prepPushS = spread(result.a);
  row.baselineS = spread(result.b);
  row.ratio = spread(result.a.map((s) => total / s / linkBytesPerS));
  row.goalMet = row.ratio.median >= 0.9;
  const opensshUse = spread(result.b.map((s) => total / s / linkBytesPerS));
  row.notes.push(
    `throughput = ${SIZES.shaped} x ${(packageBytes / 1e6).toFixed(1)} MB / wall of the whole push command; ` +
      `over the deliveries alone (slowest difusor's seconds, no process start) ${spread(windows.slice(1).map((s) => total / s / linkBytesPerS)).median.toFixed(2)}; ` +
      `OpenSSH fan-out reaches ${opensshUse.median.toFixed(2)} of the link; prep-push/OpenSSH time ${spread(result.ratios).median.toFixed(2)}`,
  );
  await fixture.stop();
  link.remove();
  return row;
}

// Figure 6 (bench/site-publish.ts): a ~3% cut of a 20,000-file site to 8 difusores in site mode vs
// rclone sync. On a PREP-shaped site (one JSON per casilla, ~10,000 sección folders), the shape the
// goal is about: 6a keeps every release (links), 6b keep_releases 3 (recycles the oldest). And 6c,
// without a goal of its own: 6a's cut on as many files in a few dozen large folders, where rclone
// lists few folders and prep-push's links dominate, so the comparison stays visible on both shapes.
async function benchSite(work: string): Promise<Row[]> {
  const sizes = quick
    ? { files: 200, bytes: 1_000_000, difusores: 4, reps: 1, stepTimeoutMs: STEP_TIMEOUT_MS }
    : { files: 20_000, bytes: 50_000_000, difusores: 8, reps: 3, stepTimeoutMs: STEP_TIMEOUT_MS };
  const what = `${sizes.files} files, ~3% changed, to ${sizes.difusores}`;
  // Inodes: per difusor, rclone's copy, cut 1, the releases A and B and each new release's folders
  // (~10,000 of them per release on the PREP-shaped site).
  const disk = journaledScratchDisk(quick ? 1 : 8, quick ? 100_000 : 1_600_000);
  defer(() => disk.remove());
  log(`  ${disk.note}`);
  const fixture = await startBenchSshd(sizes.difusores, 'w', { tmpRoot: disk.dir });
  defer(() => fixture.stop());
  log('  PREP-shaped site (6a, 6b):');
  const prep = await benchSitePublish(work, fixture, { ...sizes, shape: 'prep', rows: 'both' }, log);
  log('  the same number of files in a few dozen folders (6c):');
  const few = await benchSitePublish(work, fixture, { ...sizes, shape: 'few-folders', rows: 'keep-all' }, log);
  await fixture.stop();
  disk.remove();
  const rowOf = (figure: string, data: SitePublishRow, shared: string[], goal: boolean): Row => {
    const row = emptyRow(figure, 'prep-push push (site) / rclone sync ×8 in parallel', goal ? '<= 0.5' : '-');
    row.notes.push(...data.notes, ...shared, disk.note);
    finishRatioRow(row, data.incremental, (r) => r <= 0.5);
    if (!goal) row.goalMet = null;
    return row;
  };
  const rows = [rowOf(`6a. Site publish, keep all (${what})`, prep.keepAll, prep.notes, true)];
  if (prep.recycle) rows.push(rowOf(`6b. Site publish, keep_releases 3 (${what})`, prep.recycle, prep.notes, true));
  rows.push(rowOf(`6c. Site publish, keep all, few large folders (${what})`, few.keepAll, few.notes, false));
  return rows;
}

// ---- report -----------------------------------------------------------------------------------

function fmtSpread(s: Spread | null, digits = 2): string {
  return s ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})` : '-';
}

function renderTable(rows: Row[]): string {
  const header = ['figure', 'prep-push s', 'baseline s', 'ratio median (min-max)', 'goal', 'met'];
  const body = rows.map((r) => [
    r.figure,
    r.prepPushS ? r.prepPushS.median.toFixed(2) : '-',
    r.baselineS ? r.baselineS.median.toFixed(2) : '-',
    r.skipped ? 'skipped' : r.error ? 'ERROR' : fmtSpread(r.ratio),
    r.goal,
    r.goalMet === null ? '-' : r.goalMet ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line), ''];
  for (const r of rows) {
    out.push(`${r.figure}: ratio = ${r.ratioOf}`);
    for (const n of r.notes) out.push(`    ${n}`);
    if (r.skipped) out.push(`    skipped: ${r.skipped}`);
    if (r.error) out.push(`    error: ${r.error.split('\n')[0]}`);
  }
  return out.join('\n');
}

function version(command: string): string {
  try {
    return execSync(command, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }).split('\n')[0].trim();
  } catch (error) {
    return ((error as { stderr?: string }).stderr ?? '').split('\n')[0].trim() || '?';
  }
}

async function main(): Promise<number> {
  const watchdog = setTimeout(() => {
    log(`watchdog: the benchmark took longer than ${WATCHDOG_MS / 1000} s; cleaning up`);
    void cleanUp().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();
  const started = new Date();
  const loadBefore = os.loadavg();
  log(`prep-push bench${quick ? ' --quick' : ''}: ${os.cpus().length} cores, load ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const work = mkdtempSync(join(os.tmpdir(), 'prep-bench-'));
  defer(() => rmSync(work, { recursive: true, force: true }));

  const rows: Row[] = [];
  const attempt = async (figure: string, fn: () => Promise<Row | Row[]>): Promise<void> => {
    if (!wanted(figure)) return;
    log(`${figure} ...`);
    try {
      rows.push(...[await fn()].flat());
    } catch (error) {
      const row = emptyRow(figure, '-', '-');
      row.error = (error as Error).message;
      log(`  ERROR: ${row.error}`);
      rows.push(row);
    }
  };

  await attempt('0. Start-up --version', () => benchStartup('--version'));
  await attempt('0. Start-up --help', () => benchStartup('--help'));
  await attempt('1. Build', () => benchBuild(work));
  const sixteen = await startBenchSshd(Math.max(SIZES.fanOut, SIZES.hungHealthy), 'd').catch((error: Error) => error);
  if (sixteen instanceof Error) {
    for (const f of ['2. Fan-out', '3. Hung']) {
      const row = emptyRow(f, '-', '-');
      row.error = `sshd did not start: ${sixteen.message}`;
      rows.push(row);
    }
  } else {
    defer(() => sixteen.stop());
    await attempt('2. Fan-out', () => benchFanOut(work, sixteen));
    await attempt('3. Hung', () => benchHung(work, sixteen));
  }
  // As before: figures 4 and 5 run only when sshd could start at all.
  if (!(sixteen instanceof Error)) {
    await attempt('4. Scale', () => benchScale(work));
    await attempt('5. Shaped uplink', () => benchShaped(work));
    await attempt('6. Site publish', () => benchSite(work));
  }

  // Figure 9: build on a PREP-shaped site (9a), start-up (9b), build (9c) and the build command (9d)
  // on ~300-byte casillas.
  if (wanted('9')) {
    log('9. PREP-shaped build and start-up ...');
    try {
      const nine = await benchPrepShaped(work, { files: quick ? 300 : 20_000, reps: SIZES.reps, stepTimeoutMs: STEP_TIMEOUT_MS, log, rows: nineRows() });
      if (nine.build) {
        const build = emptyRow('9a. Build, PREP-shaped site', 'prep-push build / tar -czf + sha256sum', '<= 0.8');
        build.notes.push(...nine.buildNotes);
        rows.push(finishRatioRow(build, nine.build, (r) => r <= 0.8));
      }
      if (nine.startUp) {
        const startUp = emptyRow('9b. Start-up: --version, --help', 'slower of prep-push --version, --help / node -e 0', '<= 1.5');
        startUp.notes.push(...nine.startUpNotes);
        rows.push(finishRatioRow(startUp, nine.startUp, (r) => r <= 1.5));
      }
      if (nine.smallBuild) {
        const small = emptyRow('9c. Build, ~300-byte casillas', 'prep-push build / tar -czf + sha256sum', '<= 0.8');
        small.notes.push(...nine.smallBuildNotes);
        rows.push(finishRatioRow(small, nine.smallBuild, (r) => r <= 0.8));
      }
      if (nine.smallCommand) {
        const command = emptyRow('9d. Build command, ~300-byte casillas', 'prep-push build process / tar -czf + sha256sum', '<= 0.8');
        command.notes.push(...nine.smallCommandNotes);
        rows.push(finishRatioRow(command, nine.smallCommand, (r) => r <= 0.8));
      }
    } catch (error) {
      const row = emptyRow('9. PREP-shaped', '-', '-');
      row.error = (error as Error).message;
      log(`  ERROR: ${row.error}`);
      rows.push(row);
    }
  }
  // Figure 7 (bench/delta-kit.ts): three rows, 7a-7c.
  if (wanted('7')) {
    log('7. Delta and kit ...');
    try {
      rows.push(...(await benchDeltaKit(work, { files: SIZES.siteFiles, bytes: SIZES.siteBytes, reps: SIZES.reps, timeoutMs: STEP_TIMEOUT_MS, log })));
    } catch (error) {
      const row = emptyRow('7. Delta and kit', '-', '-');
      row.error = (error as Error).message;
      log(`  ERROR: ${row.error}`);
      rows.push(row);
    }
  }
  // Figure 10 (issue 25): over a 50 ms RTT, 100 Mbit/s link (bench/wan-link.ts).
  await attempt('10. WAN', async () =>
    (await benchWan(work, WAN_SIZES, log, defer)).map((w: WanRow) => {
      const row = emptyRow(w.figure, w.ratioOf, w.goal);
      row.notes.push(...w.notes);
      finishRatioRow(row, w.result, w.meets ?? (() => true));
      if (w.meets === null) row.goalMet = null;
      return row;
    }),
  );
  // Figure 11 (issue 25): what a site-mode difusor costs the client (CPU-s and RSS per difusor).
  await attempt('11. Site-mode scale', async () => {
    const r = await benchScaleSite(work, SCALE_SITE_SIZES, log, defer);
    const [lo, hi] = SCALE_SITE_SIZES.counts;
    const rowOf = (figure: string, p: ScalePhase): Row => {
      const row = emptyRow(figure, `client CPU-s per difusor (slope ${lo} → ${hi} difusores; prep-push s = wall at ${hi})`, '-');
      const top = p.at[1];
      row.prepPushS = top.wall;
      row.ratio = { median: p.cpuPerDifusorS, min: p.cpuPerDifusorS, max: p.cpuPerDifusorS };
      row.notes.push(
        ...p.at.map((a) => `${a.count} difusores: wall ${a.wall.median.toFixed(2)} s, client CPU ${a.cpu.median.toFixed(2)} s, peak RSS ${a.rss.median.toFixed(0)} MiB, ${a.uploadedMB.toFixed(1)} MB uploaded`),
        `per difusor: ${p.cpuPerDifusorS.toFixed(3)} CPU-s, ${p.rssPerDifusorMiB.toFixed(2)} MiB of peak RSS`,
        ...r.notes,
      );
      return row;
    };
    return [rowOf(`11a. Site-mode scale, first publish (${SCALE_SITE_SIZES.files} files)`, r.first), rowOf(`11b. Site-mode scale, ~3 % cut, keep all (${SCALE_SITE_SIZES.files} files)`, r.incremental)];
  });
  // Figure 8 (issues 13, 25; bench/audit.ts): audit --sample all vs curl --parallel + sha256sum -c, goal >= 1.0, on the synthetic (8a) and PREP-shaped (8b) sites; needs only nginx.
  await attempt('8. Audit', () => benchAudit(work, { quick, reps: SIZES.reps, stepTimeoutMs: STEP_TIMEOUT_MS, log, defer }));

  const table = renderTable(rows);
  const loadAfter = os.loadavg();
  const machine = {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? '?',
    memoryMiB: Math.round(os.totalmem() / MB),
    node: process.version,
    openssh: version('ssh -V 2>&1'),
    sftpCipher: BASELINE_CIPHER,
    tar: version('tar --version'),
    loadavgBefore: loadBefore,
    loadavgAfter: loadAfter,
  };
  const command = `npm run bench${quick || only ? ' --' : ''}${quick ? ' --quick' : ''}${only ? ` --only ${onlyArg}` : ''}`;
  process.stdout.write(`\n${table}\n\n${command}  (${started.toISOString()}, ${machine.cores} cores ${machine.cpu}, ${machine.openssh}, sftp cipher ${BASELINE_CIPHER}, load before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')})\n`);
  // Only a full run of every figure replaces bench/results.json (the README's table).
  const resultsFile = quick || only ? join(os.tmpdir(), `prep-push-bench-${quick ? 'quick' : 'partial'}.json`) : join(PACKAGE_ROOT, 'bench', 'results.json');
  writeFileSync(resultsFile, `${JSON.stringify({ command, quick, started: started.toISOString(), machine, sizes: SIZES, rows }, null, 2)}\n`);
  log(`results: ${resultsFile}`);

  // Quick mode checks that every row produced a number (a skip must say why), not the goals.
  const broken = rows.filter((r) => !r.skipped && (r.error !== undefined || r.ratio === null || !Number.isFinite(r.ratio.median)));
  const expectedRows = only === null ? 6 : only.size;
  if (broken.length > 0 || rows.length < expectedRows) {
    log(`bench: ${broken.length} row(s) without a number${rows.length < expectedRows ? `, ${expectedRows - rows.length} row(s) not run` : ''}`);
    return 1;
  }
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? String(error)}`);
} finally {
  await cleanUp();
}
// sftp servers and timers may hold the loop open; everything is cleaned up, so leave now.
process.exit(exitCode);

