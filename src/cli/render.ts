// Turns command results into the lines people read. Pure: returns strings; main.ts writes them.
import { Chalk } from 'chalk';
import { formatLocalTime } from '../core/cut.js';
import { formatAge, formatBytes, formatRate, formatSeconds } from '../core/duration.js';
import type { PrepPushError } from '../core/errors.js';
import type { PlannedSkip } from '../cut/plan.js';
import type { ReportResult, RunReport } from '../cut/report.js';
import type { DryRunPlan } from '../cut/run.js';
import type { BlockChange } from '../commands/block.js';
import type { Retraction } from '../commands/retract.js';
import type { StatusReport } from '../commands/status.js';
import type { FollowUpReport } from '../cut/follow-up.js';
import { DELIVERY_FALLBACKS } from '../sftp/atomic-upload.js';
import { type PublishSummary } from '../ledger/types.js';
import { fitLines, HUMAN_WIDTH, plural, visibleLength, wrapLine } from './io.js';

export interface Style {
  ok(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/** Colour only on a TTY and never with NO_COLOR (the contract); cron gets plain lines. */
export function makeStyle(colour: boolean): Style {
  const c = new Chalk({ level: colour ? 1 : 0 });
  return { ok: c.green, bad: c.red, warn: c.yellow, dim: c.dim, bold: c.bold };
}


export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (cell: string, width: number) => cell + ' '.repeat(Math.max(0, width - visibleLength(cell)));
  const line = (cells: string[]) => cells.map((cell, i) => pad(cell, widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** A PrepPushError as the operator reads it: its located details, the message, the hint. */
export function renderError(error: PrepPushError, colour: boolean): string[] {
  const s = makeStyle(colour);
  return [...error.details, `${s.bad('prep-push:')} ${error.message}`, ...(error.hint ? [`hint: ${error.hint}`] : [])];
}

/**
 * `site 20240602_2020 (link+rename): 612 uploaded (1.2 MB), 19,388 linked`, and for a recycled
 * release `…, 19,350 kept from 20240602_1940`.
 */
export function describePublish(p: PublishSummary): string {
  const kept = p.recycled_from ? `, ${p.kept_files ?? 0} kept from ${p.recycled_from}` : '';
  return `site ${p.release} (${p.mode}): ${p.uploaded_files} uploaded (${formatBytes(p.bytes_uploaded)}), ${p.linked_files} linked${kept}`;
}

/** One line per difusor as it finishes (and the error's message under a failure). */
export function renderResultLine(r: ReportResult, s: Style): string[] {
  const id = r.id.padEnd(20);
  if (r.outcome === 'delivered') {
    const fallbacks = r.fallbacks?.length ? `  ${s.warn(`fallbacks: ${r.fallbacks.join(', ')}`)}` : '';
    const line = `${s.ok('delivered')}  ${id} ${formatSeconds(r.seconds).padStart(9)}  ${plural(r.attempts, 'attempt')}  ${formatRate(r.bytes, r.seconds)}${fallbacks}`;
    return r.publish ? [line, `           ${describePublish(r.publish)}`] : [line];
  }
  if (r.outcome === 'skipped') return [`${s.dim('skipped  ')}  ${id} ${r.skip_reason ?? ''}`];
  return [
    `${s.bad('FAILED   ')}  ${id} ${formatSeconds(r.seconds).padStart(9)}  ${plural(r.attempts, 'attempt')}  ${s.bad(r.error?.code ?? '')}`,
    ...wrapLine(`           ${r.error?.message ?? ''}`, HUMAN_WIDTH, 11),
  ];
}

export function renderPlan(targets: string[], skipped: PlannedSkip[]): string[] {
  const lines = [`pushing to ${plural(targets.length, 'difusor')}${targets.length ? `: ${targets.join(', ')}` : ''}`];
  for (const skip of skipped.filter((k) => k.reason === 'blocked' || k.reason === 'already-delivered')) {
    lines.push(`  skipping ${skip.id}: ${skip.detail}`);
  }
  return fitLines(lines);
}

export function renderRunSummary(report: RunReport, s: Style): string[] {
  // A push that targeted nobody: one line, no empty table.
  if (report.nothing_to_push !== undefined) return [report.nothing_to_push];
  const rows = report.results.map((r) => [
    r.id,
    r.outcome === 'skipped' ? `skipped (${r.skip_reason})` : r.outcome,
    r.error?.code ?? '',
    r.outcome === 'skipped' ? '' : r.seconds.toFixed(2),
    r.outcome === 'skipped' ? '' : String(r.attempts),
    r.outcome === 'delivered' ? formatRate(r.bytes, r.seconds) : '',
  ]);
  for (const id of report.not_started) rows.push([id, 'not started (interrupted)', '', '', '', '']);
  // Site releases under the table, one line each: as a column they made every row 130 wide.
  const releases = report.results.filter((r) => r.publish).map((r) => `  ${r.id}: ${describePublish(r.publish!)}`);
  const targeted = report.results.filter((r) => r.outcome !== 'skipped').length + report.not_started.length;
  const delivered = report.results.filter((r) => r.outcome === 'delivered').length;
  const failed = report.results.filter((r) => r.outcome === 'failed');
  const byCode = new Map<string, string[]>();
  for (const r of failed) byCode.set(r.error?.code ?? '?', [...(byCode.get(r.error?.code ?? '?') ?? []), r.id]);
  const skipped = report.results.filter((r) => r.outcome === 'skipped');
  const lines = [
    '',
    `${report.command} ${report.cut.id}${report.drill ? ' (drill)' : ''}  ${report.package.file}  sha256 ${report.package.sha256.slice(0, 16)}…`,
    ...table(['difusor', 'outcome', 'error', 'seconds', 'attempts', 'rate'], rows),
    ...(releases.length ? ['site releases:', ...releases] : []),
    '',
    `delivered ${delivered}/${targeted}` +
      (failed.length ? s.bad(`, failed ${failed.length} (${[...byCode].map(([code, ids]) => `${code}: ${ids.join(', ')}`).join('; ')})`) : '') +
      (skipped.length ? `, skipped ${skipped.length} (${skipped.map((r) => `${r.id}: ${r.skip_reason}`).join(', ')})` : '') +
      `, ${formatSeconds(report.seconds)}`,
  ];
  for (const r of report.results.filter((result) => result.fallbacks?.length)) {
    lines.push(s.warn(`${r.id}: delivered with fallbacks: ${(r.fallbacks ?? []).map((f) => `${f} (${DELIVERY_FALLBACKS[f]})`).join('; ')}`));
  }
  if (report.newly_blocked.length) {
    lines.push(s.bad(`newly blocked: ${report.newly_blocked.join(', ')} (missed too many consecutive cuts)`));
  }
  for (const line of report.not_pushed ?? []) lines.push(s.bad(`not pushed: ${line}`));
  if (report.interrupted) lines.push(s.warn('interrupted: no new upload was started after the signal'));
  else lines.push(...followUpCommands(report));
  if (report.drill) lines.push('a drill (simulacro): journaled as one, its MANIFEST.json says "drill": true');
  return fitLines(lines);
}

export function renderDryRun(plan: DryRunPlan): string[] {
  return [
    `dry run: nothing is built, sent or recorded`,
    `cut      ${plan.cut.id} (${plan.cut.time})${plan.drill ? ', a drill' : ''}`,
    `source   ${plan.source.dir} (${plural(plan.source.files, 'file')})`,
    `package  ${plan.package.file}`,
    `targets  ${plan.targets.length ? plan.targets.join(', ') : '(none)'}`,
    ...plan.skipped.map((k) => `skip     ${k.id}: ${k.reason} (${k.detail})`),
  ];
}

/** A last error is worth a column only while no later cut has been delivered. */
function unresolvedError(d: StatusReport['difusores'][number]): boolean {
  return d.last_error !== null && (d.last_delivered_cut === null || d.last_error.cut >= d.last_delivered_cut);
}

export function renderStatus(report: StatusReport, s: Style, timeZone: string, stateDir: string): string[] {
  const rows = report.difusores.map((d) => [
    d.id,
    d.state === 'blocked' ? s.bad('blocked') : d.state === 'disabled' ? s.dim('disabled') : 'active',
    String(d.consecutive_misses),
    d.last_delivered_cut ?? '-',
    // While a notice is up, it is what the public reads, whatever release the last results left.
    d.notice ? s.warn(`${d.notice.release} (notice)`) : (d.current_release ?? '-'),
    lastAuditCell(d.last_audit, s),
  ]);
  // Why each is blocked, or its last error, under the table: as a column they made rows 140 wide.
  const why = report.difusores.flatMap((d) => {
    if (d.blocked_reason !== null) {
      return [`${d.id}: blocked${d.blocked_since ? ` since ${formatLocalTime(d.blocked_since, timeZone)}` : ''} (${d.blocked_reason})`];
    }
    return unresolvedError(d) ? [`${d.id}: last error ${d.last_error!.code} at cut ${d.last_error!.cut}`] : [];
  });
  const age = report.latest_cut_age_seconds;
  const latest =
    report.latest_cut === null
      ? '(none yet)'
      : `${report.latest_cut}${report.latest_cut_time ? ` (${report.latest_cut_time}${age === null ? '' : `, ${formatAge(age)} ago`})` : ''}`;
  return fitLines([
    `state dir: ${stateDir}`,
    `latest cut: ${latest}`,
    ...report.withdrawn_cuts.map((w) => `withdrawn cut: ${w.cut} at ${formatLocalTime(w.at, timeZone)} (${w.reason})`),
    ...table(['difusor', 'state', 'misses', 'last delivered', 'current', 'last audit'], rows),
    ...(why.length ? ['', ...why] : []),
    ...report.difusores
      .filter((d) => d.notice !== null)
      .map(
        (d) =>
          `notice on ${d.id} since ${formatLocalTime(d.notice!.since, timeZone)} (${d.notice!.release}): ` +
          (d.state === 'blocked' ? 'the public sees the notice, not results' : 'unblocked; the next delivery puts results back'),
      ),
  ]);
}

export function renderRetraction(r: Retraction): string[] {
  const back = r.latestNow === null ? 'no cut is left to name' : `moves LATEST back to ${r.latestNow} at every difusor`;
  if (r.alreadyWithdrawn) return [`cut ${r.cut} was already withdrawn (${r.reason}); nothing recorded`];
  return [
    `withdrew cut ${r.cut}: ${r.reason}`,
    `it no longer counts for anybody; the next cut or push ${back}` +
      (r.latestNow === null ? '' : `; to do it now: prep-push push`),
  ];
}

/**
 * `ok 20240602_2020`, `tampered 20240602_2020`, or `stale: serves 20240602_2000 (expected 20240602_2020)`:
 * always with the cut it concerns, whatever the outcome; empty when never audited.
 */
function lastAuditCell(a: StatusReport['difusores'][number]['last_audit'] | undefined, s: Style): string {
  if (!a) return '';
  if (a.outcome === 'ok') return s.ok(`ok ${a.served_cut ?? a.expected_cut ?? ''}`.trimEnd());
  if (a.served_cut !== null && a.served_cut === a.expected_cut) return s.bad(`${a.outcome} ${a.served_cut}`);
  if (a.served_cut === null && a.expected_cut !== null && a.outcome !== 'unreachable' && a.outcome !== 'stale') {
    return s.bad(`${a.outcome} ${a.expected_cut} (no cut served)`);
  }
  return s.bad(`${a.outcome}: serves ${a.served_cut ?? 'no cut'} (expected ${a.expected_cut ?? '-'})`);
}

/** `block` and `unblock`: the change, then everything the follow-up did (notice, notifications, public list). */
export function renderBlockChange(change: BlockChange): string[] {
  const lines: string[] = [];
  if (change.action === 'block') {
    lines.push(`blocked ${change.id}${change.wasBlocked ? ' (it was already blocked; reasons updated)' : ''}: skipped by every cut and push until \`prep-push unblock ${change.id}\``);
    lines.push(`  reason (internal: ledger, report, the institute's e-mail): ${change.reason}`);
    if (change.publicReason) {
      lines.push(`  public reason (on the notice${change.publicReason.isDefault ? ', the default; set it with --public-reason' : ''}): ${change.publicReason.text}`);
    }
  } else if (change.wasBlocked) {
    lines.push(`unblocked ${change.id}; miss count ${change.previousMisses} → 0`);
    lines.push(`  results again from the next cut (they replace its notice); to send the latest cut now: prep-push push --only ${change.id}`);
  } else {
    lines.push(`${change.id} was not blocked; miss count ${change.previousMisses} → 0`);
  }
  const f = change.follow_up;
  if (f !== undefined) {
    if (change.action === 'block') lines.push(`  notice: ${noticeLine(change.id, f)}`);
    lines.push(`  ${notificationsLine(f, change.channels ?? [])}`);
    lines.push(`  ${publicListLine(f)}`);
  }
  return fitLines(lines);
}

function noticeLine(id: string, f: FollowUpReport): string {
  if (f.notices.placed.includes(id)) return `placed on ${id}'s portal: it shows the notice instead of results`;
  const failed = f.notices.failed.find((x) => x.id === id);
  if (failed) return `NOT placed yet (${failed.error}); the next cut or push tries again`;
  if (f.notices.waiting.includes(id)) return 'waiting: placed by the next cut or push';
  return 'already in place (or the difusor is disabled): nothing to do';
}

const CHANNEL_WORDS: Record<string, string> = { email: 'e-mail', webhook: 'webhook', command: 'command' };

function notificationsLine(f: FollowUpReport, channels: readonly string[]): string {
  if (channels.length === 0) return 'notifications: none, the registry has no notify';
  const n = f.notifications;
  const failed = n.failed.length ? `, ${n.failed.length} failed` : '';
  const pending = n.pending ? `, ${n.pending} pending (retried by the next run)` : '';
  return `notifications (${channels.map((c) => CHANNEL_WORDS[c] ?? c).join(', ')}): ${n.queued} queued, ${n.sent} sent${failed}${pending}`;
}

function publicListLine(f: FollowUpReport): string {
  const list = f.public_list;
  if (list === null) return 'public list: none, the registry has no public_list';
  if (list.error !== null) return `public list: NOT written (${list.error})`;
  return list.written ? `public list: rewritten in ${list.dir}` : `public list: unchanged in ${list.dir}`;
}

/** A cell cut to `width` columns with "…" (the full text is in `status --json`). */
function abbreviate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Under `status`: notifications not sent yet and notices not in place, or nothing when all is done. */
export function renderPendingFollowUps(report: Pick<StatusReport, 'pending_notifications' | 'notices_pending'>): string[] {
  const lines: string[] = [];
  if (report.pending_notifications.length) {
    lines.push('', `pending notifications: ${report.pending_notifications.length}`);
    const rows = report.pending_notifications.map((p) => [
      p.event,
      p.difusor,
      p.cut ?? '-',
      p.channel,
      p.status === 'in_doubt' ? 'in doubt (run killed while sending; not resent)' : p.status,
      abbreviate(p.last_error ?? '', 40),
    ]);
    lines.push(...table(['event', 'difusor', 'cut', 'channel', 'status', 'last error'], rows));
  }
  if (report.notices_pending.length) lines.push('', `notice not yet placed on: ${report.notices_pending.join(', ')} (placed by the next cut or push)`);
  return lines;
}

/** After a run's summary: what was notified, which notices were placed, the public list. */
export function renderFollowUp(f: FollowUpReport | undefined): string[] {
  if (f === undefined) return [];
  const parts: string[] = [];
  const n = f.notifications;
  if (n.sent || n.failed.length || n.pending) {
    parts.push(`notifications: ${n.sent} sent${n.failed.length ? `, ${n.failed.length} failed` : ''}${n.pending ? `, ${n.pending} pending (retried by the next run)` : ''}`);
  }
  if (f.notices.placed.length) parts.push(`notice placed on ${f.notices.placed.join(', ')}`);
  if (f.notices.failed.length) parts.push(`notice NOT placed on ${f.notices.failed.map((x) => x.id).join(', ')} (retried next run)`);
  if (f.public_list?.written) parts.push(`public list updated in ${f.public_list.dir}`);
  return parts.length ? fitLines([parts.join('; ')]) : [];
}

/**
 * What to run next after a cut or push that left difusores without the cut, one line per situation,
 * each a command that does something there: a difusor this run blocked is not a target of any push
 * until unblocked; a refused rollback needs --allow-rollback; a changed host key is confirmed first,
 * never pushed over. Pure, so a test can run every line a scenario prints.
 */
export function followUpCommands(report: Pick<RunReport, 'cut' | 'results' | 'newly_blocked'>): string[] {
  const failed = report.results.filter((r) => r.outcome === 'failed');
  const blocked = new Set(report.newly_blocked);
  // Each command alone on its line, indented under what it is for: copied whole, never wrapped.
  const lines: string[] = [];
  for (const id of report.newly_blocked) {
    lines.push(`once ${id} is fixed, unblock it and send it the newest cut:`, `  prep-push unblock ${id}`, `  prep-push push --only ${id}`);
  }
  const rollback = failed.filter((r) => r.error?.code === 'ROLLBACK_REFUSED' && !blocked.has(r.id)).map((r) => r.id);
  if (rollback.length) {
    lines.push(`to move ${rollback.join(', ')} back to ${report.cut.id} anyway:`, `  prep-push push --cut ${report.cut.id} --only ${rollback.join(',')} --allow-rollback`);
  }
  const again = failed
    .filter((r) => !blocked.has(r.id) && r.error?.code !== 'ROLLBACK_REFUSED' && r.error?.code !== 'HOST_KEY_MISMATCH')
    .map((r) => r.id);
  if (again.length) {
    lines.push('re-push by hand once fixed:', `  prep-push push --cut ${report.cut.id} --only ${again.join(',')}`);
  }
  return lines;
}
