// Figure 9 of `npm run bench`: (9a) building the package of a site shaped like a real PREP
// publication (one small JSON per casilla, two per sección folder: 20,000 files of 1–3 KB in about
// 10,000 folders) against `tar -czf` + `sha256sum`; (9b) start-up of `prep-push --version` and
// `--help` against `node -e 0`; (9c) as 9a, on the same shape with the casilla files of a real
// publication, ~300 bytes (median), and a few ~1 MB CSVs, where per-file costs dominate; (9d) the
// whole `prep-push build` command (start-up, registry, lock, build, store) on that site. Each
// measured interleaved with `tar -czf` + `sha256sum`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPackage } from '../src/package/build-package.js';
import { mulberry32 } from '../tests/helpers/prng.js';
import { BENCH_CUT, CLI, interleave, PACKAGE_ROOT, runShellTimed, type Interleaved } from './harness.js';

export interface PrepShapedSiteOptions {
  /** Files (default 20,000), two per sección folder. */
  files?: number;
  seed?: number;
  /**
   * Size of each casilla JSON, drawn uniformly from [min, max) (default [1024, 3072): 1–3 KB). A
   * casilla holds its vote counts (about 150 bytes) before any capture log, so [200, 400) gives the
   * ~300-byte median of a real PREP publication's casilla files.
   */
  casillaBytes?: [number, number];
  /** Database CSVs of about `csvBytes` each in `datos/` (default none), counted in `files`. */
  csvs?: number;
  csvBytes?: number;
}

/** The casilla files of a real PREP publication: ~300 bytes (median), with a few ~1 MB database CSVs. */
export const SMALL_CASILLAS = { casillaBytes: [180, 380] as [number, number], csvs: 4, csvBytes: 1_000_000 };

const PARTIES = ['PAN', 'PRI', 'PRD', 'PVEM', 'PT', 'MC', 'MORENA', 'CI_1', 'NO_REG', 'NULOS'];

/**
 * `casillas/D<distrito>/S<sección>/<casilla>.json`, 24 districts, two casillas (básica, contigua)
 * per sección, each JSON 1–3 KB (or `casillaBytes`); plus index.html, json/main.json and `csvs`
 * CSVs in datos/. Deterministic.
 */
export function generatePrepShapedSite(dir: string, opts: PrepShapedSiteOptions = {}): { files: number; dirs: number; bytes: number } {
  const files = Math.max(opts.files ?? 20_000, 4);
  const csvs = Math.min(opts.csvs ?? 0, files - 4);
  const [casillaMin, casillaMax] = opts.casillaBytes ?? [1024, 3072];
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
  const casillas = files - 2 - csvs;
  const secciones = Math.ceil(casillas / 2);
  for (let s = 0; s < secciones; s += 1) {
    const seccionDir = path.join(dir, 'casillas', `D${String((s % 24) + 1).padStart(2, '0')}`, `S${String(s + 1).padStart(4, '0')}`);
    fs.mkdirSync(seccionDir, { recursive: true });
    dirs += 1;
    for (const tipo of ['B', 'C1']) {
      if (s * 2 + (tipo === 'B' ? 0 : 1) >= casillas) break;
      // 1–3 KB by default: the vote counts plus a capture log of varying length.
      const target = casillaMin + int(casillaMax - casillaMin);
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
  if (csvs > 0) {
    fs.mkdirSync(path.join(dir, 'datos'), { recursive: true });
    dirs += 1;
  }
  for (let c = 0; c < csvs; c += 1) {
    const rows = ['seccion,casilla,' + PARTIES.join(',')];
    let size = rows[0].length + 1;
    for (let r = 0; size < (opts.csvBytes ?? 1_000_000); r += 1) {
      const row = `${r >> 1},${r % 2 ? 'C1' : 'B'},${PARTIES.map(() => int(400)).join(',')}`;
      rows.push(row);
      size += row.length + 1;
    }
    write(path.join(dir, 'datos', `base_${c + 1}.csv`), rows.join('\n') + '\n');
  }
  return { files, dirs, bytes };
}

export interface PrepShapedFigures {
  /** 9a: prep-push build (a) against tar -czf + sha256sum (b). */
  build?: Interleaved;
  buildNotes: string[];
  /** 9b: the slower of `--version` and `--help` (a) against `node -e 0` (b). */
  startUp?: Interleaved;
  startUpNotes: string[];
  /** 9c: buildPackage (a) against tar -czf + sha256sum (b), ~300-byte casillas. */
  smallBuild?: Interleaved;
  smallBuildNotes: string[];
  /** 9d: the `prep-push build` process (a) against tar -czf + sha256sum (b), ~300-byte casillas. */
  smallCommand?: Interleaved;
  smallCommandNotes: string[];
}

export type PrepShapedRow = '9a' | '9b' | '9c' | '9d';

/** Runs figure 9 (the rows asked for) in `work`; `files` is the site size (20,000 in a full run). */
export async function benchPrepShaped(
  work: string,
  opts: { files: number; reps: number; stepTimeoutMs: number; log: (line: string) => void; rows?: PrepShapedRow[] },
): Promise<PrepShapedFigures> {
  const rows = new Set(opts.rows ?? ['9a', '9b', '9c', '9d']);
  const figures: PrepShapedFigures = { buildNotes: [], startUpNotes: [], smallBuildNotes: [], smallCommandNotes: [] };
  if (rows.has('9a')) Object.assign(figures, await benchBuild(work, opts));
  if (rows.has('9b')) Object.assign(figures, await benchStartUp(opts));
  if (rows.has('9c') || rows.has('9d')) Object.assign(figures, await benchSmallBuild(work, { ...opts, inProcess: rows.has('9c'), command: rows.has('9d') }));
  return figures;
}

async function benchBuild(
  work: string,
  opts: { files: number; reps: number; stepTimeoutMs: number; log: (line: string) => void },
): Promise<Pick<PrepShapedFigures, 'build' | 'buildNotes'>> {
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
  return { build, buildNotes };
}

async function benchStartUp(opts: { reps: number; log: (line: string) => void }): Promise<Pick<PrepShapedFigures, 'startUp' | 'startUpNotes'>> {
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
  return { startUp, startUpNotes };
}

/** `tar -czf` + `sha256sum` of `site`, timed; the archive's size in `sizes.gnu`. */
function gnuBuild(site: string, out: string, sizes: { gnu: number }, stepTimeoutMs: number): () => Promise<number> {
  return async () => {
    const seconds = await runShellTimed(`tar -czf ${out} -C ${site} . && sha256sum ${out} > ${out}.sha256`, stepTimeoutMs);
    sizes.gnu = fs.statSync(out).size;
    fs.rmSync(out, { force: true });
    fs.rmSync(`${out}.sha256`, { force: true });
    return seconds;
  };
}

/**
 * 9c and 9d on ~300-byte casillas: buildPackage() as 9a measures it, and what an operator runs,
 * `prep-push build --source DIR --cut TIME` (its start-up, registry, lock, build and store), both
 * sides of 9d one `sh -c`.
 */
async function benchSmallBuild(
  work: string,
  opts: { files: number; reps: number; stepTimeoutMs: number; log: (line: string) => void; inProcess: boolean; command: boolean },
): Promise<Pick<PrepShapedFigures, 'smallBuild' | 'smallBuildNotes' | 'smallCommand' | 'smallCommandNotes'>> {
  const site = path.join(work, 'prep-shaped-small');
  const summary = generatePrepShapedSite(site, { files: opts.files, ...SMALL_CASILLAS });
  const where = `PREP-shaped site, small casillas: ${summary.files} files (casillas ~300 bytes median, ${SMALL_CASILLAS.csvs} CSVs of ~1 MB) in ${summary.dirs} folders, ${(summary.bytes / 1e6).toFixed(1)} MB`;
  const out = path.join(work, 'prep-shaped-small-gnu.tgz');
  const sizes = { ours: 0, gnu: 0 };
  const figures: Pick<PrepShapedFigures, 'smallBuild' | 'smallBuildNotes' | 'smallCommand' | 'smallCommandNotes'> = { smallBuildNotes: [], smallCommandNotes: [] };
  if (opts.inProcess) {
    const storeDir = path.join(work, 'prep-shaped-small-store');
    figures.smallBuild = await interleave(
      opts.reps,
      async () => {
        const t = performance.now();
        const built = await buildPackage({ sourceDir: site, cut: BENCH_CUT, institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir });
        const seconds = (performance.now() - t) / 1000;
        sizes.ours = built.bytes;
        return seconds;
      },
      gnuBuild(site, out, sizes, opts.stepTimeoutMs),
      async () => {
        fs.rmSync(storeDir, { recursive: true, force: true });
      },
      opts.log,
    );
    fs.rmSync(storeDir, { recursive: true, force: true });
    figures.smallBuildNotes.push(where, `archive: prep-push ${(sizes.ours / 1e6).toFixed(2)} MB, GNU tar ${(sizes.gnu / 1e6).toFixed(2)} MB`);
  }
  if (opts.command) {
    const registry = path.join(work, 'prep-shaped-small.yaml');
    // A registry the build accepts; nothing is pushed, so the difusor is never contacted.
    fs.writeFileSync(
      registry,
      'institute: IEM\npackage:\n  name: "PREP_{cut}"\n  format: tar.gz\ndifusores:\n' +
        `  - {id: uno, name: Uno, host: 127.0.0.1, host_key: "SHA256:As1b+HQfL/ULKbUV/NP14pm3SvU+t4FUD20XgiDKJoc", username: iem, private_key: "${path.join(PACKAGE_ROOT, 'keys', 'example_ed25519')}", remote_dir: /prep}\n`,
    );
    const stateDir = path.join(work, 'prep-shaped-small-state');
    figures.smallCommand = await interleave(
      opts.reps,
      () =>
        runShellTimed(
          `${process.execPath} ${CLI} --config ${registry} --state-dir ${stateDir} build --source ${site} --cut ${BENCH_CUT.id} > /dev/null`,
          opts.stepTimeoutMs,
        ),
      gnuBuild(site, out, sizes, opts.stepTimeoutMs),
      async () => {
        fs.rmSync(stateDir, { recursive: true, force: true });
      },
      opts.log,
    );
    fs.rmSync(stateDir, { recursive: true, force: true });
    figures.smallCommandNotes.push(where, 'the whole prep-push build process (node start-up, registry, lock, build, store) against tar -czf + sha256sum, both through sh -c');
  }
  fs.rmSync(site, { recursive: true, force: true });
  return figures;
}
