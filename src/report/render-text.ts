// The report as CSV (one row per difusor and cut, RFC 4180), JSON (the model) and Markdown, and the
// Spanish sentences the HTML page shares with the Markdown.
import type { DifusorSummary, IncidentReport, ReportCell, ReportIncident } from './model.js';
import { CELL_LEGEND, cutLabel, decimal, timeInWords } from './words.js';
import { failureInWords } from '../words/failures.js';
import { escapeHtml } from '../words/html.js';
import { count, spanishNumber } from '../words/plural.js';

/** The contract's six columns first, then ours (more may follow, never before these). */
export const CSV_HEADER = [
  'difusor',
  'cut',
  'outcome',
  'error_code',
  'seconds',
  'attempts',
  'skip_reason',
  'withdrawn',
  'delivered_at',
  'error_message',
  'drill',
  'cut_time',
  'late',
  'blocked_at_cut',
] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, and its quotes doubled. */
export function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const yes = (flag: boolean) => (flag ? 'yes' : '');

function csvRow(c: ReportCell, cutTime: string | null): Array<string | number | null> {
  return [
    c.difusor,
    c.cut,
    c.result,
    c.error_code,
    c.seconds,
    c.attempts,
    c.skip_reason,
    yes(c.withdrawn),
    c.delivered_at,
    c.error_message,
    yes(c.drill),
    cutTime,
    yes(c.outcome === 'late'),
    yes(c.blocked_at_cut),
  ];
}

/** Lines end in CRLF, as RFC 4180 says. */
export function renderCsv(report: IncidentReport): string {
  const timeOf = new Map(report.cuts.map((c) => [c.id, c.time]));
  const rows = report.cells.map((c) => csvRow(c, timeOf.get(c.cut) ?? null).map(csvField).join(','));
  return [CSV_HEADER.join(','), ...rows].map((line) => `${line}\r\n`).join('');
}

export function renderJson(report: IncidentReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * Text from the journal or the registry inside Markdown: HTML escaped (Markdown passes HTML
 * through, so `<script>` in a name must arrive as text), Markdown's own marks escaped, one line.
 */
export function mdText(text: string | number | null): string {
  return escapeHtml(text)
    .replace(/([\\`*[\]|])/g, '\\$1')
    .replace(/\r?\n|\r/g, ' ');
}

function mdTable(header: string[], rows: Array<Array<string | number | null>>): string[] {
  return [`| ${header.map(mdText).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(mdText).join(' | ')} |`)];
}

/** The grid's columns in blocks as wide as a printed page: as even as they can be, at most `max` each. */
export function gridBlocks<T>(items: readonly T[], max = 18): T[][] {
  if (items.length === 0) return [];
  const blocks = Math.ceil(items.length / max);
  const size = Math.ceil(items.length / blocks);
  return Array.from({ length: blocks }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((b) => b.length > 0);
}

/** One sentence per incident, in Spanish (shared by the HTML and Markdown renderers). */
export function describeIncident(incident: ReportIncident, institute: string): string {
  switch (incident.kind) {
    case 'miss_streak': {
      const causes = Object.entries(incident.error_codes)
        .map(([code, n]) => `${code} en ${count(n, 'corte')}: ${failureInWords(code)}`)
        .join('. ');
      const span =
        incident.cuts === 1 ? `Perdió el corte ${incident.first_cut}.` : `Perdió ${incident.cuts} cortes seguidos (${incident.first_cut} a ${incident.last_cut}).`;
      const end = incident.recovered_at_cut ? ` Se recuperó en el corte ${incident.recovered_at_cut}.` : ' Sin recuperarse al cierre del periodo.';
      return `${span} ${causes}.${end}`;
    }
    case 'block':
      return incident.by === 'auto'
        ? `Bloqueado automáticamente: ${autoReasonInWords(incident.reason ?? '')}.`
        : `Bloqueado manualmente por el ${institute}. Motivo: «${incident.reason ?? ''}».`;
    case 'unblock':
      return `Desbloqueado por el ${institute}.`;
    case 'event':
      return incident.summary;
  }
}

/** `auto: missed 3 consecutive cuts` (the ledger's words) in Spanish. */
export function autoReasonInWords(reason: string): string {
  const m = /^auto: missed (\d+) consecutive cuts$/.exec(reason);
  return m ? `perdió ${m[1]} cortes consecutivos` : reason;
}

/** A block's reason as the report words it: the automatic one in Spanish, the operator's as typed. */
export function blockReasonInWords(reason: string, by: 'auto' | 'manual'): string {
  return by === 'auto' ? `automático: ${autoReasonInWords(reason)}` : `manual: «${reason}»`;
}

export function incidentTime(incident: ReportIncident, zoneWords: string): string {
  if (incident.kind === 'miss_streak' && incident.last_at !== incident.at) {
    return `${timeInWords(incident.at_local, zoneWords)} – ${timeInWords(incident.last_at_local, zoneWords)}`;
  }
  return timeInWords(incident.at_local, zoneWords);
}

/** "cortes del 2 de junio de 2024, 20:00 al 3 de junio de 2024, 04:00 (20240602_2000 a 20240603_0400)". */
export function periodInWords(report: IncidentReport): string {
  const { from, to, from_time, to_time } = report.period;
  if (from === null || to === null || from_time === null || to_time === null) return 'sin cortes de la elección en el periodo';
  const z = report.timezone_words;
  if (from === to) return `un corte, el del ${timeInWords(from_time, z)} (${from})`;
  return `cortes del ${timeInWords(from_time, z)} al ${timeInWords(to_time, z)} (${from} a ${to})`;
}

/** The headline in one sentence, counts agreeing with their numbers. */
export function totalsInWords(report: IncidentReport): string {
  const t = report.totals;
  const parts = [
    `${count(t.cuts, 'corte de la elección', 'cortes de la elección')} y ${count(t.difusores, 'difusor')}`,
    `${t.delivered} de ${t.published} envíos a difusores habilitados llegaron (disponibilidad ${decimal(t.availability_pct)} %)`,
    `${count(t.not_served, 'corte no servido', 'cortes no servidos')}, de ellos ${count(t.missed, 'perdido por falla', 'perdidos por falla')}`,
    count(t.blocks, 'bloqueo'),
  ];
  if (t.delivered_late) parts.push(`${count(t.delivered_late, 'entrega tardía', 'entregas tardías')} por reenvío manual`);
  if (t.withdrawn_cuts) parts.push(`${count(t.withdrawn_cuts, 'corte retirado', 'cortes retirados')} (no cuentan)`);
  if (t.drill_cuts) parts.push(`${count(t.drill_cuts, 'corte de simulacro', 'cortes de simulacro')} (aparte, no cuentan)`);
  return `${parts.join('; ')}.`;
}

/** "99,87 % de 1 440 revisiones correctas (del … al …)", or that it was never audited. */
export function monitoringInWords(d: DifusorSummary, zoneWords: string): string {
  const m = d.monitoring;
  if (m.audits === 0) return 'sin revisiones registradas de su sitio público';
  const span = m.first_at_local && m.last_at_local ? ` (del ${timeInWords(m.first_at_local, zoneWords)} al ${timeInWords(m.last_at_local, zoneWords)})` : '';
  return `${decimal(m.ok_pct, 2)} % de ${count(m.audits, 'revisión', 'revisiones')} correctas${span}`;
}

/** Whether the audits meet the calls' target: `cumple`, `no cumple`, or `sin datos`. */
export function targetInWords(d: DifusorSummary): string {
  const m = d.monitoring;
  return m.meets_target === null ? 'sin datos' : m.meets_target ? 'cumple' : 'no cumple';
}

/**
 * Below this many audits one failure already takes the share under the target (1 000 for 99.9 %):
 * the figure cannot show the target was met, only that it was missed.
 */
export function auditsToMeasure(target: number): number {
  return Math.ceil(100 / (100 - target) - 1e-9);
}

/** The note under the figures when some difusor has too few audits to measure the target. */
export function fewAuditsNote(report: IncidentReport): string | null {
  const needed = auditsToMeasure(report.availability_target_pct);
  const few = report.difusores.filter((d) => d.monitoring.audits > 0 && d.monitoring.audits < needed);
  if (few.length === 0) return null;
  return (
    `Con menos de ${spanishNumber(needed)} revisiones una sola con problemas ya deja la cifra bajo el ${decimal(report.availability_target_pct)} %: ` +
    `${few.map((d) => d.id).join(', ')} ${few.length === 1 ? 'tiene' : 'tienen'} menos. Una revisión cada 5 minutos (prep-push audit desde cron) reúne 288 al día.`
  );
}

export function renderMarkdown(report: IncidentReport): string {
  const z = report.timezone_words;
  const inst = report.institute.short;
  const election = report.cuts.filter((c) => !c.withdrawn && !c.drill);
  const withdrawn = report.cuts.filter((c) => c.withdrawn);
  const drills = report.cuts.filter((c) => c.drill && !c.withdrawn);
  const cellsOf = (id: string) => new Map(report.cells.filter((c) => c.difusor === id).map((c) => [c.cut, c]));
  const gridLines = (cuts: typeof report.cuts): string[] =>
    gridBlocks(cuts).flatMap((block) => [
      ...mdTable(
        ['difusor', ...block.map((c) => cutLabel(c.id))],
        report.difusores.map((d) => {
          const cells = cellsOf(d.id);
          return [d.id, ...block.map((c) => cellMark(cells.get(c.id)))];
        }),
      ),
      '',
    ]);

  const lines = [
    `# Reporte de incidencias de la difusión del PREP — ${mdText(report.institute.name)}`,
    '',
    `Periodo: ${periodInWords(report)}. Todas las horas son en ${z}. Generado el ${timeInWords(report.generated_at_local, z)}.`,
    '',
    totalsInWords(report),
    '',
    `Disponibilidad = cortes que el difusor recibió ÷ cortes publicados mientras estaba habilitado; un corte publicado mientras estaba bloqueado cuenta como no servido. Los cortes retirados y los simulacros no cuentan. Revisiones: las de \`prep-push audit\`, contra el ${decimal(report.availability_target_pct)} % que piden las convocatorias.`,
    '',
    '## Por difusor',
    '',
    ...mdTable(
      ['difusor', 'nombre', 'publicados', 'entregados', 'tarde', 'perdidos', 'bloqueado', 'sin envío', 'disponibilidad %', 'mediana s', 'máx. s', 'revisiones correctas', `meta ${decimal(report.availability_target_pct)} %`],
      report.difusores.map((d) => [
        d.id,
        d.name,
        d.published,
        d.delivered,
        d.delivered_late,
        d.missed,
        d.missed_blocked,
        d.missed_not_targeted,
        decimal(d.availability_pct),
        decimal(d.median_seconds, 2),
        decimal(d.max_seconds, 2),
        monitoringInWords(d, z),
        targetInWords(d),
      ]),
    ),
    '',
  ];
  const note = fewAuditsNote(report);
  if (note) lines.push(mdText(note), '');
  const blocked = report.difusores.filter((d) => d.blocked_periods.length > 0);
  if (blocked.length) {
    lines.push('## Periodos de bloqueo', '');
    for (const d of blocked) {
      for (const p of d.blocked_periods) {
        const until = p.to_local ? `al ${timeInWords(p.to_local, z)}` : 'sin desbloquear al cierre del periodo';
        lines.push(`- ${mdText(d.name)} (${d.id}): del ${timeInWords(p.from_local, z)} ${until}; ${count(p.cuts.length, 'corte publicado', 'cortes publicados')} mientras tanto; ${mdText(blockReasonInWords(p.reason, p.by))}.`);
      }
    }
    lines.push('');
  }
  lines.push(
    '## Cuadrícula (difusor × corte)',
    '',
    `Leyenda: ${Object.values(CELL_LEGEND).map((l) => `${mdText(l.letter)} = ${l.label}`).join('; ')}; una celda marcada con \\* se publicó mientras el difusor estaba bloqueado.`,
    '',
    ...gridLines(election),
    '## Por corte',
    '',
    ...mdTable(
      ['corte', 'hora', 'entregados / publicados', 'tarde', 'fallidos', 'bloqueados'],
      election.map((c) => [c.id, timeInWords(c.time, z), `${c.delivered} / ${c.published}`, c.late, c.failed, c.blocked]),
    ),
    '',
    '## Incidencias',
    '',
  );
  const withIncidents = report.difusores.filter((d) => d.incidents.length > 0);
  if (withIncidents.length === 0 && report.general.length === 0) lines.push('Sin incidencias en el periodo.', '');
  for (const event of report.general) lines.push(`- ${incidentTime(event, z)}: ${mdText(describeIncident(event, inst))}`);
  if (report.general.length) lines.push('');
  for (const d of withIncidents) {
    lines.push(`### ${mdText(d.name)} (${d.id})`, '');
    for (const incident of d.incidents) lines.push(`- ${incidentTime(incident, z)}: ${mdText(describeIncident(incident, inst))}`);
    lines.push('');
  }
  if (withdrawn.length) {
    lines.push('## Cortes retirados', '', 'No cuentan para nadie: quedan fuera del periodo y de la disponibilidad. Cada celda dice lo que ocurrió.', '');
    lines.push(...mdTable(['corte', 'hora', 'motivo'], withdrawn.map((c) => [c.id, timeInWords(c.time, z), c.withdrawn_reason ?? ''])), '');
    lines.push(...gridLines(withdrawn));
  }
  if (drills.length) {
    lines.push('## Simulacros', '', 'Cortes marcados como simulacro: se muestran aparte y no cuentan para la disponibilidad.', '');
    lines.push(...gridLines(drills));
  }
  if (report.notifications.length) {
    lines.push('## Anexo: notificaciones', '');
    lines.push(
      ...mdTable(
        ['hora', 'difusor', 'corte', 'notificación'],
        report.notifications.map((n) => [timeInWords(n.at_local, z), n.difusor, n.cut ?? '—', n.summary]),
      ),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A cell's letter, with `*` when the cut was published while the difusor was blocked. */
function cellMark(cell: ReportCell | undefined): string {
  if (cell === undefined) return '';
  return `${CELL_LEGEND[cell.outcome].letter}${cell.blocked_at_cut && cell.outcome !== 'blocked' ? '*' : ''}`;
}
