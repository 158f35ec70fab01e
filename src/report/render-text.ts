// The report as CSV (one row per difusor and cut, RFC 4180), JSON (the model) and Markdown tables.
import type { IncidentReport, ReportIncident } from './model.js';
import { CELL_LEGEND, cutLabel, decimal } from './words.js';
import { failureInWords } from '../words/failures.js';
import { localTimeInWords } from '../words/time.js';

export const CSV_HEADER = ['difusor', 'cut', 'outcome', 'error_code', 'seconds', 'attempts', 'cut_time', 'error_message'] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, and its quotes doubled. */
export function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Lines end in CRLF, as RFC 4180 says. */
export function renderCsv(report: IncidentReport): string {
  const timeOf = new Map(report.cuts.map((c) => [c.id, c.time]));
  const rows = report.cells.map((c) =>
    [c.difusor, c.cut, c.outcome, c.error_code, c.seconds, c.attempts, timeOf.get(c.cut) ?? null, c.error_message].map(csvField).join(','),
  );
  return [CSV_HEADER.join(','), ...rows].map((line) => `${line}\r\n`).join('');
}

export function renderJson(report: IncidentReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** A table cell's text: pipes escaped, newlines flattened. */
function md(text: string | number | null): string {
  return text === null ? '' : String(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function mdTable(header: string[], rows: Array<Array<string | number | null>>): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(md).join(' | ')} |`)];
}

/** One sentence per incident, in Spanish (shared by the HTML and Markdown renderers). */
export function describeIncident(incident: ReportIncident): string {
  switch (incident.kind) {
    case 'miss_streak': {
      const causes = Object.entries(incident.error_codes)
        .map(([code, n]) => `${code} en ${n === 1 ? '1 corte' : `${n} cortes`}: ${failureInWords(code)}`)
        .join('. ');
      const span =
        incident.cuts === 1 ? `Perdió el corte ${incident.first_cut}.` : `Perdió ${incident.cuts} cortes seguidos (${incident.first_cut} a ${incident.last_cut}).`;
      const end = incident.recovered_at_cut ? ` Se recuperó en el corte ${incident.recovered_at_cut}.` : ' Sin recuperarse al cierre del periodo.';
      return `${span} ${causes}.${end}`;
    }
    case 'block':
      return incident.by === 'auto' ? `Bloqueado automáticamente: ${autoReasonInWords(incident.reason ?? '')}.` : `Bloqueado a mano por el instituto. Motivo: «${incident.reason ?? ''}».`;
    case 'unblock':
      return 'Desbloqueado por el instituto.';
    case 'event':
      return incident.summary;
  }
}

/** `auto: missed 3 consecutive cuts` (the ledger's words) in Spanish. */
function autoReasonInWords(reason: string): string {
  const m = /^auto: missed (\d+) consecutive cuts$/.exec(reason);
  return m ? `perdió ${m[1]} cortes consecutivos` : reason;
}

export function incidentTime(incident: ReportIncident): string {
  if (incident.kind === 'miss_streak' && incident.last_at !== incident.at) {
    return `${localTimeInWords(incident.at_local)} – ${localTimeInWords(incident.last_at_local)}`;
  }
  return localTimeInWords(incident.at_local);
}

export function renderMarkdown(report: IncidentReport): string {
  const lines = [
    `# Reporte de incidencias de la difusión del PREP — ${report.institute.name}`,
    '',
    `Periodo: cortes ${report.period.from ?? '—'} a ${report.period.to ?? '—'} (zona horaria ${report.timezone}). ` +
      `Generado el ${localTimeInWords(report.generated_at_local)}.`,
    '',
    `${report.totals.cuts} cortes, ${report.totals.difusores} difusores; entregados ${report.totals.delivered} de ${report.totals.targeted} envíos ` +
      `(disponibilidad ${decimal(report.totals.availability_pct)} %), ${report.totals.missed} perdidos, ${report.totals.blocks} bloqueos.`,
    '',
    '## Por difusor',
    '',
    ...mdTable(
      ['difusor', 'nombre', 'dirigidos', 'entregados', 'tarde', 'perdidos', 'omitidos', 'disponibilidad %', 'mediana s', 'máx. s'],
      report.difusores.map((d) => [
        d.id,
        d.name,
        d.targeted,
        d.delivered,
        d.delivered_late,
        d.missed,
        d.skipped,
        decimal(d.availability_pct),
        decimal(d.median_seconds, 2),
        decimal(d.max_seconds, 2),
      ]),
    ),
    '',
    '## Por corte',
    '',
    ...mdTable(
      ['corte', 'hora', 'entregados / dirigidos', 'fallidos', 'omitidos'],
      report.cuts.map((c) => [c.id + (c.withdrawn ? ' (retirado)' : ''), c.time, `${c.delivered} / ${c.targeted}`, c.failed, c.skipped]),
    ),
    '',
    '## Cuadrícula (difusor × corte)',
    '',
    `Leyenda: ${Object.values(CELL_LEGEND).map((l) => `${l.letter} = ${l.label}`).join('; ')}.`,
    '',
    ...mdTable(
      ['difusor', ...report.cuts.map((c) => cutLabel(c.id))],
      report.difusores.map((d) => [d.id, ...report.cells.filter((c) => c.difusor === d.id).map((c) => CELL_LEGEND[c.outcome].letter)]),
    ),
    '',
    '## Incidencias',
    '',
  ];
  const withIncidents = report.difusores.filter((d) => d.incidents.length > 0);
  if (withIncidents.length === 0 && report.general.length === 0) lines.push('Sin incidencias en el periodo.', '');
  for (const event of report.general) lines.push(`- ${incidentTime(event)}: ${describeIncident(event)}`);
  if (report.general.length) lines.push('');
  for (const d of withIncidents) {
    lines.push(`### ${d.name} (${d.id})`, '');
    for (const incident of d.incidents) lines.push(`- ${incidentTime(incident)}: ${describeIncident(incident)}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
