// The report as ONE self-contained HTML page in Spanish (inline CSS and SVG, no script, no font, no
// image file, nothing fetched): availability, each portal over the night, the difusor × cut grid in
// page-wide blocks (so every cut prints), incidents, withdrawn cuts, drills, notifications apart.
import { formatLocalTime } from '../core/cut.js';
import type { CellOutcome, CutSummary, DifusorSummary, IncidentReport, ReportCell, ReportIncident } from './model.js';
import {
  blockReasonInWords,
  describeIncident,
  gridBlocks,
  incidentTime,
  fewAuditsNote,
  monitoringInWords,
  periodInWords,
  targetInWords,
  totalsInWords,
} from './render-text.js';
import { PORTAL_STATES, type PortalState } from './timeline.js';
import { CELL_LEGEND, PORTAL_WORDS, clockTime, cutLabel, decimal, timeInWords } from './words.js';
import { failureInWords } from '../words/failures.js';
import { escapeHtml as h } from '../words/html.js';
import { count } from '../words/plural.js';

const PORTAL_COLOURS: Record<PortalState, string> = {
  current: '#2da44e',
  failing: '#d1242f',
  notice: '#8250df',
  blocked: '#24292f',
  none: '#d0d7de',
};

const CSS = `
:root { color-scheme: light; --ink: #1f2328; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px 32px 48px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 4px; line-height: 1.25; }
h2 { font-size: 1.2rem; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 20px 0 6px; }
p.meta { margin: 0; color: var(--muted); }
p.note { color: var(--muted); font-size: .9rem; }
.totals { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 8px; padding: 0; list-style: none; }
.totals li { border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; min-width: 120px; }
.totals b { display: block; font-size: 1.35rem; }
nav.toc { font-size: .9rem; margin: 8px 0 0; }
nav.toc a { margin-right: 12px; white-space: nowrap; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; width: fit-content; max-width: 100%; margin: 8px 0; }
p.caption { margin: 0; color: var(--muted); }
table { border-collapse: collapse; }
caption { text-align: left; padding: 6px 8px; color: var(--muted); caption-side: top; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.figures { font-size: .9rem; }
table.figures th, table.figures td { padding: 4px 6px; }
table.figures th[scope=col] { font-size: .8rem; }
table.figures th[scope=row] { min-width: 10rem; }
table.figures td { white-space: nowrap; }
table.grid th[scope=col] { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; font-size: .78rem; padding: 6px 2px; font-weight: 500; }
table.grid th[scope=row] { position: sticky; left: 0; background: #fff; white-space: nowrap; z-index: 1; font-weight: 600; }
table.grid td.c { position: relative; width: 26px; min-width: 26px; text-align: center; font-weight: 700; font-size: .85rem; padding: 3px 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
table.grid td.in-block { box-shadow: inset 0 -4px 0 #24292f; }
table.grid tfoot td { writing-mode: vertical-rl; transform: rotate(180deg); font-size: .72rem; text-align: left; background: #f6f8fa; padding: 4px 2px; white-space: nowrap; }
table.grid tfoot th { font-size: .72rem; background: #f6f8fa; font-weight: 500; }
.grid-block { margin: 12px 0 18px; }
.c-delivered { background: #c8f0d0; color: #0b4a1c; }
.c-late { background: #ffe69c; color: #5c3c00; }
.c-failed { background: #d1242f; color: #fff; }
.c-blocked { background: #6e7781; color: #fff; }
.c-disabled { background: #eaeef2; color: #57606a; }
.c-not_targeted { background: #fff; color: #8c959f; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; list-style: none; padding: 0; margin: 10px 0 0; font-size: .92rem; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend .c { display: inline-block; width: 24px; height: 22px; line-height: 22px; text-align: center; font-weight: 700; border: 1px solid var(--line); font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.legend .c.in-block { box-shadow: inset 0 -4px 0 #24292f; }
.legend .sw { display: inline-block; width: 18px; height: 14px; border-radius: 2px; }
.bad { color: #a40e26; font-weight: 600; }
.good { color: #116329; font-weight: 600; }
ul.incidents { margin: 0; padding-left: 20px; }
ul.incidents li { margin: 4px 0; }
ul.incidents time { color: var(--muted); display: block; font-size: .88rem; }
.tl { margin: 14px 0 18px; break-inside: avoid; }
.tl h3 { margin: 0 0 4px; }
.tl svg { display: block; width: 100%; height: 34px; }
.axis { position: relative; height: 1.3em; font-size: .75rem; color: var(--muted); margin-top: 2px; }
.axis span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.axis span.first { transform: none; }
.tl p { margin: 4px 0 0; font-size: .9rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; background: #f6f8fa; padding: 0 3px; border-radius: 3px; }
.vh { position: absolute; left: 0; top: 0; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
footer { margin-top: 40px; color: var(--muted); font-size: .85rem; }
@media (max-width: 600px) {
  body { padding: 16px 12px 32px; font-size: 14px; }
  h1 { font-size: 1.3rem; }
  .totals li { min-width: 0; flex: 1 1 40%; }
  table.grid th[scope=row] { white-space: normal; min-width: 7rem; max-width: 9rem; }
  .axis span.minor { display: none; }
  /* The figures as one card per difusor: each number with its column's name. */
  table.figures, table.figures tbody, table.figures tr, table.figures th, table.figures td { display: block; }
  table.figures thead { display: none; }
  table.figures caption { display: block; }
  table.figures tr { border-top: 1px solid var(--line); padding: 6px 0; }
  table.figures th[scope=row] { border: 0; padding: 4px 8px; }
  table.figures td { border: 0; padding: 1px 8px; display: flex; justify-content: space-between; gap: 12px; }
  table.figures td::before { content: attr(data-label); color: var(--muted); font-weight: 400; text-align: left; }
  .scroll:has(table.figures) { width: auto; }
}
@page { margin: 12mm 10mm; }
@media print {
  :root { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  h2 { break-after: avoid; margin-top: 18px; }
  h3 { break-after: avoid; }
  nav.toc { display: none; }
  .scroll { overflow: visible; border: 0; }
  .grid-block, .tl, .legend, ul.incidents li, tr { break-inside: avoid; }
  table.figures { font-size: 8.5pt; }
  table.figures th[scope=row] { min-width: 0; width: 8.5rem; }
  table.figures th, table.figures td { padding: 2px 4px; }
  table.grid th[scope=row] { position: static; white-space: normal; width: 9.5rem; max-width: 9.5rem; font-size: 8.5pt; }
  table.grid td.c { width: 24px; min-width: 24px; font-size: 8pt; }
  table.grid th[scope=col] { font-size: 7.5pt; }
  .totals li { padding: 4px 8px; min-width: 0; }
}
`;

function cellTitle(cell: ReportCell, name: string, cutTime: string, zone: string): string {
  const parts = [`${name}, corte ${cell.cut} (${timeInWords(cutTime, zone)}): ${CELL_LEGEND[cell.outcome].label}`];
  if (cell.blocked_at_cut && cell.outcome !== 'blocked') parts.push('publicado mientras el difusor estaba bloqueado');
  if (cell.error_code) parts.push(`${cell.error_code}: ${failureInWords(cell.error_code)}`);
  if (cell.result === 'delivered' && cell.seconds !== null) parts.push(`${decimal(cell.seconds, 2)} s`);
  return parts.join(' — ');
}

function gridCell(cell: ReportCell, name: string, cutTime: string, zone: string): string {
  const legend = CELL_LEGEND[cell.outcome];
  const inBlock = cell.blocked_at_cut && cell.outcome !== 'blocked';
  const hidden = `${legend.label}${inBlock ? ', publicado durante su bloqueo' : ''}${cell.error_code ? `: ${cell.error_code}` : ''}`;
  return `<td class="c c-${cell.outcome}${inBlock ? ' in-block' : ''}" title="${h(cellTitle(cell, name, cutTime, zone))}"><span aria-hidden="true">${h(legend.letter)}</span><span class="vh">${h(hidden)}</span></td>`;
}

/** The grid of some cuts, split into blocks as wide as a printed page, each a table of its own. */
function gridTables(report: IncidentReport, cuts: readonly CutSummary[], what: string, idPrefix: string): string {
  const zone = report.timezone_words;
  const cells = new Map(report.cells.map((c) => [`${c.difusor}\u0000${c.cut}`, c]));
  const blocks = gridBlocks(cuts);
  return blocks
    .map((block, i) => {
      const first = block[0];
      const last = block[block.length - 1];
      const span = block.length === 1 ? `el corte del ${timeInWords(first.time, zone)}` : `${count(block.length, 'corte')}, del ${timeInWords(first.time, zone)} al ${timeInWords(last.time, zone)}`;
      const caption = `${what}${blocks.length > 1 ? `, parte ${i + 1} de ${blocks.length}` : ''}: ${span}`;
      const captionId = `${idPrefix}-${i + 1}`;
      const head = block.map((c) => `<th scope="col" title="${h(`corte ${c.id}, ${timeInWords(c.time, zone)}`)}">${h(cutLabel(c.id))}</th>`).join('');
      const rows = report.difusores
        .map((d) => {
          const tds = block.map((c) => gridCell(cells.get(`${d.id}\u0000${c.id}`)!, d.name, c.time, zone)).join('');
          return `<tr><th scope="row">${h(d.name)} <small>(${h(d.id)})</small></th>${tds}</tr>`;
        })
        .join('\n');
      const foot = block.map((c) => `<td title="${h(`corte ${c.id}: ${c.delivered} entregados de ${c.published} publicados`)}">${c.delivered}/${c.published}</td>`).join('');
      return `<div class="grid-block"><p class="caption" id="${captionId}">${h(caption)}</p><div class="scroll"><table class="grid" aria-labelledby="${captionId}">
<thead><tr><th scope="col" style="writing-mode:horizontal-tb;transform:none">Difusor</th>${head}</tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><th scope="row">Entregados / publicados</th>${foot}</tr></tfoot>
</table></div></div>`;
    })
    .join('\n');
}

function gridLegend(report: IncidentReport, cuts: readonly CutSummary[]): string {
  const ids = new Set(cuts.map((c) => c.id));
  const cells = report.cells.filter((c) => ids.has(c.cut));
  const used = new Set<CellOutcome>(cells.map((c) => c.outcome));
  const items = (Object.keys(CELL_LEGEND) as CellOutcome[])
    .filter((o) => used.has(o) || o === 'delivered' || o === 'failed')
    .map((o) => `<li><span class="c c-${o}" aria-hidden="true">${h(CELL_LEGEND[o].letter)}</span> ${h(CELL_LEGEND[o].label)}</li>`);
  if (cells.some((c) => c.blocked_at_cut && c.outcome !== 'blocked')) {
    items.push('<li><span class="c c-late in-block" aria-hidden="true">T</span> subrayada: corte publicado mientras el difusor estaba bloqueado</li>');
  }
  return `<ul class="legend" aria-label="Leyenda">${items.join('')}</ul>`;
}

/** Ticks at whole local hours (or halves, or several hours) across the window, at most eight. */
function axisTicks(fromMs: number, toMs: number, timezone: string): Array<{ ms: number; label: string }> {
  const span = toMs - fromMs;
  const steps = [15, 30, 60, 120, 180, 360, 720, 1440].map((m) => m * 60_000);
  const step = steps.find((s) => span / s <= 8) ?? steps[steps.length - 1];
  // Whole steps on the local clock (the offset taken at the start: a window crosses no DST change in Mexico).
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(formatLocalTime(fromMs, timezone));
  const offsetMs = offset ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000 : 0;
  const ticks: Array<{ ms: number; label: string }> = [];
  const firstDay = formatLocalTime(fromMs, timezone).slice(0, 10);
  for (let ms = Math.ceil((fromMs + offsetMs) / step) * step - offsetMs; ms <= toMs; ms += step) {
    const iso = formatLocalTime(ms, timezone);
    const day = iso.slice(0, 10);
    // Within a day the clock says it all (midnight is the day's change); longer windows name the day.
    ticks.push({ ms, label: span <= 86_400_000 || day === firstDay ? clockTime(iso) : `${iso.slice(8, 10)}/${iso.slice(5, 7)} ${clockTime(iso)}` });
  }
  return ticks;
}

/** A difusor's portal over the night as an uptime bar (inline SVG), its audits as a strip beneath. */
function portalPicture(report: IncidentReport, d: DifusorSummary): string {
  const from = Date.parse(report.window.from!);
  const to = Date.parse(report.window.to!);
  const zone = report.timezone_words;
  const x = (iso: string) => ((Date.parse(iso) - from) / (to - from)) * 1000;
  const local = (iso: string) => timeInWords(formatLocalTime(iso, report.timezone), zone);
  const rects = d.timeline
    .map((s) => {
      const x0 = x(s.from);
      const w = Math.max(x(s.to) - x0, 0.5);
      return `<rect x="${x0.toFixed(2)}" y="0" width="${w.toFixed(2)}" height="24" fill="${PORTAL_COLOURS[s.state]}"><title>${h(`${PORTAL_WORDS[s.state]}: del ${local(s.from)} al ${local(s.to)}`)}</title></rect>`;
    })
    .join('');
  const slices = d.monitoring.strip;
  const strip = slices
    .map((s, i) => {
      if (s.audits === 0) return '';
      const colour = s.ok === s.audits ? PORTAL_COLOURS.current : PORTAL_COLOURS.failing;
      const w = 1000 / slices.length;
      return `<rect x="${(i * w).toFixed(2)}" y="27" width="${w.toFixed(2)}" height="7" fill="${colour}"><title>${h(`${count(s.audits, 'revisión', 'revisiones')}, ${s.ok} correctas`)}</title></rect>`;
    })
    .join('');
  const shares =
    d.time_shares.none >= 100
      ? `sin datos en el periodo: ${d.enabled ? 'no recibió cortes' : 'deshabilitado'}`
      : `Del tiempo: ${PORTAL_STATES.filter((s) => d.time_shares[s] > 0)
          .map((s) => `${h(PORTAL_WORDS[s])} ${decimal(d.time_shares[s])}&nbsp;%`)
          .join(' · ')}`;
  const ticks = axisTicks(from, to, report.timezone)
    .map((t, i) => `<span class="${i === 0 && t.ms - from < (to - from) * 0.03 ? 'first' : ''}${i % 2 ? ' minor' : ''}" style="left:${(((t.ms - from) / (to - from)) * 100).toFixed(2)}%">${h(t.label)}</span>`)
    .join('');
  const label = `${d.name}: ${PORTAL_STATES.filter((s) => d.time_shares[s] > 0).map((s) => `${PORTAL_WORDS[s]} ${decimal(d.time_shares[s])} %`).join(', ')}`;
  return `<div class="tl"><h3>${h(d.name)} <small>(${h(d.id)})</small></h3>
<svg viewBox="0 0 1000 34" preserveAspectRatio="none" shape-rendering="crispEdges" role="img" aria-label="${h(label)}"><rect x="0" y="0" width="1000" height="24" fill="${PORTAL_COLOURS.none}"/>${rects}${strip}</svg>
<div class="axis" aria-hidden="true">${ticks}</div>
<p>${shares}.</p>
<p>Revisiones del sitio público: ${h(monitoringInWords(d, zone))}.</p></div>`;
}

function portalSection(report: IncidentReport): string {
  if (report.window.from === null || report.window.to === null) return '<p>No hay cortes de la elección en el periodo.</p>';
  const legend = PORTAL_STATES.map((s) => `<li><span class="sw" style="background:${PORTAL_COLOURS[s]}" aria-hidden="true"></span> ${h(PORTAL_WORDS[s])}</li>`).join('');
  return `<p>Qué mostró el portal de cada difusor a lo largo del tiempo, del ${h(timeInWords(formatLocalTime(report.window.from, report.timezone), report.timezone_words))} al ${h(timeInWords(formatLocalTime(report.window.to, report.timezone), report.timezone_words))}: la barra dice si tenía el último corte que se le debía, y la franja delgada debajo, el resultado de las revisiones de su sitio público (verde: todas correctas; rojo: alguna con problemas; vacía: sin revisiones).</p>
<ul class="legend" aria-label="Leyenda de las barras">${legend}<li><span class="sw" style="background:${PORTAL_COLOURS.current};height:5px" aria-hidden="true"></span> revisiones correctas</li><li><span class="sw" style="background:${PORTAL_COLOURS.failing};height:5px" aria-hidden="true"></span> revisión con problemas</li></ul>
${report.difusores.map((d) => portalPicture(report, d)).join('\n')}`;
}

const FIGURE_COLUMNS = [
  'Publicados',
  'Entregados',
  'De ellos tarde',
  'Perdidos por falla',
  'Bloqueado',
  'Sin envío',
  'Disponibilidad',
  'Segundos (mediana / máx.)',
  'Revisiones',
  'Revisiones correctas',
  'Meta',
];

function figuresTable(report: IncidentReport): string {
  const target = report.availability_target_pct;
  const labels = FIGURE_COLUMNS.map((c) => (c === 'Meta' ? `Meta ${decimal(target)}&nbsp;%` : h(c)));
  const td = (i: number, cls: string, text: string) => `<td class="${cls}" data-label="${labels[i]}">${text}</td>`;
  const pct = (i: number, value: number | null, goal = 100, digits = 1) =>
    td(i, `num${value !== null && value < goal ? ' bad' : ''}`, value === null ? '—' : `${decimal(value, digits)}&nbsp;%`);
  const rows = report.difusores
    .map((d) => {
      const m = d.monitoring;
      return (
        `<tr><th scope="row">${h(d.name)} <small>(${h(d.id)})</small>${d.in_registry ? '' : ' <small>(ya no está en el registro)</small>'}</th>` +
        td(0, 'num', String(d.published)) +
        td(1, 'num', String(d.delivered)) +
        td(2, 'num', String(d.delivered_late)) +
        td(3, `num${d.missed ? ' bad' : ''}`, String(d.missed)) +
        td(4, `num${d.missed_blocked ? ' bad' : ''}`, String(d.missed_blocked)) +
        td(5, `num${d.missed_not_targeted ? ' bad' : ''}`, String(d.missed_not_targeted)) +
        pct(6, d.availability_pct) +
        td(7, 'num', `${decimal(d.median_seconds, 2)} / ${decimal(d.max_seconds, 2)}`) +
        td(8, 'num', String(m.audits)) +
        pct(9, m.ok_pct, target, 2) +
        td(10, m.meets_target === null ? '' : m.meets_target ? 'good' : 'bad', h(targetInWords(d))) +
        '</tr>'
      );
    })
    .join('\n');
  const note = fewAuditsNote(report);
  return `<div class="scroll"><table class="figures">
<caption>Entregas de cortes (disponibilidad = entregados ÷ publicados mientras estaba habilitado) y revisiones de su sitio público (<code>prep-push audit</code>), contra el ${decimal(target)}&nbsp;% de las convocatorias.</caption>
<thead><tr><th scope="col" rowspan="2">Difusor</th><th scope="colgroup" colspan="8">Entregas de cortes</th><th scope="colgroup" colspan="3">Sitio público</th></tr>
<tr>${labels.map((l, i) => `<th scope="col"${i < 10 ? ' class="num"' : ''}>${l}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></div>${note ? `\n<p class="note">${h(note)}</p>` : ''}`;
}

function blockedPeriods(report: IncidentReport): string {
  const zone = report.timezone_words;
  const items = report.difusores.flatMap((d) =>
    d.blocked_periods.map((p) => {
      const until = p.to_local ? `al ${timeInWords(p.to_local, zone)}` : 'sin desbloquear al cierre del periodo';
      const cuts = p.cuts.length ? `${count(p.cuts.length, 'corte publicado', 'cortes publicados')} mientras tanto (${p.cuts[0]}${p.cuts.length > 1 ? ` a ${p.cuts[p.cuts.length - 1]}` : ''})` : 'ningún corte publicado mientras tanto';
      return `<li><b>${h(d.name)}</b> (${h(d.id)}): del ${h(timeInWords(p.from_local, zone))} ${h(until)}; ${h(cuts)}; ${h(blockReasonInWords(p.reason, p.by))}.</li>`;
    }),
  );
  return items.length ? `<ul class="incidents">${items.join('')}</ul>` : '<p>Ningún difusor estuvo bloqueado en el periodo.</p>';
}

export function renderHtml(report: IncidentReport): string {
  const zone = report.timezone_words;
  const inst = report.institute.short;
  const t = report.totals;
  const election = report.cuts.filter((c) => !c.withdrawn && !c.drill);
  const withdrawn = report.cuts.filter((c) => c.withdrawn);
  const drills = report.cuts.filter((c) => c.drill && !c.withdrawn);
  const usedCodes = [...new Set(report.cells.map((c) => c.error_code).filter((c): c is string => c !== null))].sort();

  const grid = election.length === 0
    ? '<p>No hay cortes de la elección en el periodo.</p>'
    : `<p>Cada fila es un difusor y cada columna un corte (día/mes y hora). La letra de cada celda dice el resultado aunque no se distingan los colores; al pasar el puntero sobre una celda se ve el detalle. La cuadrícula va en bloques del ancho de una página, para que al imprimirla aparezcan todos los cortes.</p>
${gridLegend(report, election)}
${gridTables(report, election, 'Cortes de la elección', 'bloque')}`;

  const incidentItem = (i: ReportIncident) => `<li><time datetime="${h(i.at)}">${h(incidentTime(i, zone))}</time>${h(describeIncident(i, inst))}</li>`;
  const withIncidents = report.difusores.filter((d) => d.incidents.length > 0);
  const incidents =
    withIncidents.length === 0 && report.general.length === 0
      ? '<p>Sin incidencias en el periodo.</p>'
      : [
          report.general.length ? `<h3>Generales</h3><ul class="incidents">${report.general.map(incidentItem).join('')}</ul>` : '',
          ...withIncidents.map((d) => `<h3>${h(d.name)} (${h(d.id)})</h3><ul class="incidents">${d.incidents.map(incidentItem).join('')}</ul>`),
        ].join('\n');

  const withdrawnSection = withdrawn.length
    ? `<h2 id="retirados">Cortes retirados</h2>
<p>Cortes publicados por error y retirados con <code>prep-push retract</code>: no cuentan para nadie, quedan fuera del periodo y de la disponibilidad. Cada celda dice lo que ocurrió con el envío.</p>
<ul class="incidents">${withdrawn.map((c) => `<li><b>${h(c.id)}</b> (${h(timeInWords(c.time, zone))}): ${h(c.withdrawn_reason || 'sin motivo registrado')}</li>`).join('')}</ul>
${gridTables(report, withdrawn, 'Cortes retirados', 'retirado')}`
    : '';
  const drillSection = drills.length
    ? `<h2 id="simulacros">Simulacros</h2>
<p>${h(count(drills.length, 'corte marcado', 'cortes marcados'))} como simulacro (<code>--drill</code>): se muestran aparte y no cuentan para la disponibilidad ni para las barras de arriba.</p>
${gridLegend(report, drills)}
${gridTables(report, drills, 'Simulacros', 'simulacro')}`
    : '';
  const codes = usedCodes.length
    ? `<h2 id="codigos">Códigos de error</h2><dl>${usedCodes.map((c) => `<dt><code>${h(c)}</code></dt><dd>${h(failureInWords(c))}</dd>`).join('')}</dl>`
    : '';
  const appendix = report.notifications.length
    ? `<h2 id="anexo">Anexo: notificaciones</h2>
<p>Avisos enviados (o no enviados) a los difusores y a la mesa del PREP por correo, webhook o comando.</p>
<div class="scroll"><table><thead><tr><th scope="col">Hora</th><th scope="col">Difusor</th><th scope="col">Corte</th><th scope="col">Notificación</th></tr></thead><tbody>
${report.notifications.map((n) => `<tr><td>${h(timeInWords(n.at_local, zone))}</td><td>${h(n.difusor ?? '')}</td><td>${h(n.cut ?? '—')}</td><td>${h(n.summary)}</td></tr>`).join('\n')}
</tbody></table></div>`
    : '';
  const toc = [
    ['disponibilidad', 'Disponibilidad'],
    ['portales', 'Portales en el tiempo'],
    ['cuadricula', 'Cuadrícula'],
    ['bloqueos', 'Bloqueos'],
    ['incidencias', 'Incidencias'],
    ...(withdrawn.length ? [['retirados', 'Cortes retirados']] : []),
    ...(drills.length ? [['simulacros', 'Simulacros']] : []),
    ...(usedCodes.length ? [['codigos', 'Códigos de error']] : []),
    ...(report.notifications.length ? [['anexo', 'Anexo: notificaciones']] : []),
  ]
    .map(([id, text]) => `<a href="#${id}">${h(text)}</a>`)
    .join(' ');

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
<p class="meta">${h(report.institute.name)} · ${h(periodInWords(report))}</p>
<p class="meta">Todas las horas son en ${h(zone)} · generado el ${h(timeInWords(report.generated_at_local, zone))}</p>
<ul class="totals">
<li><b>${t.cuts}</b> ${h(t.cuts === 1 ? 'corte de la elección' : 'cortes de la elección')}</li>
<li><b>${t.difusores}</b> ${h(t.difusores === 1 ? 'difusor' : 'difusores')}</li>
<li><b>${decimal(t.availability_pct)}&nbsp;%</b> disponibilidad (${t.delivered} de ${t.published})</li>
<li><b>${t.not_served}</b> ${h(t.not_served === 1 ? 'corte no servido' : 'cortes no servidos')}</li>
<li><b>${t.blocks}</b> ${h(t.blocks === 1 ? 'bloqueo' : 'bloqueos')}</li>
<li><b>${t.audits_ok_pct === null ? '—' : `${decimal(t.audits_ok_pct, 2)}&nbsp;%`}</b> ${h(t.audits === 0 ? 'sin revisiones de sitios' : `de ${count(t.audits, 'revisión', 'revisiones')} correctas`)}</li>
</ul>
<p>${h(totalsInWords(report))}</p>
<nav class="toc" aria-label="Contenido">${toc}</nav>
</header>
<main>
<h2 id="disponibilidad">Disponibilidad por difusor</h2>
<p class="note">Un corte publicado mientras el difusor estaba bloqueado, o que ninguna ejecución le envió, cuenta como no servido; uno entregado tarde por un reenvío manual cuenta como entregado. Los cortes retirados y los simulacros no cuentan.</p>
${figuresTable(report)}
<h2 id="portales">Los portales a lo largo del tiempo</h2>
${portalSection(report)}
<h2 id="cuadricula">Entregas por difusor y corte</h2>
${grid}
<h2 id="bloqueos">Periodos de bloqueo</h2>
${blockedPeriods(report)}
<h2 id="incidencias">Incidencias</h2>
${incidents}
${withdrawnSection}
${drillSection}
${codes}
${appendix}
</main>
<footer>Generado por prep-push a partir de su bitácora (journal.jsonl). Un corte perdido es un corte que el difusor no recibió; “tarde” es un corte recibido sólo en un reenvío manual posterior.</footer>
</body>
</html>
`;
}
