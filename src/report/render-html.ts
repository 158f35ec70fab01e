// The report as ONE self-contained HTML page in Spanish (inline CSS, no script, no font, no image,
// nothing fetched): a difusor × cut grid read at a glance, availability, incidents, error codes.
import type { CellOutcome, IncidentReport, ReportCell } from './model.js';
import { describeIncident, incidentTime } from './render-text.js';
import { CELL_LEGEND, cutLabel, decimal } from './words.js';
import { failureInWords } from '../words/failures.js';
import { escapeHtml } from '../words/html.js';
import { localTimeInWords } from '../words/time.js';

const CSS = `
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 20px 0 6px; }
p.meta { margin: 0; color: var(--muted); }
.totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; padding: 0; list-style: none; }
.totals li { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 130px; }
.totals b { display: block; font-size: 1.4rem; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; max-width: 100%; }
table { border-collapse: collapse; }
caption { text-align: left; padding: 6px 8px; color: var(--muted); caption-side: top; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.grid th[scope=col] { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-size: .78rem; padding: 6px 2px; font-weight: 500; }
table.grid th[scope=row] { position: sticky; left: 0; background: #fff; white-space: nowrap; z-index: 1; }
table.grid td.c { position: relative; width: 26px; min-width: 26px; text-align: center; font-weight: 700; font-size: .85rem; padding: 3px 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
table.grid tfoot td, table.grid tfoot th { font-size: .72rem; text-align: center; background: #f6f8fa; }
.c-delivered { background: #c8f0d0; color: #0b4a1c; }
.c-late { background: #ffe69c; color: #5c3c00; }
.c-failed { background: #d1242f; color: #fff; }
.c-blocked { background: #57606a; color: #fff; }
.c-disabled { background: #eaeef2; color: #57606a; }
.c-withdrawn { background: #e2d6f8; color: #3b1f70; }
.c-not_targeted { background: #fff; color: #8c959f; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; list-style: none; padding: 0; margin: 10px 0 0; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend .c { display: inline-block; width: 24px; height: 22px; line-height: 22px; text-align: center; font-weight: 700; border: 1px solid var(--line); font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.bad { color: #a40e26; font-weight: 600; }
ul.incidents { margin: 0; padding-left: 20px; }
ul.incidents li { margin: 4px 0; }
ul.incidents time { color: var(--muted); display: block; font-size: .88rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; background: #f6f8fa; padding: 0 3px; border-radius: 3px; }
.vh { position: absolute; left: 0; top: 0; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
footer { margin-top: 40px; color: var(--muted); font-size: .85rem; }
@media print { body { padding: 0; } .scroll { overflow: visible; border: 0; } }
`;

function cellTitle(cell: ReportCell, cutTime: string): string {
  const parts = [`${cell.difusor}, corte ${cell.cut} (${localTimeInWords(cutTime)}): ${CELL_LEGEND[cell.outcome].label}`];
  if (cell.error_code) parts.push(`${cell.error_code}: ${failureInWords(cell.error_code)}`);
  if (cell.seconds !== null && (cell.outcome === 'delivered' || cell.outcome === 'late')) parts.push(`${decimal(cell.seconds, 2)} s`);
  return parts.join(' — ');
}

function gridCell(cell: ReportCell, cutTime: string): string {
  const legend = CELL_LEGEND[cell.outcome];
  const title = cellTitle(cell, cutTime);
  return `<td class="c c-${cell.outcome}" title="${escapeHtml(title)}"><span aria-hidden="true">${escapeHtml(legend.letter)}</span><span class="vh">${escapeHtml(legend.label)}${cell.error_code ? `: ${escapeHtml(cell.error_code)}` : ''}</span></td>`;
}

function percentCell(value: number | null): string {
  const low = value !== null && value < 100;
  return `<td class="num${low ? ' bad' : ''}">${value === null ? '—' : `${decimal(value)}&nbsp;%`}</td>`;
}

export function renderHtml(report: IncidentReport): string {
  const cutTime = new Map(report.cuts.map((c) => [c.id, c.time]));
  const cellsOf = (id: string) => report.cells.filter((c) => c.difusor === id);
  const usedCodes = [...new Set(report.cells.map((c) => c.error_code).filter((c): c is string => c !== null))].sort();
  const usedOutcomes = new Set<CellOutcome>(report.cells.map((c) => c.outcome));
  const t = report.totals;
  const h = escapeHtml;

  const grid = report.cuts.length === 0
    ? '<p>No hay cortes registrados en el periodo.</p>'
    : `<p>Cada fila es un difusor y cada columna un corte (fecha y hora local, ${h(report.timezone)}). La letra de cada celda dice el resultado aunque no se distingan los colores; al pasar el puntero sobre una celda se ve el detalle.</p>
<div class="scroll"><table class="grid">
<caption>Resultado de cada envío, por difusor y corte</caption>
<thead><tr><th scope="col" style="writing-mode:horizontal-tb;transform:none">Difusor</th>${report.cuts
        .map((c) => `<th scope="col" title="${h(`corte ${c.id}, ${localTimeInWords(c.time)}`)}">${h(cutLabel(c.id))}</th>`)
        .join('')}<th scope="col" style="writing-mode:horizontal-tb;transform:none">Disponibilidad</th></tr></thead>
<tbody>
${report.difusores
        .map((d) => `<tr><th scope="row">${h(d.name)} <small>(${h(d.id)})</small></th>${cellsOf(d.id).map((c) => gridCell(c, cutTime.get(c.cut) ?? '')).join('')}${percentCell(d.availability_pct)}</tr>`)
        .join('\n')}
</tbody>
<tfoot><tr><th scope="row">Entregados / dirigidos</th>${report.cuts.map((c) => `<td>${c.delivered}/${c.targeted}</td>`).join('')}<td></td></tr></tfoot>
</table></div>
<ul class="legend" aria-label="Leyenda">${(Object.keys(CELL_LEGEND) as CellOutcome[])
        .filter((o) => usedOutcomes.has(o) || o === 'delivered' || o === 'failed')
        .map((o) => `<li><span class="c c-${o}" aria-hidden="true">${h(CELL_LEGEND[o].letter)}</span> ${h(CELL_LEGEND[o].label)}</li>`)
        .join('')}</ul>`;

  const availability = `<div class="scroll"><table>
<caption>Disponibilidad = cortes entregados ÷ cortes dirigidos. Tiempos de entrega en segundos.</caption>
<thead><tr><th scope="col">Difusor</th><th scope="col" class="num">Dirigidos</th><th scope="col" class="num">Entregados</th><th scope="col" class="num">De ellos tarde</th><th scope="col" class="num">Perdidos</th><th scope="col" class="num">Omitidos</th><th scope="col" class="num">Disponibilidad</th><th scope="col" class="num">Mediana (s)</th><th scope="col" class="num">Máximo (s)</th></tr></thead>
<tbody>
${report.difusores
    .map(
      (d) =>
        `<tr><th scope="row">${h(d.name)} <small>(${h(d.id)})</small>${d.in_registry ? '' : ' <small>(ya no está en el registro)</small>'}</th><td class="num">${d.targeted}</td><td class="num">${d.delivered}</td><td class="num">${d.delivered_late}</td><td class="num${d.missed ? ' bad' : ''}">${d.missed}</td><td class="num">${d.skipped}</td>${percentCell(d.availability_pct)}<td class="num">${decimal(d.median_seconds, 2)}</td><td class="num">${decimal(d.max_seconds, 2)}</td></tr>`,
    )
    .join('\n')}
</tbody></table></div>`;

  const withIncidents = report.difusores.filter((d) => d.incidents.length > 0);
  const incidentItem = (i: (typeof report.general)[number] | IncidentReport['difusores'][number]['incidents'][number]) =>
    `<li><time datetime="${h(i.at)}">${h(incidentTime(i))}</time>${h(describeIncident(i))}</li>`;
  const incidents =
    withIncidents.length === 0 && report.general.length === 0
      ? '<p>Sin incidencias en el periodo.</p>'
      : [
          report.general.length ? `<h3>Generales</h3><ul class="incidents">${report.general.map(incidentItem).join('')}</ul>` : '',
          ...withIncidents.map((d) => `<h3>${h(d.name)} (${h(d.id)})</h3><ul class="incidents">${d.incidents.map(incidentItem).join('')}</ul>`),
        ].join('\n');

  const codes = usedCodes.length
    ? `<h2 id="codigos">Códigos de error</h2><dl>${usedCodes.map((c) => `<dt><code>${h(c)}</code></dt><dd>${h(failureInWords(c))}</dd>`).join('')}</dl>`
    : '';

  return `<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Reporte de incidencias del PREP — ${h(report.institute.name)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Reporte de incidencias de la difusión del PREP</h1>
<p class="meta">${h(report.institute.name)} · cortes ${h(report.period.from ?? '—')} a ${h(report.period.to ?? '—')} · horas en ${h(report.timezone)} · generado el ${h(localTimeInWords(report.generated_at_local))}</p>
<ul class="totals">
<li><b>${t.cuts}</b> cortes</li>
<li><b>${t.difusores}</b> difusores</li>
<li><b>${t.delivered} / ${t.targeted}</b> envíos entregados</li>
<li><b>${decimal(t.availability_pct)}&nbsp;%</b> disponibilidad</li>
<li><b>${t.missed}</b> cortes perdidos</li>
<li><b>${t.blocks}</b> bloqueos</li>
</ul>
</header>
<main>
<h2 id="cuadricula">Entregas por difusor y corte</h2>
${grid}
<h2 id="disponibilidad">Disponibilidad por difusor</h2>
${availability}
<h2 id="incidencias">Incidencias</h2>
${incidents}
${codes}
</main>
<footer>Generado por prep-push a partir de su bitácora (journal.jsonl). Un corte perdido es un corte que el difusor no recibió; “tarde” es un corte recibido sólo en un reenvío manual posterior.</footer>
</body>
</html>
`;
}
