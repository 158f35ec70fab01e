// Quick measure of the package builder against GNU tar + sha256sum, outside `npm run bench`.
// `node dist/bench/build-probe.js [--shape synthetic|prep|prep-small] [--files N] [--bytes N]
//   [--runs N] [--format tar.gz|zip] [--cli] [--keep DIR]`
// --cli times the whole `prep-push build` process (start-up included) instead of buildPackage();
// pairs are interleaved (the order alternates), one warm-up pair is dropped; prints one line per
// pair, the load average beside it, and a JSON line with the medians.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { cutAt } from '../src/core/cut.js';
import { buildPackage } from '../src/package/build-package.js';
import type { PackageFormat } from '../src/registry/types.js';
import { CLI, PACKAGE_ROOT } from './harness.js';
import { generatePrepShapedSite, SMALL_CASILLAS } from './prep-shaped.js';
import { generateSyntheticSite } from './synthetic-site.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function load(): string {
  return os.loadavg()[0].toFixed(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string', default: 'prep-small' },
      files: { type: 'string', default: '20000' },
      bytes: { type: 'string', default: '50000000' },
      runs: { type: 'string', default: '5' },
      format: { type: 'string', default: 'tar.gz' },
      cli: { type: 'boolean', default: false },
      keep: { type: 'string' },
    },
  });
  const files = Number(values.files);
  const runs = Number(values.runs);
  const format = values.format as PackageFormat;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-probe-'));
  try {
    const site = values.keep ?? path.join(work, 'site');
    if (!fs.existsSync(site)) {
      const summary =
        values.shape === 'synthetic'
          ? generateSyntheticSite(site, { files, bytes: Number(values.bytes) })
          : generatePrepShapedSite(site, values.shape === 'prep-small' ? { files, ...SMALL_CASILLAS } : { files });
      process.stderr.write(`site ${values.shape}: ${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB\n`);
    }
    const cut = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
    const registry = path.join(work, 'difusores.yaml');
    fs.writeFileSync(registry, `institute: IEM\npackage:\n  name: "PREP_{cut}"\n  format: ${format}\n` + 'difusores:\n  - {id: uno, name: Uno, host: 127.0.0.1, host_key: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", private_key: ' + path.join(PACKAGE_ROOT, 'keys', 'example_ed25519') + ', username: u, remote_dir: /prep}\n');
    const ours: number[] = [];
    const gnu: number[] = [];
    let oursBytes = 0;
    const runOurs = async (run: number): Promise<number> => {
      const stateDir = path.join(work, `state-${run}`);
      const t = performance.now();
      if (values.cli) {
        execFileSync(process.execPath, [CLI, '--config', registry, '--state-dir', stateDir, 'build', '--source', site, '--cut', cut.id], {
          stdio: ['ignore', 'ignore', 'inherit'],
        });
      } else {
        const built = await buildPackage({ sourceDir: site, cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format, storeDir: path.join(stateDir, 'packages') });
        oursBytes = built.bytes;
      }
      const seconds = (performance.now() - t) / 1000;
      fs.rmSync(stateDir, { recursive: true, force: true });
      return seconds;
    };
    const runGnu = (): number => {
      const out = path.join(work, `gnu.${format === 'zip' ? 'zip' : 'tgz'}`);
      const t = performance.now();
      const command = format === 'zip' ? `cd ${site} && zip -qr ${out} . && sha256sum ${out} > ${out}.sha256` : `tar -czf ${out} -C ${site} . && sha256sum ${out} > ${out}.sha256`;
      execFileSync('sh', ['-c', command], { stdio: 'ignore' });
      const seconds = (performance.now() - t) / 1000;
      fs.rmSync(out, { force: true });
      fs.rmSync(`${out}.sha256`, { force: true });
      return seconds;
    };
    for (let run = 0; run <= runs; run += 1) {
      let a: number;
      let b: number;
      if (run % 2 === 0) {
        a = await runOurs(run);
        b = runGnu();
      } else {
        b = runGnu();
        a = await runOurs(run);
      }
      process.stderr.write(`${run === 0 ? 'warm-up' : `pair ${run}`}: ours ${a.toFixed(3)} s, tar+sha256sum ${b.toFixed(3)} s, ratio ${(a / b).toFixed(2)} (load ${load()})\n`);
      if (run === 0) continue;
      ours.push(a);
      gnu.push(b);
    }
    const ratios = ours.map((a, i) => a / gnu[i]);
    const line = { shape: values.shape, files, format, cli: values.cli, runs, oursMedianS: median(ours), referenceMedianS: median(gnu), ratioMedian: median(ratios), oursBytes, load: os.loadavg() };
    process.stdout.write(JSON.stringify(line) + '\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
