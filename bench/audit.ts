// Figure 8: `prep-push audit --sample all` of a 20,000-file site served by real nginx on loopback,
// in files per second, against the best a sysadmin would script: curl --parallel with every URL in
// one config file, followed by `sha256sum -c` of the same files (goal: at least as fast, >= 1.0);
// curl serial and `wget -i` are measured once each for the notes. Two sites: (8a) the synthetic
// site of figure 1 (1-3 KB JSON plus larger CSVs and images, 50 MB), (8b) the PREP-shaped site of
// figure 9 (one 1-3 KB JSON per casilla, ~10,000 sección folders).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { readStoredManifest } from '../src/audit/stored-manifest.js';
import { packageStoreDir } from '../src/core/state-dir.js';
import { openJournal } from '../src/ledger/journal.js';
import { buildPackage } from '../src/package/build-package.js';
import { mainJsonLocation, publishRelease } from '../tests/helpers/audit-site.js';
import { makeKeyPair } from '../tests/helpers/keys.js';
import { startNginx } from '../tests/helpers/nginx.js';
import { BENCH_CUT, CLI, interleave, runShellTimed, spread } from './harness.js';
import type { Row } from './run.js';
import { generatePrepShapedSite } from './prep-shaped.js';
import { generateSyntheticSite } from './synthetic-site.js';

export interface AuditBenchOptions {
  quick: boolean;
  reps: number;
  stepTimeoutMs: number;
  log: (line: string) => void;
  /** Registers a cleanup (LIFO, run on every exit path). */
  defer: (fn: () => unknown) => void;
}

/** A row of the benchmark table (bench/run.ts). */
export type AuditBenchRow = Row;

/** The real CLI as cron would run it; resolves with the wall seconds once every file was checked ok. */
function runAuditCli(config: string, stateDir: string, files: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, '--config', config, '--state-dir', stateDir, 'audit', '--sample', 'all', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      const seconds = (performance.now() - started) / 1000;
      try {
        const result = JSON.parse(stdout).results[0];
        if (code !== 0 || result.outcome !== 'ok' || result.checked_files !== files) throw new Error(`outcome ${result.outcome}, ${result.checked_files} files`);
        resolve(seconds);
      } catch (error) {
        reject(new Error(`prep-push audit (exit ${code}): ${(error as Error).message}: ${stderr.slice(-500)}`));
      }
    });
  });
}

/** At least as fast as curl --parallel-max 8 + sha256sum -c on the same files, same nginx, same run. */
export const AUDIT_GOAL = 1.0;

/** Figure 8: both sites, one row each. */
export async function benchAudit(work: string, o: AuditBenchOptions): Promise<AuditBenchRow[]> {
  return [await benchAuditOf(work, 'synthetic', o), await benchAuditOf(work, 'prep-shaped', o)];
}

async function benchAuditOf(work: string, shape: 'synthetic' | 'prep-shaped', o: AuditBenchOptions): Promise<AuditBenchRow> {
  const files = o.quick ? 500 : 20_000;
  const row: AuditBenchRow = {
    figure: `8${shape === 'synthetic' ? 'a' : 'b'}. Audit --sample all (${files} files, ${shape === 'synthetic' ? 'synthetic site' : 'PREP-shaped site'}, nginx)`,
    ratioOf: 'prep-push files/s / curl --parallel-max 8 (-K config) + sha256sum -c files/s',
    prepPushS: null,
    baselineS: null,
    ratio: null,
    goal: `>= ${AUDIT_GOAL.toFixed(1)} vs curl --parallel`,
    goalMet: null,
    notes: [],
  };
  const dir = join(work, `audit-${shape}`);
  // nginx's workers run as an unprivileged user: the served tree must be reachable for them.
  chmodSync(work, 0o755);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const site = join(dir, 'site');
  const summary =
    shape === 'synthetic'
      ? generateSyntheticSite(site, { files, bytes: o.quick ? 2_000_000 : 50_000_000 })
      : generatePrepShapedSite(site, { files });
  const stateDir = join(dir, 'state');
  const pkg = await buildPackage({ sourceDir: site, cut: BENCH_CUT, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: packageStoreDir(stateDir) });
  const manifest = await readStoredManifest(pkg);
  const root = await publishRelease(join(dir, 'difusor'), site, manifest);
  rmSync(site, { recursive: true, force: true });
  const nginx = await startNginx({ root, serverExtra: mainJsonLocation(root) });
  o.defer(() => nginx.stop());

  const journal = await openJournal(stateDir);
  await journal.append({ type: 'outcome', at: new Date().toISOString(), cut: pkg.cutId, id: 'bench', outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1 });
  await journal.close();
  const key = await makeKeyPair(dir, 'id_ed25519');
  const config = join(dir, 'difusores.yaml');
  writeFileSync(
    config,
    [
      'institute: IEM',
      'package:',
      '  name: "PREP_{cut}"',
      'audit:',
      '  timeout_s: 600',
      'difusores:',
      '  - id: bench',
      '    host: 127.0.0.1',
      `    host_key: "${key.fingerprint}"`,
      '    username: iem',
      `    private_key: ${JSON.stringify(key.privateKeyPath)}`,
      '    remote_dir: /prep',
      `    url: ${JSON.stringify(nginx.url)}`,
      '',
    ].join('\n'),
  );

  // The baselines: the same URLs, saved under their paths, then checked with sha256sum -c.
  const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  // The baselines save each file to check it with sha256sum: into RAM (tmpfs) where there is one,
  // so they are measured fetching and hashing, not waiting for a shared disk.
  const fetched = existsSync('/dev/shm') ? join('/dev/shm', `prep-push-bench-audit-${process.pid}-${shape}`) : join(dir, 'fetched');
  o.defer(() => rmSync(fetched, { recursive: true, force: true }));
  const curlConfig = join(dir, 'curl.cfg');
  writeFileSync(curlConfig, manifest.files.map((f) => `url = "${nginx.url}${encode(f.path)}"\noutput = "${f.path}"\n`).join(''));
  const urlList = join(dir, 'urls.txt');
  writeFileSync(urlList, manifest.files.map((f) => `${nginx.url}${encode(f.path)}\n`).join(''));
  const sums = join(dir, 'SHA256SUMS');
  writeFileSync(sums, manifest.files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
  const check = `&& sha256sum -c --quiet ${sums}`;
  // Emptying the download folder is not timed (it runs before every measurement, both sides).
  const emptyFetched = async () => {
    rmSync(fetched, { recursive: true, force: true });
    mkdirSync(fetched, { recursive: true });
  };
  const fresh = `cd ${fetched}`;
  const curlParallel = `${fresh} && curl -sSf --create-dirs --parallel --parallel-max 8 -K ${curlConfig} ${check}`;
  const curlSerial = `${fresh} && curl -sSf --create-dirs -K ${curlConfig} ${check}`;
  const wget = `${fresh} && wget -q -x -nH -i ${urlList} ${check}`;
  // Fetching alone, nothing saved or checked: the floor of what curl does here (for the notes).
  const nullConfig = join(dir, 'curl-null.cfg');
  writeFileSync(nullConfig, manifest.files.map((f) => `url = "${nginx.url}${encode(f.path)}"\noutput = "/dev/null"\n`).join(''));
  const curlFetchOnly = `curl -sSf --parallel --parallel-max 8 -K ${nullConfig}`;

  const count = manifest.files.length;
  // The machine is shared: the load beside the figure says how quiet it was.
  const loadBefore = loadavg()[0];
  const result = await interleave(
    o.reps,
    () => runAuditCli(config, stateDir, count, o.stepTimeoutMs),
    () => runShellTimed(curlParallel, o.stepTimeoutMs),
    emptyFetched,
    o.log,
  );
  await emptyFetched();
  const serialS = await runShellTimed(curlSerial, o.stepTimeoutMs);
  await emptyFetched();
  const wgetS = await runShellTimed(wget, o.stepTimeoutMs);
  const fetchOnlyS = await runShellTimed(curlFetchOnly, o.stepTimeoutMs);
  const loadAfter = loadavg()[0];
  rmSync(fetched, { recursive: true, force: true });

  row.prepPushS = spread(result.a);
  row.baselineS = spread(result.b);
  // Same files on both sides, so the ratio of rates is the inverse ratio of times.
  row.ratio = spread(result.a.map((a, i) => result.b[i] / a));
  row.goalMet = row.ratio.median >= AUDIT_GOAL;
  const rate = (s: number) => `${Math.round(count / s)} files/s`;
  row.notes.push(
    `${shape} site: ${summary.files} files${'dirs' in summary ? ` in ${summary.dirs} sección folders` : ''}, ${(summary.bytes / 1e6).toFixed(1)} MB, served by nginx on 127.0.0.1; prep-push = the whole \`audit --sample all --json\` process (start-up, reading the manifest from the stored package, journal)`,
    `prep-push ${rate(row.prepPushS.median)}; curl --parallel-max 8 + sha256sum -c ${rate(row.baselineS.median)}; ` +
      `curl serial (one -K config) ${rate(serialS)}; wget -i + sha256sum -c ${rate(wgetS)} (one run each); ` +
      `vs curl serial ${(serialS / row.prepPushS.median).toFixed(2)}x, vs wget ${(wgetS / row.prepPushS.median).toFixed(2)}x; ` +
      `baselines save into ${fetched.startsWith('/dev/shm') ? 'tmpfs' : 'the work dir'}`,
    `curl --parallel-max 8 fetching only (to /dev/null, nothing checked, one run): ${rate(fetchOnlyS)}`,
    `${o.reps} interleaved pairs after a warm-up pair; 1-min load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after (${cpus().length} cores)`,
  );
  await nginx.stop();
  return row;
}
