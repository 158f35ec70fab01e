// A small PREP publication folder for the demo: the results change from cut to cut, as they do on
// election night, and json/main.json carries the cut's date and time as every publication must.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Cut } from '../../core/cut.js';

const PARTIES = ['PAN', 'PRI', 'PRD', 'PT', 'PVEM', 'MC', 'MORENA'];

/** Writes the folder for cut number `n` (0-based) of the night; counts grow with n. */
export async function writeSampleSite(dir: string, cut: Cut, n: number): Promise<void> {
  const districts = 24;
  const stations = 40 + n * 35;
  const [date, time] = cut.time.split('T');
  const rows: string[] = ['DISTRITO,CASILLA,' + PARTIES.join(',') + ',TOTAL'];
  const totals = new Array(PARTIES.length).fill(0);
  for (let s = 0; s < stations; s += 1) {
    const votes = PARTIES.map((_, p) => ((s * 7919 + p * 104729) % 97) + 3);
    votes.forEach((v, p) => (totals[p] += v));
    rows.push(`${(s % districts) + 1},${1000 + s}B,${votes.join(',')},${votes.reduce((a, b) => a + b, 0)}`);
  }
  const main = {
    entidad: 'Michoacán',
    eleccion: 'Diputaciones locales',
    fecha_corte: date,
    hora_corte: time.slice(0, 5),
    corte: cut.id,
    actas_capturadas: stations,
    actas_esperadas: 6200,
    votos: Object.fromEntries(PARTIES.map((p, i) => [p, totals[i]])),
  };
  await mkdir(path.join(dir, 'json', 'distritos'), { recursive: true });
  await mkdir(path.join(dir, 'csv'), { recursive: true });
  await writeFile(path.join(dir, 'json', 'main.json'), `${JSON.stringify(main, null, 2)}\n`);
  for (let d = 1; d <= districts; d += 1) {
    const distrito = { distrito: d, corte: cut.id, casillas: rows.slice(1).filter((r) => r.startsWith(`${d},`)).length };
    await writeFile(path.join(dir, 'json', 'distritos', `distrito_${String(d).padStart(2, '0')}.json`), JSON.stringify(distrito));
  }
  await writeFile(path.join(dir, 'csv', 'PREP_DIP_LOC_2024.csv'), `${rows.join('\n')}\n`);
  await writeFile(
    path.join(dir, 'index.html'),
    `<!doctype html><html lang="es"><meta charset="utf-8"><title>PREP Michoacán 2024</title>` +
      `<h1>PREP 2024</h1><p>Corte: ${date} ${time.slice(0, 5)} (hora del centro)</p></html>\n`,
  );
  await writeFile(path.join(dir, 'LEEME.txt'), `Paquete de difusión PREP 2024, corte ${cut.id}.\n`);
  // The static part of the site, the same every cut: what site mode hard-links instead of sending again.
  await mkdir(path.join(dir, 'assets'), { recursive: true });
  await writeFile(path.join(dir, 'assets', 'estilo.css'), 'body{font-family:sans-serif;margin:2em}\ntable{border-collapse:collapse}\n');
  await writeFile(path.join(dir, 'assets', 'app.js'), "fetch('json/main.json',{cache:'no-store'}).then((r)=>r.json()).then((m)=>{document.title='PREP '+m.hora_corte;});\n");
}
