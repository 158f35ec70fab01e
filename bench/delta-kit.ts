// Figure 7: signed, incremental packages and the kit's prep-apply on a PREP-shaped site where ~3% of
// the files change per cut. Three rows, each against what it replaces, measured in the same run:
// delta bytes vs the full package; prep-apply of the delta vs `tar -xzf` of the full package;
// a signed build vs an unsigned one.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cutAt } from '../src/core/cut.js';
import { renderKit } from '../src/kit/render-kit.js';
import { readKitTemplates } from '../src/kit/templates-dir.js';
import { buildPackage } from '../src/package/build-package.js';
import { deltaFileName } from '../src/package/delta.js';
import { signerFromKeyData } from '../src/signing/load-signing-key.js';
import { allowedSignersLine } from '../src/signing/sshsig.js';
import { interleave, runShellTimed, spread } from './harness.js';
import type { Row } from './run.js';
import { generateSyntheticSite } from './synthetic-site.js';

/** A row of the benchmark table (bench/run.ts); a type-only import, so run.ts is not executed. */
export type DeltaKitRow = Row;

export interface DeltaKitOptions {
  files: number;
  bytes: number;
  reps: number;
  /** Per step, as the other figures' STEP_TIMEOUT_MS. */
  timeoutMs: number;
  log: (line: string) => void;
}

const TZ = 'America/Mexico_City';
const CUT_A = cutAt(Date.parse('2024-06-02T20:00:00-06:00'), TZ);
const CUT_B = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), TZ);

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Changes every 33rd file (~3%) in place: the same size, different bytes. */
function changeThreePercent(site: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  listFiles(site).forEach((file, i) => {
    if (i % 33 !== 7) return;
    const data = readFileSync(file);
    for (let j = 0; j < data.length; j += 97) data[j] = data[j] >= 0x30 && data[j] <= 0x38 ? data[j] + 1 : data[j];
    data[0] ^= 0; // the first byte stays (HTML/JSON openers)
    writeFileSync(file, Buffer.concat([data.subarray(0, Math.max(0, data.length - 1)), Buffer.from(data.length ? '\n' : '')]));
    files += 1;
    bytes += data.length;
  });
  return { files, bytes };
}

export async function benchDeltaKit(work: string, opts: DeltaKitOptions): Promise<DeltaKitRow[]> {
  const dir = join(work, 'delta-kit');
  mkdirSync(dir, { recursive: true });
  const site = join(dir, 'site');
  const summary = generateSyntheticSite(site, { files: opts.files, bytes: opts.bytes });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench', '-f', join(dir, 'firma')]);
  const signer = signerFromKeyData(readFileSync(join(dir, 'firma')), undefined, 'firma');
  const store = join(dir, 'store');
  const full = { sourceDir: site, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz' as const, storeDir: store, signer, delta: true };
  const pkgA = await buildPackage({ ...full, cut: CUT_A });
  const changed = changeThreePercent(site);
  const pkgB = await buildPackage({ ...full, cut: CUT_B });
  const deltaFile = join(store, deltaFileName(pkgB.fileName, pkgA.cutId));
  const deltaBytes = statSync(deltaFile).size;
  const where = `site: ${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB; ${changed.files} files changed (${(changed.bytes / 1e6).toFixed(2)} MB)`;

  const bytesRow: DeltaKitRow = {
    figure: '7a. Delta bytes',
    ratioOf: 'delta package bytes / full package bytes (same cut)',
    prepPushS: null,
    baselineS: null,
    ratio: spread([deltaBytes / pkgB.bytes]),
    goal: '<= 0.10',
    goalMet: deltaBytes / pkgB.bytes <= 0.1,
    notes: [where, `full ${(pkgB.bytes / 1e6).toFixed(2)} MB, delta ${(deltaBytes / 1e6).toFixed(2)} MB (MANIFEST.json of every file included)`],
  };

  // The difusor's side: cut A applied by prep-apply; then the delta to B, against tar -xzf of B.
  const difusor = join(dir, 'difusor');
  const kit = join(dir, 'kit');
  mkdirSync(difusor, { recursive: true });
  mkdirSync(kit, { recursive: true });
  const kitFiles = renderKit({
    institute: 'IEM',
    difusor: { id: 'bench', name: 'bench', host: 'x', port: 22, username: 'x', hostKey: 'x', remoteDir: difusor, enabled: true },
    allowedSigners: allowedSignersLine('IEM', signer.publicKeyBlob),
    templates: await readKitTemplates(),
  });
  for (const f of kitFiles) writeFileSync(join(kit, f.name), f.content, { mode: f.mode });
  const put = (file: string) => {
    for (const suffix of ['', '.sha256', '.sig']) writeFileSync(join(difusor, relative(store, file) + suffix), readFileSync(file + suffix));
    writeFileSync(join(difusor, 'LATEST'), `${relative(store, file)}\n`);
  };
  // Both sides run through `sh -c` as child processes (tracked and killed on Ctrl-C by the harness).
  const prepApply = () => runShellTimed(`sh '${join(kit, 'prep-apply')}' --dir '${difusor}' > /dev/null`, opts.timeoutMs);
  put(pkgA.file);
  await prepApply();
  put(deltaFile);
  const extractDir = join(dir, 'tar-x');
  const apply = await interleave(
    opts.reps,
    prepApply,
    async () => {
      mkdirSync(extractDir);
      return runShellTimed(`tar -xzf '${pkgB.file}' -C '${extractDir}'`, opts.timeoutMs);
    },
    async () => {
      // Back to "A applied": B's release and the tar output removed.
      rmSync(join(difusor, 'releases', pkgB.cutId), { recursive: true, force: true });
      rmSync(extractDir, { recursive: true, force: true });
      rmSync(join(difusor, 'current'), { force: true });
      execFileSync('ln', ['-s', `releases/${pkgA.cutId}`, join(difusor, 'current')]);
      writeFileSync(join(difusor, 'APPLIED'), `${pkgA.cutId}\n`);
      // prep-apply's own state: its anti-rollback mark and the releases it applied (APPLIED is only a copy).
      writeFileSync(join(difusor, '.prep-apply', 'mark'), `${pkgA.cutId}\n`);
      writeFileSync(join(difusor, '.prep-apply', 'history'), `${pkgA.cutId}\n`);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    opts.log,
  );
  const applyRatio = spread(apply.ratios);
  const applyRow: DeltaKitRow = {
    figure: '7b. prep-apply of a delta',
    ratioOf: 'prep-apply (private copy, verify, hash the reused base files, hard links, delta, switch) / tar -xzf of the full package',
    prepPushS: spread(apply.a),
    baselineS: spread(apply.b),
    ratio: applyRatio,
    goal: '<= 0.5',
    goalMet: applyRatio.median <= 0.5,
    notes: [
      where,
      'prep-apply run with sh (dash), as the kit installs it',
      `the cost of prep-apply on this delta of a ${summary.files}-file site (issue 22: a private copy of the package, every base file it reuses hashed against the base's signed manifest): median ${spread(apply.a).median.toFixed(2)} s`,
    ],
  };

  // Signing: the same build with and without signing_key (deltas off in both).
  let n = 0;
  const buildOnce = async (withKey: boolean) => {
    const storeDir = join(dir, `sign-store-${(n += 1)}`);
    const t = performance.now();
    await buildPackage({ sourceDir: site, cut: CUT_B, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir, ...(withKey ? { signer } : {}) });
    const seconds = (performance.now() - t) / 1000;
    rmSync(storeDir, { recursive: true, force: true });
    return seconds;
  };
  // Yielding to the event loop between runs lets Ctrl-C's cleanup run.
  const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
  const signing = await interleave(opts.reps, () => buildOnce(true), () => buildOnce(false), yieldToLoop, opts.log);
  const signRatio = spread(signing.ratios);
  const signRow: DeltaKitRow = {
    figure: '7c. Signing',
    ratioOf: 'build with signing_key / the same build without',
    prepPushS: spread(signing.a),
    baselineS: spread(signing.b),
    ratio: signRatio,
    goal: '<= 1.05',
    goalMet: signRatio.median <= 1.05,
    notes: [where],
  };
  rmSync(dir, { recursive: true, force: true });
  return [bytesRow, applyRow, signRow];
}
