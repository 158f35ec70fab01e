// `report --out FILE [--format html|csv|json|md] [--from CUT] [--to CUT]`: the incident report for
// the memoria técnica, built from the journal (read without the lock, like `status`) and written atomically.
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { cutFromId } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import { readJournal } from '../ledger/journal.js';
import { writeStoreFileAtomically } from '../package/store-files.js';
import type { Registry } from '../registry/types.js';
import { buildIncidentReport, type IncidentReport } from '../report/model.js';
import { renderHtml } from '../report/render-html.js';
import { renderCsv, renderJson, renderMarkdown } from '../report/render-text.js';

export const REPORT_FORMATS = ['html', 'csv', 'json', 'md'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportRequest {
  registry: Registry;
  stateDir: string;
  /** Absolute path of the file to write. */
  out: string;
  /** As typed; default: from the extension of `out`. */
  format?: string;
  from?: string;
  to?: string;
}

export interface ReportOutcome {
  file: string;
  format: ReportFormat;
  bytes: number;
  report: IncidentReport;
  warnings: string[];
}

/** The format named by `--format`, else by the file's extension (`.htm`, `.markdown` too). */
export function reportFormatFor(out: string, format: string | undefined): ReportFormat {
  if (format !== undefined) {
    if ((REPORT_FORMATS as readonly string[]).includes(format)) return format as ReportFormat;
    throw new PrepPushError('usage', `--format: "${format}" is not one of ${REPORT_FORMATS.join(', ')}`, { hint: 'e.g. --format html' });
  }
  const extension = path.extname(out).slice(1).toLowerCase();
  const byExtension: Record<string, ReportFormat> = { html: 'html', htm: 'html', csv: 'csv', json: 'json', md: 'md', markdown: 'md' };
  const found = byExtension[extension];
  if (found) return found;
  throw new PrepPushError('usage', `--out ${out}: cannot tell the format from the extension "${extension ? `.${extension}` : '(none)'}"`, {
    hint: `name the file .html, .csv, .json or .md, or pass --format ${REPORT_FORMATS.join('|')}`,
  });
}

function checkCutBound(flag: string, value: string | undefined, timezone: string): void {
  if (value === undefined) return;
  try {
    cutFromId(value, timezone);
  } catch (error) {
    throw new PrepPushError('usage', `${flag}: "${value}" is not a cut id`, {
      hint: 'a cut id looks like 20240602_2020 (YYYYMMDD_HHmm), as `prep-push status` prints them',
      cause: error,
    });
  }
}

const RENDER: Record<ReportFormat, (report: IncidentReport) => string> = {
  html: renderHtml,
  csv: renderCsv,
  json: renderJson,
  md: renderMarkdown,
};

export async function report(request: ReportRequest, clock: Clock): Promise<ReportOutcome> {
  const { registry } = request;
  const format = reportFormatFor(request.out, request.format);
  checkCutBound('--from', request.from, registry.timezone);
  checkCutBound('--to', request.to, registry.timezone);
  if (request.from !== undefined && request.to !== undefined && request.from > request.to) {
    throw new PrepPushError('usage', `--from ${request.from} is after --to ${request.to}`, { hint: 'swap them' });
  }
  const { events, warnings } = await readJournal(request.stateDir);
  // `institute_name` arrives with the notifications branch, `timezone_label` with the public texts';
  // the short name and the zone's own words stand in until then.
  const { instituteName, timezoneLabel } = registry as Registry & { instituteName?: string; timezoneLabel?: string };
  const model = buildIncidentReport({
    events,
    difusores: registry.difusores.map((d) => ({ id: d.id, name: d.name, enabled: d.enabled })),
    institute: { short: registry.institute, name: instituteName },
    timezone: registry.timezone,
    timezoneLabel,
    from: request.from,
    to: request.to,
    generatedAtMs: clock.now(),
  });
  const text = RENDER[format](model);
  try {
    writeStoreFileAtomically(path.dirname(request.out), path.basename(request.out), text);
  } catch (error) {
    throw new PrepPushError('io', `could not write the report ${request.out}: ${(error as Error).message}`, {
      hint: 'check that its folder exists and is writable by this user, and that the disk has space',
      cause: error,
    });
  }
  return { file: request.out, format, bytes: Buffer.byteLength(text), report: model, warnings };
}
