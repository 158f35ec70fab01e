// Quick measure of the package builder against GNU tar + sha256sum on a synthetic site.
// `node dist/bench/build-probe.js [FILES] [BYTES] [RUNS] [FORMAT]`; prints one line per run and the medians.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cutAt } from '../src/core/cut.js';
import { buildPackage } from '../src/package/build-package.js';
import type { PackageFormat } from '../src/registry/types.js';
import { generateSyntheticSite } from './synthetic-site.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const [filesArg, bytesArg, runsArg, formatArg] = process.argv.slice(2);
  const files = Number(filesArg ?? 20_000);
  const bytes = Number(bytesArg ?? 50_000_000);
  const runs = Number(runsArg ?? 5);
  const format = (formatArg ?? 'tar.gz') as PackageFormat;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-probe-'));
  try {
    const site = path.join(work, 'site');
    const summary = generateSyntheticSite(site, { files, bytes });
    process.stderr.write(`site: ${summary.files} files, ${(summary.bytes / 1e6).toFixed(1)} MB\n`);
    const cut = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
    const ours: number[] = [];
    const gnu: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      const storeDir = path.join(work, `store-${run}`);
      let t = performance.now();
      const built = await buildPackage({ sourceDir: site, cut, institute: 'IEM', nameTemplate: 'PREP_{cut}', format, storeDir });
      ours.push((performance.now() - t) / 1000);
      const gnuFile = path.join(work, `gnu-${run}.tgz`);
      t = performance.now();
      const gnuCommand = format === 'zip' ? `cd ${site} && zip -qr ${gnuFile}.zip . && sha256sum ${gnuFile}.zip` : `tar -czf ${gnuFile} -C ${site} . && sha256sum ${gnuFile}`;
      execFileSync('sh', ['-c', gnuCommand], { stdio: 'ignore' });
      gnu.push((performance.now() - t) / 1000);
      process.stderr.write(
        `run ${run + 1}: ours ${ours[run].toFixed(3)} s (${(built.bytes / 1e6).toFixed(1)} MB), ` +
          `reference ${gnu[run].toFixed(3)} s (${(fs.statSync(format === 'zip' ? `${gnuFile}.zip` : gnuFile).size / 1e6).toFixed(1)} MB)\n`,
      );
      fs.rmSync(storeDir, { recursive: true, force: true });
      fs.rmSync(gnuFile, { force: true });
      fs.rmSync(`${gnuFile}.zip`, { force: true });
    }
    const line = { files: summary.files, bytes: summary.bytes, format, runs, oursMedianS: median(ours), referenceMedianS: median(gnu), ratio: median(ours) / median(gnu) };
    process.stdout.write(JSON.stringify(line) + '\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
