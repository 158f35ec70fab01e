// Figure 9 of `npm run bench`: (9a) building the package of a site shaped like a real PREP
// publication (one small JSON per casilla, two per sección folder: 20,000 files of 1–3 KB in about
// 10,000 folders) against `tar -czf` + `sha256sum`; (9b) start-up of `prep-push --version` and
// `--help` against `node -e 0`. Both measured interleaved in the same run.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPackage } from '../src/package/build-package.js';
import { mulberry32 } from '../tests/helpers/prng.js';
import { BENCH_CUT, CLI, interleave, runShellTimed, type Interleaved } from './harness.js';

export interface PrepShapedSiteOptions {
  /** Files (default 20,000), two per sección folder. */
  files?: number;
  seed?: number;
}

const PARTIES = ['PAN', 'PRI', 'PRD', 'PVEM', 'PT', 'MC', 'MORENA', 'CI_1', 'NO_REG', 'NULOS'];

/**
 * `casillas/D<distrito>/S<sección>/<casilla>.json`, 24 districts, two casillas (básica, contigua)
 * per sección, each JSON 1–3 KB; plus index.html and json/main.json. Deterministic.
 */
export function generatePrepShapedSite(dir: string, opts: PrepShapedSiteOptions = {}): { files: number; dirs: number; bytes: number } {
  const files = Math.max(opts.files ?? 20_000, 4);
  const next = mulberry32(opts.seed ?? 2024);
  const int = (max: number) => Math.floor(next() * max);
  let bytes = 0;
  let dirs = 0;
  const write = (abs: string, content: string): void => {
    fs.writeFileSync(abs, content);
    bytes += Buffer.byteLength(content);
  };
  fs.mkdirSync(path.join(dir, 'json'), { recursive: true });
  write(path.join(dir, 'index.html'), '<!doctype html><html lang="es"><head><meta charset="utf-8"><title>PREP</title></head><body></body></html>\n');
  write(path.join(dir, 'json', 'main.json'), JSON.stringify({ fecha_corte: '02/06/2024', actas_esperadas: files }));
  const secciones = Math.ceil((files - 2) / 2);
  for (let s = 0; s < secciones; s += 1) {
    const seccionDir = path.join(dir, 'casillas', `D${String((s % 24) + 1).padStart(2, '0')}`, `S${String(s + 1).padStart(4, '0')}`);
    fs.mkdirSync(seccionDir, { recursive: true });
    dirs += 1;
    for (const tipo of ['B', 'C1']) {
      if (s * 2 + (tipo === 'B' ? 0 : 1) >= files - 2) break;
      // 1–3 KB: the vote counts plus a capture log of varying length.
      const target = 1024 + int(2048);
      const acta: Record<string, unknown> = { seccion: s + 1, casilla: tipo, votos: Object.fromEntries(PARTIES.map((p) => [p, int(400)])), bitacora: [] as string[] };
      let text = JSON.stringify(acta);
      const log = acta.bitacora as string[];
      while (text.length < target) {
        log.push(`${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')} captura ${int(100000)} verificada`);
        text = JSON.stringify(acta);
      }
      write(path.join(seccionDir, `${tipo}.json`), text);
    }
  }
  return { files, dirs, bytes };
}

export interface PrepShapedFigures {
  /** 9a: prep-push build (a) against tar -czf + sha256sum (b). */
  build: Interleaved;
  buildNotes: string[];
  /** 9b: the slower of `--version` and `--help` (a) against `node -e 0` (b). */
  startUp: Interleaved;
  startUpNotes: string[];
}

/** Runs figure 9 in `work`; `files` is the site size (20,000 in a full run). */
export async function benchPrepShaped(
  work: string,
  opts: { files: number; reps: number; stepTimeoutMs: number; log: (line: string) => void },
): Promise<PrepShapedFigures> {
  const site = path.join(work, 'prep-shaped');
  const summary = generatePrepShapedSite(site, { files: opts.files });
  const buildNotes = [`PREP-shaped site: ${summary.files} files in ${summary.dirs} sección folders, ${(summary.bytes / 1e6).toFixed(1)} MB`];
  let n = 0;
  const sizes = { ours: 0, gnu: 0 };
  const build = await interleave(
    opts.reps,
    async () => {
      const storeDir = path.join(work, `prep-shaped-store-${(n += 1)}`);
      const t = performance.now();
      const built = await buildPackage({ sourceDir: site, cut: BENCH_CUT, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir });
      const seconds = (performance.now() - t) / 1000;
      sizes.ours = built.bytes;
      fs.rmSync(storeDir, { recursive: true, force: true });
      return seconds;
    },
    async () => {
      const out = path.join(work, 'prep-shaped-gnu.tgz');
      const seconds = await runShellTimed(`tar -czf ${out} -C ${site} . && sha256sum ${out} > ${out}.sha256`, opts.stepTimeoutMs);
      sizes.gnu = fs.statSync(out).size;
      fs.rmSync(out, { force: true });
      fs.rmSync(`${out}.sha256`, { force: true });
      return seconds;
    },
    undefined,
    opts.log,
  );
  buildNotes.push(`archive: prep-push ${(sizes.ours / 1e6).toFixed(2)} MB, GNU tar ${(sizes.gnu / 1e6).toFixed(2)} MB`);
  fs.rmSync(site, { recursive: true, force: true });

  // Start-up: each side is one process; the slower of --version and --help is what cron pays.
  const timeOnce = (args: string[]): number => {
    const t = performance.now();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    return (performance.now() - t) / 1000;
  };
  const perCommand = { version: [] as number[], help: [] as number[] };
  const startUp = await interleave(
    Math.max(opts.reps, 5),
    async () => {
      const version = timeOnce([CLI, '--version']);
      const help = timeOnce([CLI, '--help']);
      perCommand.version.push(version);
      perCommand.help.push(help);
      return Math.max(version, help);
    },
    async () => timeOnce(['-e', '0']),
    undefined,
    opts.log,
  );
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const startUpNotes = [
    `--version ${median(perCommand.version).toFixed(3)} s, --help ${median(perCommand.help).toFixed(3)} s (medians); ratio uses the slower of the two per pair`,
  ];
  return { build, buildNotes, startUp, startUpNotes };
}
