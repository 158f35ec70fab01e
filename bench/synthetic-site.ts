// A deterministic stand-in for a real PREP publication folder, shaped like one: a JSON file per
// polling station (casilla), JSON and HTML per district and municipality, two CSV databases, static
// assets and some incompressible images. Used by the package tests (small) and the benchmark (large).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../tests/helpers/prng.js';

export interface SyntheticSiteOptions {
  /** About how many files (default 20,000). */
  files?: number;
  /** About how many bytes in total (default 50 MB). */
  bytes?: number;
  seed?: number;
}

export interface SyntheticSiteSummary {
  files: number;
  bytes: number;
}

const PARTIES = ['PAN', 'PRI', 'PRD', 'PVEM', 'PT', 'MC', 'MORENA', 'CI_1', 'CI_2', 'NO_REG', 'NULOS'];
const MUNICIPIOS = [
  'Morelia', 'Uruapan', 'Zamora', 'Lázaro Cárdenas', 'Zitácuaro', 'Apatzingán', 'Hidalgo', 'Pátzcuaro',
  'La Piedad', 'Sahuayo', 'Jacona', 'Tarímbaro', 'Maravatío', 'Zinapécuaro', 'Puruándiro', 'Tacámbaro',
];
const DISTRITOS = 24;

function randomBytes(next: () => number, size: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) data.writeUInt32LE((next() * 4294967296) >>> 0, i);
  for (; i < size; i += 1) data[i] = Math.floor(next() * 256);
  return data;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function generateSyntheticSite(dir: string, opts: SyntheticSiteOptions = {}): SyntheticSiteSummary {
  const totalFiles = Math.max(opts.files ?? 20_000, 40);
  const totalBytes = Math.max(opts.bytes ?? 50_000_000, 200_000);
  const next = mulberry32(opts.seed ?? 2024);
  const int = (max: number) => Math.floor(next() * max);
  let files = 0;
  let bytes = 0;
  const write = (rel: string, content: string | Buffer) => {
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
    files += 1;
    bytes += typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  };
  const votes = () => Object.fromEntries(PARTIES.map((p) => [p, int(400)]));

  // Fixed pieces every PREP site has.
  write('index.html', `<!doctype html><html lang="es"><head><meta charset="utf-8"><title>PREP 2024</title></head><body><h1>Programa de Resultados Electorales Preliminares</h1></body></html>\n`);
  write('json/main.json', JSON.stringify({ fecha_corte: '02/06/2024', hora_corte: '20:20', actas_esperadas: totalFiles, actas_capturadas: int(totalFiles) }, null, 2));
  for (const name of ['app', 'vendor', 'charts']) write(`assets/js/${name}.js`, `// ${name}\n` + 'function f(a,b){return a+b}\n'.repeat(200 + int(400)));
  for (const name of ['main', 'print']) write(`assets/css/${name}.css`, '.tabla td{padding:2px 4px;border:1px solid #ccc}\n'.repeat(300));

  // Incompressible images: a fifth of the bytes.
  const imageCount = Math.max(2, Math.round(totalFiles * 0.002));
  const imageBytes = Math.floor((totalBytes * 0.2) / imageCount);
  for (let i = 1; i <= imageCount; i += 1) write(`assets/img/foto_${String(i).padStart(3, '0')}.jpg`, randomBytes(next, imageBytes));

  // Two CSV databases, a row per station, a sixth of the bytes between them.
  const stations = Math.max(totalFiles - imageCount - 2 * (DISTRITOS + MUNICIPIOS.length) - 20, 10);
  const csvRowTarget = Math.max(60, Math.floor((totalBytes * 0.16) / 2 / stations));
  for (const [name, kind] of [['PREP_DIP_LOC_2024.csv', 'DIP'], ['PREP_AYUN_2024.csv', 'AYUN']] as const) {
    const rows = [`CLAVE_CASILLA,ELECCION,DISTRITO,SECCION,${PARTIES.join(',')},TOTAL,OBSERVACIONES`];
    for (let s = 0; s < stations; s += 1) {
      const v = PARTIES.map(() => int(400));
      let row = `16-${pad2(1 + (s % DISTRITOS))}-${String(s).padStart(5, '0')}-B1,${kind},${1 + (s % DISTRITOS)},${s},${v.join(',')},${v.reduce((a, b) => a + b, 0)},`;
      if (row.length < csvRowTarget) row += 'Acta capturada'.padEnd(csvRowTarget - row.length, ' ');
      rows.push(row);
    }
    write(`csv/${name}`, rows.join('\n') + '\n');
  }

  // Per district and municipality: JSON and HTML.
  const areaBytes = Math.floor((totalBytes * 0.04) / (2 * (DISTRITOS + MUNICIPIOS.length)));
  const htmlRows = (n: number) => Array.from({ length: n }, (_, i) => `<tr><td>${i}</td>${PARTIES.map(() => `<td>${int(5000)}</td>`).join('')}</tr>`).join('\n');
  for (let d = 1; d <= DISTRITOS; d += 1) {
    write(`json/distritos/distrito_${pad2(d)}.json`, JSON.stringify({ distrito: d, votos: votos(votes, Math.max(1, Math.floor(areaBytes / 150))) }));
    write(`diputaciones/distrito_${pad2(d)}.html`, `<html><body><table>\n${htmlRows(Math.max(1, Math.floor(areaBytes / 120)))}\n</table></body></html>\n`);
  }
  MUNICIPIOS.forEach((municipio, i) => {
    const slug = `municipio_${String(i + 1).padStart(3, '0')}`;
    write(`json/municipios/${slug}.json`, JSON.stringify({ municipio, votos: votos(votes, Math.max(1, Math.floor(areaBytes / 150))) }));
    write(`ayuntamientos/${slug}.html`, `<html><body><h1>${municipio}</h1><table>\n${htmlRows(Math.max(1, Math.floor(areaBytes / 120)))}\n</table></body></html>\n`);
  });

  // One JSON per polling station: the rest of the files and bytes.
  const remainingBytes = Math.max(totalBytes - bytes, stations * 200);
  const stationTarget = Math.floor(remainingBytes / stations);
  for (let s = 0; s < stations; s += 1) {
    const distrito = 1 + (s % DISTRITOS);
    const record: Record<string, unknown> = {
      clave_casilla: `16-${pad2(distrito)}-${String(s).padStart(5, '0')}-B1`,
      distrito,
      seccion: s,
      municipio: MUNICIPIOS[s % MUNICIPIOS.length],
      votos: votes(),
      lista_nominal: 300 + int(500),
      capturas: [] as unknown[],
    };
    const capture = () => ({ hora: `${pad2(18 + int(6))}:${pad2(int(60))}`, votos: votes(), origen: int(2) ? 'CATD' : 'CASILLA' });
    const captureBytes = JSON.stringify(capture()).length + 1;
    const captureCount = Math.max(0, Math.ceil((stationTarget - JSON.stringify(record).length) / captureBytes));
    record.capturas = Array.from({ length: captureCount }, capture);
    const text = JSON.stringify(record);
    write(`json/casillas/${pad2(distrito)}/casilla_${String(s).padStart(5, '0')}.json`, text);
  }
  return { files, bytes };
}

function votos(votes: () => Record<string, number>, count: number): Record<string, number>[] {
  return Array.from({ length: count }, votes);
}

// `node dist/bench/synthetic-site.js DIR [FILES] [BYTES]` generates a site by hand.
if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const [dir, files, bytes] = process.argv.slice(2);
  if (!dir) throw new Error('usage: synthetic-site DIR [FILES] [BYTES]');
  const summary = generateSyntheticSite(dir, { files: files ? Number(files) : undefined, bytes: bytes ? Number(bytes) : undefined });
  process.stderr.write(`${summary.files} files, ${summary.bytes} bytes in ${dir}\n`);
}
