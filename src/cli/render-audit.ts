// Lines people read for `audit` and for the audits of `cut --audit`. Pure: returns strings.
import { formatSeconds } from '../core/duration.js';
import type { SiteAuditResult } from '../audit/audit-site.js';
import type { AuditOutcome } from '../ledger/types.js';
import type { AuditReport } from '../commands/audit.js';
import { table, type Style } from './render.js';

function paint(outcome: AuditOutcome, s: Style): (text: string) => string {
  if (outcome === 'ok') return s.ok;
  return outcome === 'misconfigured' ? s.warn : s.bad;
}

/** One difusor's audit as it finishes, and each problem under it. */
export function renderAuditLine(r: Pick<SiteAuditResult, 'id' | 'outcome' | 'problems'> & Partial<SiteAuditResult>, s: Style): string[] {
  const label = r.outcome === 'ok' ? 'audit ok' : `audit ${r.outcome.toUpperCase()}`;
  const detail = [
    r.served_cut !== undefined ? `serves ${r.served_cut ?? '-'}` : '',
    r.expected_cut !== undefined ? `expected ${r.expected_cut ?? '-'}` : '',
    r.checked_files !== undefined ? `${r.checked_files} files` : '',
    r.seconds !== undefined ? formatSeconds(r.seconds) : '',
  ].filter(Boolean);
  return [`${paint(r.outcome, s)(label.padEnd(19))}  ${r.id.padEnd(20)} ${detail.join('  ')}`.trimEnd(), ...r.problems.map((p) => `           ${p}`)];
}

export function renderAuditSummary(report: AuditReport, s: Style): string[] {
  const rows = report.results.map((r) => [
    r.id,
    paint(r.outcome, s)(r.outcome),
    r.served_cut ?? '-',
    r.expected_cut ?? '-',
    String(r.checked_files),
    r.seconds.toFixed(2),
  ]);
  const notOk = report.results.filter((r) => r.outcome !== 'ok');
  const lines = ['', ...table(['difusor', 'outcome', 'served cut', 'expected cut', 'files', 'seconds'], rows), ''];
  if (report.results.length === 0) lines.push('nothing to audit: no enabled, non-blocked difusor has a url');
  else lines.push(`ok ${report.results.length - notOk.length}/${report.results.length}${notOk.length ? s.bad(`, not ok: ${notOk.map((r) => `${r.id} (${r.outcome})`).join(', ')}`) : ''}`);
  if (report.without_url.length) lines.push(`not audited (no url in the registry): ${report.without_url.join(', ')}`);
  return lines;
}
