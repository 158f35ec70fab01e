// The incident report (memoria técnica): a pure model built from the journal's events — per
// difusor, per cut, the difusor × cut grid, the portal over wall-clock time and the audits — that the
// renderers (HTML, CSV, JSON, Markdown) print.
import { cutFromId, formatLocalTime } from '../core/cut.js';
import { FAILURE_CODES } from '../core/failure-codes.js';
import { isNewAuditFailure } from '../audit/model.js';
import type { AuditOutcome, LedgerEvent, RecordedOutcome } from '../ledger/types.js';
import { failureInWords } from '../words/failures.js';
import { zoneInWords } from '../words/time.js';
import { portalTimeline, timeShares, type PortalSegment, type PortalState } from './timeline.js';
import { describeAuditOutcome } from '../words/audit.js';

/**
 * What a difusor's cell of the grid says about one cut, from all the outcomes recorded for it:
 * a delivery (by the cut or a later push) wins over a failure, and a failure over a skip, so a
 * re-run that skipped a blocked difusor never hides that it failed that cut.
 */
export type CellOutcome = 'delivered' | 'late' | 'failed' | 'blocked' | 'disabled' | 'not_targeted';

/** Why a cell's result is `skipped`, in the CSV's words. */
export type SkipReason = 'blocked' | 'disabled' | 'not_targeted';

/** The calls' availability target for a difusor's publication (IEM, IEEM: 99.9 % a month). */
export const AVAILABILITY_TARGET_PCT = 99.9;

export interface ReportCell {
  difusor: string;
  cut: string;
  /**
   * `late`: delivered only after the cut's own run missed it (it failed, the difusor was blocked or
   * disabled, or the run left it out with `--only`), by a later push.
   */
  outcome: CellOutcome;
  /** The same in the results' words: `delivered` (late too), `failed` or `skipped`. */
  result: RecordedOutcome;
  skip_reason: SkipReason | null;
  /** The cut was withdrawn (`retract`): the cell keeps what happened, and counts for nobody. */
  withdrawn: boolean;
  /** The cut was a drill: shown apart, counts for nobody. */
  drill: boolean;
  /** The difusor was blocked when the cut was published. */
  blocked_at_cut: boolean;
  /** Counts in its availability: a cut published while the difusor was enabled, neither withdrawn nor a drill. */
  counts: boolean;
  /** The last failure's code (for `failed` and `late`), else null. */
  error_code: string | null;
  /** That code in Spanish words (the one table in src/words/failures.ts). */
  error_message: string | null;
  /** Seconds of the delivery that landed (or of the last failed attempt); null when nothing was tried. */
  seconds: number | null;
  attempts: number | null;
  /** When the recorded outcome that decided the cell happened (UTC ISO). */
  at: string | null;
  /** When the difusor received the cut (UTC ISO), else null. */
  delivered_at: string | null;
}

export interface MissStreak {
  kind: 'miss_streak';
  difusor: string;
  first_cut: string;
  last_cut: string;
  cuts: number;
  /** Each error code seen in the streak with how many cuts it failed. */
  error_codes: Record<string, number>;
  /** Time of the first and last failure (UTC ISO) and the same in the registry's timezone. */
  at: string;
  at_local: string;
  last_at: string;
  last_at_local: string;
  /** The cut whose delivery ended the streak, or null when it is still going on. */
  recovered_at_cut: string | null;
}

export interface BlockIncident {
  kind: 'block' | 'unblock';
  difusor: string;
  at: string;
  at_local: string;
  /** Why (blocks only): `auto: missed N consecutive cuts` or the operator's words. */
  reason: string | null;
  by: 'auto' | 'manual' | null;
}

/**
 * Any other journal event worth listing (notices placed, failed and removed, audits, retractions,
 * notifications): see INCIDENT_OF_EVENT below. `summary` is Spanish, for the reader.
 */
export interface OtherIncident {
  kind: 'event';
  type: string;
  /** Null for an event about no one difusor (a withdrawn cut): listed under `general`. */
  difusor: string | null;
  cut: string | null;
  at: string;
  at_local: string;
  summary: string;
}

export type ReportIncident = MissStreak | BlockIncident | OtherIncident;

/** A time the difusor spent blocked, within the report's window (`to` null: still blocked at its end). */
export interface BlockedPeriod {
  from: string;
  from_local: string;
  to: string | null;
  to_local: string | null;
  reason: string;
  by: 'auto' | 'manual';
  /** The cuts of the period published while it lasted. */
  cuts: string[];
}

/** What the recorded audits of its public site say: the availability the public could reach. */
export interface Monitoring {
  audits: number;
  ok: number;
  /** ok ÷ audits × 100, two decimals (99.9 needs them); null without audits. */
  ok_pct: number | null;
  /** Null without audits. */
  meets_target: boolean | null;
  /** Audits of each outcome. */
  outcomes: Partial<Record<AuditOutcome, number>>;
  first_at: string | null;
  first_at_local: string | null;
  last_at: string | null;
  last_at_local: string | null;
  /** The audits over the report's window in equal slices, for the picture. */
  strip: Array<{ audits: number; ok: number }>;
}

export interface DifusorSummary {
  id: string;
  name: string;
  /** False for ids found in the journal but no longer in the registry. */
  in_registry: boolean;
  enabled: boolean;
  /** Cuts published while it was enabled (the availability's denominator). */
  published: number;
  /** Cuts it was sent (delivered, late or failed). */
  targeted: number;
  /** Cuts it received, on time or late. */
  delivered: number;
  /** Of `delivered`, those received only through a later push. */
  delivered_late: number;
  /** Cuts sent to it that it never received. */
  missed: number;
  /** Cuts published while it was blocked that it never received. */
  missed_blocked: number;
  /** Cuts published while it was enabled that no run sent it (a cut run with `--only`). */
  missed_not_targeted: number;
  /** Cuts skipped because it was blocked or disabled. */
  skipped: number;
  /** delivered ÷ published × 100, one decimal; null when nothing was published to it. */
  availability_pct: number | null;
  median_seconds: number | null;
  max_seconds: number | null;
  blocked_periods: BlockedPeriod[];
  /** Its portal over the report's window (see `window`). */
  timeline: PortalSegment[];
  /** The percent of the window in each state. */
  time_shares: Record<PortalState, number>;
  monitoring: Monitoring;
  /** Incidents in time order (notifications are apart, in `notifications`). */
  incidents: ReportIncident[];
}

export interface CutSummary {
  id: string;
  /** ISO 8601 with the registry timezone's offset. */
  time: string;
  package: string | null;
  /** Difusores for which it counts (enabled when it was published). */
  published: number;
  targeted: number;
  delivered: number;
  late: number;
  failed: number;
  blocked: number;
  skipped: number;
  /** Withdrawn (retracted) cuts count for nobody. */
  withdrawn: boolean;
  withdrawn_reason: string | null;
  drill: boolean;
}

export interface IncidentReport {
  institute: { short: string; name: string };
  timezone: string;
  /** "hora del centro de México, UTC−06:00": how every time in the report is to be read. */
  timezone_words: string;
  generated_at: string;
  generated_at_local: string;
  /** The first and last election cut (neither withdrawn nor a drill). */
  period: { from: string | null; to: string | null; from_time: string | null; to_time: string | null };
  /** The wall-clock window of the portal pictures and audits: the first election cut to the last event. */
  window: { from: string | null; to: string | null };
  /** The first and last drill cut, when there were drills. */
  drill_period: { from: string | null; to: string | null };
  availability_target_pct: number;
  totals: {
    /** Election cuts (neither withdrawn nor drills). */
    cuts: number;
    withdrawn_cuts: number;
    drill_cuts: number;
    difusores: number;
    published: number;
    targeted: number;
    delivered: number;
    delivered_late: number;
    missed: number;
    not_served: number;
    availability_pct: number | null;
    blocks: number;
    audits: number;
    audits_ok_pct: number | null;
  };
  /** Every cut of the range: election cuts, withdrawn ones and drills (see their flags). */
  cuts: CutSummary[];
  difusores: DifusorSummary[];
  /** One per (difusor, cut), difusores and cuts in the order above. */
  cells: ReportCell[];
  /** Events about no one difusor (a withdrawn cut), in time order. */
  general: OtherIncident[];
  /** Notifications sent or not sent, in time order: the appendix. */
  notifications: OtherIncident[];
}

export interface ReportDifusor {
  id: string;
  name: string;
  enabled: boolean;
}

export interface ReportInput {
  events: readonly LedgerEvent[];
  /** The registry's difusores, in registry order. */
  difusores: readonly ReportDifusor[];
  institute: { short: string; name?: string };
  timezone: string;
  /** The registry's `timezone_label`, when it has one. */
  timezoneLabel?: string;
  /** Inclusive cut-id bounds. */
  from?: string;
  to?: string;
  generatedAtMs: number;
}

/** A journal event as the model reads it: the known union, or one another branch added. */
type AnyEvent = { type: string; at: string; id?: string; cut?: string } & Record<string, unknown>;

/** What an event's line may need from the journal before it (an audit: the difusor's previous audit). */
export interface IncidentContext {
  /** The outcome of the difusor's previous audit, or null when it had none. */
  previousAudit: AuditOutcome | null;
}

/** A notification's event in words, for its line in the appendix. */
const NOTIFICATION_WORDS: Record<string, string> = {
  missed: 'corte no recibido',
  blocked: 'bloqueo',
  recovered: 'recuperación',
  unblocked: 'desbloqueo',
  notice_published: 'aviso de suspensión publicado',
  audit_failed: 'problemas en su sitio público',
  probe_failed: 'servidor sin los requisitos de la convocatoria',
};

const CHANNEL_WORDS: Record<string, string> = { email: 'correo electrónico', webhook: 'webhook', command: 'comando' };

/** The outbox key `event:difusor:cut` ('-' for no cut) split back; null when it is not one. */
export function parseNotificationKey(key: unknown): { event: string; difusor: string; cut: string | null } | null {
  if (typeof key !== 'string') return null;
  const parts = key.split(':');
  if (parts.length !== 3 || parts.some((p) => p === '')) return null;
  return { event: parts[0], difusor: parts[1], cut: parts[2] === '-' ? null : parts[2] };
}

/**
 * A recorded error message (English, with addresses: "connect ECONNREFUSED 127.0.0.1:22102") in the
 * Spanish words of the failure code it names; null when it names none. The message itself is never
 * shown: the report is read by people who were not at the terminal.
 */
export function errorInWords(message: unknown): string | null {
  if (typeof message !== 'string') return null;
  const code = FAILURE_CODES.find((c) => new RegExp(`\\b${c}\\b`).test(message));
  return code === undefined ? null : `${failureInWords(code)} (${code})`;
}

function notificationLine(e: AnyEvent, sent: boolean): Omit<OtherIncident, 'at_local'> | null {
  const key = parseNotificationKey(e.key);
  if (key === null) return null;
  const what = NOTIFICATION_WORDS[key.event] ?? key.event;
  const channel = typeof e.channel === 'string' ? (CHANNEL_WORDS[e.channel] ?? e.channel) : 'un canal desconocido';
  const summary = sent
    ? `Notificación enviada por ${channel}: ${what}`
    : `Notificación no enviada por ${channel} (se reintenta en la siguiente ejecución): ${what}`;
  return { kind: 'event', type: e.type, difusor: key.difusor, cut: key.cut, at: e.at, summary };
}

/**
 * The hook for event kinds other branches add to the journal (notices, notifications, audits,
 * retractions): one entry per event type turns it into a listed incident (return null to skip it).
 * A 'retract' event `{cut}` also marks its cut withdrawn (see withdrawnCuts).
 */
export const INCIDENT_OF_EVENT: Record<string, (event: AnyEvent, context: IncidentContext) => Omit<OtherIncident, 'at_local'> | null> = {
  retract: (e) =>
    typeof e.cut === 'string'
      ? { kind: 'event', type: 'retract', difusor: null, cut: e.cut, at: e.at, summary: `Corte ${e.cut} retirado${typeof e.reason === 'string' ? `: ${e.reason}` : ''}` }
      : null,
  // Only a change worth a line: a new failing outcome, or the first ok after a failure.
  audit: (e, { previousAudit }) => {
    if (typeof e.id !== 'string' || !isAuditOutcome(e.outcome)) return null;
    const cut = typeof e.expectedCut === 'string' ? e.expectedCut : null;
    const base = { kind: 'event' as const, type: 'audit', difusor: e.id, cut, at: e.at };
    if (isNewAuditFailure(previousAudit, e.outcome)) {
      const served = typeof e.servedCut === 'string' ? `muestra el corte ${e.servedCut}` : 'no muestra ningún corte reconocible';
      return { ...base, summary: `Revisión del sitio público: ${describeAuditOutcome(e.outcome)}; ${served}` };
    }
    if (e.outcome === 'ok' && previousAudit !== null && previousAudit !== 'ok') {
      return { ...base, summary: `Revisión del sitio público: volvió a servir el último corte sin alteraciones (antes: ${AUDIT_OUTCOME_SHORT[previousAudit]})` };
    }
    return null;
  },
  notice_placed: (e) =>
    noticeLine(e, `Aviso de suspensión publicado en su portal${typeof e.release === 'string' ? ` (${e.release})` : ''}`),
  notice_failed: (e) => {
    const why = errorInWords(e.error);
    return noticeLine(e, `No se pudo publicar el aviso de suspensión (se reintenta en el siguiente corte)${why ? `: ${why}` : ''}`);
  },
  notify_sent: (e) => notificationLine(e, true),
  notify_failed: (e) => notificationLine(e, false),
};

/** A notice placed on (or not placed on) a blocked difusor's portal, as an incident line. */
function noticeLine(e: AnyEvent, summary: string): Omit<OtherIncident, 'at_local'> | null {
  if (typeof e.id !== 'string') return null;
  return { kind: 'event', type: e.type, difusor: e.id, cut: typeof e.cut === 'string' ? e.cut : null, at: e.at, summary };
}

/** Each audit outcome in a few Spanish words, for tables and the line of a recovery. */
export const AUDIT_OUTCOME_SHORT: Record<AuditOutcome, string> = {
  ok: 'correcto',
  stale: 'muestra un corte anterior',
  tampered: 'archivos alterados',
  misconfigured: 'encabezados incorrectos',
  unreachable: 'inaccesible',
};

const NOTIFICATION_TYPES = new Set(['notify_sent', 'notify_failed']);

const AUDIT_OUTCOMES: readonly string[] = ['ok', 'stale', 'tampered', 'misconfigured', 'unreachable'] satisfies AuditOutcome[];
function isAuditOutcome(value: unknown): value is AuditOutcome {
  return typeof value === 'string' && AUDIT_OUTCOMES.includes(value);
}

const OUTCOME_RANK: Record<RecordedOutcome, number> = { skipped: 0, failed: 1, delivered: 2 };

function withdrawnCuts(events: readonly AnyEvent[]): Map<string, string> {
  const withdrawn = new Map<string, string>();
  for (const e of events) if (e.type === 'retract' && typeof e.cut === 'string') withdrawn.set(e.cut, typeof e.reason === 'string' ? e.reason : '');
  return withdrawn;
}

function drillCuts(events: readonly AnyEvent[]): Set<string> {
  return new Set(events.filter((e) => e.type === 'cut' && e.drill === true && typeof e.cut === 'string').map((e) => e.cut as string));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Math.round(value * 1000) / 1000;
}

function percent(part: number, whole: number, digits = 1): number | null {
  const scale = 10 ** digits;
  return whole === 0 ? null : Math.round((part / whole) * 100 * scale) / scale;
}

/** A share ≥ 99.9 % needs two decimals to be told from 99.85 %; but never rounds up to meet the target. */
function auditPercent(ok: number, audits: number): number | null {
  if (audits === 0) return null;
  return Math.floor((ok / audits) * 10000) / 100;
}

type OutcomeEvent = Extract<LedgerEvent, { type: 'outcome' }>;

/**
 * The cell of one (difusor, cut) from every outcome recorded for it, in journal order. `cutRecordedAt`
 * is when a cut run recorded the cut (null when no cut run did: a `build` then `push`): a first
 * delivery by a later push, after that run left the difusor out, is late.
 */
export function cellOf(difusor: string, cut: string, outcomes: readonly OutcomeEvent[], cutRecordedAt: string | null = null): ReportCell {
  const cell: ReportCell = {
    difusor,
    cut,
    outcome: 'not_targeted',
    result: 'skipped',
    skip_reason: 'not_targeted',
    withdrawn: false,
    drill: false,
    blocked_at_cut: false,
    counts: false,
    error_code: null,
    error_message: null,
    seconds: null,
    attempts: null,
    at: null,
    delivered_at: null,
  };
  let best: OutcomeEvent | undefined;
  for (const o of outcomes) if (best === undefined || OUTCOME_RANK[o.outcome] > OUTCOME_RANK[best.outcome]) best = o;
  if (best === undefined) return cell;

  if (best.outcome === 'delivered') {
    // The first delivery is when the difusor got it; a later failure never demotes the cell.
    const first = outcomes.findIndex((o) => o.outcome === 'delivered');
    const delivery = outcomes[first];
    const before = outcomes.slice(0, first);
    const leftOutByItsCut = delivery.via === 'push' && before.length === 0 && cutRecordedAt !== null && cutRecordedAt < delivery.at;
    const late = before.length > 0 || leftOutByItsCut;
    const failure = [...before].reverse().find((o) => o.outcome === 'failed');
    return {
      ...cell,
      outcome: late ? 'late' : 'delivered',
      result: 'delivered',
      skip_reason: null,
      error_code: failure?.code ?? null,
      error_message: failure?.code ? failureInWords(failure.code) : null,
      seconds: delivery.seconds,
      attempts: delivery.attempts,
      at: delivery.at,
      delivered_at: delivery.at,
    };
  }
  if (best.outcome === 'failed') {
    const failure = [...outcomes].reverse().find((o) => o.outcome === 'failed')!;
    const code = failure.code ?? 'UNKNOWN';
    return {
      ...cell,
      outcome: 'failed',
      result: 'failed',
      skip_reason: null,
      error_code: code,
      error_message: failureInWords(code),
      seconds: failure.seconds,
      attempts: failure.attempts,
      at: failure.at,
    };
  }
  const skip = [...outcomes].reverse().find((o) => o.outcome === 'skipped')!;
  const reason: SkipReason = skip.code === 'disabled' ? 'disabled' : 'blocked';
  return { ...cell, outcome: reason, skip_reason: reason, at: skip.at };
}

/** Maximal runs of failed cells (in cut order) not interrupted by a delivered one. */
export function missStreaks(cells: readonly ReportCell[], timezone: string): MissStreak[] {
  const streaks: MissStreak[] = [];
  let open: MissStreak | null = null;
  for (const cell of cells) {
    if (cell.outcome === 'failed') {
      const at = cell.at ?? '';
      const code = cell.error_code ?? 'UNKNOWN';
      if (open === null) {
        open = {
          kind: 'miss_streak',
          difusor: cell.difusor,
          first_cut: cell.cut,
          last_cut: cell.cut,
          cuts: 0,
          error_codes: {},
          at,
          at_local: localTime(at, timezone),
          last_at: at,
          last_at_local: localTime(at, timezone),
          recovered_at_cut: null,
        };
        streaks.push(open);
      }
      open.last_cut = cell.cut;
      open.cuts += 1;
      open.error_codes[code] = (open.error_codes[code] ?? 0) + 1;
      open.last_at = at;
      open.last_at_local = localTime(at, timezone);
    } else if (open !== null && (cell.outcome === 'delivered' || cell.outcome === 'late')) {
      open.recovered_at_cut = cell.cut;
      open = null;
    }
  }
  return streaks;
}

function localTime(iso: string, timezone: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : formatLocalTime(ms, timezone);
}

/** A cut's time from its id alone (a push's outcome of a cut with no cut event in the journal). */
function timeOfCutId(cut: string, timezone: string): string {
  try {
    return cutFromId(cut, timezone).time;
  } catch {
    return cut; // not a well-formed id: shown as recorded rather than refusing the whole report
  }
}

function inRange(cut: string, from: string | undefined, to: string | undefined): boolean {
  return (from === undefined || cut >= from) && (to === undefined || cut <= to);
}

/** Each difusor's blocks as intervals of journal time (ms), `to` Infinity while still blocked. */
function blockIntervals(events: readonly AnyEvent[]): Map<string, Array<{ from: number; to: number; reason: string; by: 'auto' | 'manual' }>> {
  const intervals = new Map<string, Array<{ from: number; to: number; reason: string; by: 'auto' | 'manual' }>>();
  for (const e of events) {
    if (typeof e.id !== 'string' || (e.type !== 'block' && e.type !== 'unblock')) continue;
    const list = intervals.get(e.id) ?? [];
    intervals.set(e.id, list);
    const open = list.length > 0 && list[list.length - 1].to === Infinity ? list[list.length - 1] : null;
    if (e.type === 'block' && open === null) {
      list.push({ from: Date.parse(e.at), to: Infinity, reason: typeof e.reason === 'string' ? e.reason : '', by: e.by === 'manual' ? 'manual' : 'auto' });
    } else if (e.type === 'block' && open !== null && typeof e.reason === 'string') {
      open.reason = e.reason; // a second block while blocked only updates the reason
    } else if (e.type === 'unblock' && open !== null) {
      open.to = Date.parse(e.at);
    }
  }
  return intervals;
}

const STRIP_SLICES = 120;

function monitoringOf(audits: readonly AnyEvent[], timezone: string, window: { from: number; to: number } | null): Monitoring {
  const outcomes: Partial<Record<AuditOutcome, number>> = {};
  for (const a of audits) outcomes[a.outcome as AuditOutcome] = (outcomes[a.outcome as AuditOutcome] ?? 0) + 1;
  const ok = outcomes.ok ?? 0;
  const okPct = auditPercent(ok, audits.length);
  const strip = Array.from({ length: window ? STRIP_SLICES : 0 }, () => ({ audits: 0, ok: 0 }));
  if (window && window.to > window.from) {
    for (const a of audits) {
      const slice = Math.floor(((Date.parse(a.at) - window.from) / (window.to - window.from)) * STRIP_SLICES);
      const s = strip[Math.min(STRIP_SLICES - 1, Math.max(0, slice))];
      s.audits += 1;
      if (a.outcome === 'ok') s.ok += 1;
    }
  }
  const first = audits[0]?.at ?? null;
  const last = audits[audits.length - 1]?.at ?? null;
  return {
    audits: audits.length,
    ok,
    ok_pct: okPct,
    meets_target: okPct === null ? null : okPct >= AVAILABILITY_TARGET_PCT,
    outcomes,
    first_at: first,
    first_at_local: first === null ? null : localTime(first, timezone),
    last_at: last,
    last_at_local: last === null ? null : localTime(last, timezone),
    strip,
  };
}

/** The report, from the journal and the registry. Pure: same input, same report. */
export function buildIncidentReport(input: ReportInput): IncidentReport {
  const { timezone, from, to } = input;
  const anyEvents = input.events as readonly AnyEvent[];
  const events = input.events;
  const withdrawn = withdrawnCuts(anyEvents);
  const drills = drillCuts(anyEvents);
  const isElectionCut = (cut: string) => !withdrawn.has(cut) && !drills.has(cut);

  // Cuts: every cut id the journal names (a cut event, or an outcome of a push), within the range.
  const cutInfo = new Map<string, { time: string; package: string | null; recordedAt: string | null }>();
  const outcomesByPair = new Map<string, OutcomeEvent[]>();
  const journalIds: string[] = [];
  const firstSeen = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'cut') cutInfo.set(e.cut, { time: e.cutTime, package: e.package, recordedAt: cutInfo.get(e.cut)?.recordedAt ?? e.at });
    if (e.type === 'outcome') {
      if (!cutInfo.has(e.cut)) cutInfo.set(e.cut, { time: timeOfCutId(e.cut, timezone), package: null, recordedAt: null });
      const key = `${e.id}\u0000${e.cut}`;
      outcomesByPair.set(key, [...(outcomesByPair.get(key) ?? []), e]);
    }
    if (e.type === 'cut' || e.type === 'outcome') {
      const ms = Date.parse(e.at);
      if (!(firstSeen.get(e.cut)! <= ms)) firstSeen.set(e.cut, ms);
    }
    if ('id' in e && typeof e.id === 'string' && !journalIds.includes(e.id)) journalIds.push(e.id);
  }
  const cutIds = [...cutInfo.keys()].filter((c) => inRange(c, from, to)).sort();
  const electionCuts = cutIds.filter(isElectionCut);

  // The period's time window, for events that have no cut (blocks, unblocks), on the journal's own
  // clock (a cut run with an explicit past --cut is recorded now): from when the first cut of the
  // range was recorded up to when the first cut after it was.
  const allCutIds = [...cutInfo.keys()].sort();
  const windowStart = from === undefined || cutIds.length === 0 ? -Infinity : Math.min(...cutIds.map((c) => firstSeen.get(c) ?? Infinity));
  const nextCut = to === undefined ? undefined : allCutIds.find((c) => c > to);
  const windowEnd = nextCut === undefined ? Infinity : firstSeen.get(nextCut)!;
  const inWindow = (iso: string) => {
    const ms = Date.parse(iso);
    return ms >= windowStart && ms < windowEnd;
  };

  // The pictures' wall-clock window: from the first election cut of the range to the last event of the window.
  const pictureFrom = electionCuts.length ? Math.min(...electionCuts.map((c) => firstSeen.get(c) ?? Infinity)) : null;
  let pictureTo = pictureFrom;
  if (pictureFrom !== null) {
    for (const e of anyEvents) {
      const ms = Date.parse(e.at);
      if (ms < windowEnd && ms > pictureTo!) pictureTo = ms;
    }
    pictureTo = Math.max(pictureTo!, pictureFrom + 60_000);
  }
  const picture = pictureFrom === null ? null : { from: pictureFrom, to: pictureTo! };

  const otherIncidents: OtherIncident[] = [];
  // Each difusor's audit before the event at hand, over the whole journal (not only the range).
  const lastAuditOf = new Map<string, AuditOutcome>();
  for (const e of anyEvents) {
    const other = INCIDENT_OF_EVENT[e.type]?.(e, { previousAudit: typeof e.id === 'string' ? (lastAuditOf.get(e.id) ?? null) : null });
    if (e.type === 'audit' && typeof e.id === 'string' && isAuditOutcome(e.outcome)) lastAuditOf.set(e.id, e.outcome);
    if (!other) continue;
    if (other.cut !== null ? !inRange(other.cut, from, to) : !inWindow(other.at)) continue;
    otherIncidents.push({ ...other, at_local: localTime(other.at, timezone) });
  }
  // A notice is removed by the first results delivered after it: the portal shows results again.
  for (const e of events) {
    if (e.type !== 'notice_placed') continue;
    const removal = events.find((o): o is OutcomeEvent => o.type === 'outcome' && o.id === e.id && o.outcome === 'delivered' && o.at > e.at);
    if (removal === undefined || !inRange(removal.cut, from, to)) continue;
    otherIncidents.push({
      kind: 'event',
      type: 'notice_removed',
      difusor: e.id,
      cut: removal.cut,
      at: removal.at,
      at_local: localTime(removal.at, timezone),
      summary: `Aviso de suspensión retirado: su portal volvió a mostrar resultados (corte ${removal.cut})`,
    });
  }

  const registryIds = new Set(input.difusores.map((d) => d.id));
  const difusores: ReportDifusor[] = [
    ...input.difusores,
    ...journalIds.filter((id) => !registryIds.has(id)).sort().map((id) => ({ id, name: id, enabled: false })),
  ];
  const blocks = blockIntervals(anyEvents);
  const counts = (cut: string) => isElectionCut(cut);

  const cells: ReportCell[] = [];
  const summaries: DifusorSummary[] = [];
  for (const d of difusores) {
    const intervals = blocks.get(d.id) ?? [];
    const blockedAt = (ms: number | undefined) => ms !== undefined && intervals.some((i) => ms >= i.from && ms < i.to);
    const row = cutIds.map((cut) => {
      const cell = cellOf(d.id, cut, outcomesByPair.get(`${d.id}\u0000${cut}`) ?? [], cutInfo.get(cut)!.recordedAt);
      return {
        ...cell,
        withdrawn: withdrawn.has(cut),
        drill: drills.has(cut),
        blocked_at_cut: cell.outcome === 'blocked' || blockedAt(firstSeen.get(cut)),
      };
    });
    // A cut no run sent it counts as not served while it was a difusor: from its first recorded
    // outcome on (to its last, once it left the registry or was disabled there).
    const recorded = row.filter((c) => c.at !== null).map((c) => c.cut);
    const servedFrom = recorded[0];
    const servedTo = registryIds.has(d.id) && d.enabled ? undefined : recorded[recorded.length - 1];
    for (const cell of row) {
      const inService = servedFrom !== undefined && cell.cut >= servedFrom && (servedTo === undefined || cell.cut <= servedTo);
      cell.counts = counts(cell.cut) && cell.outcome !== 'disabled' && (cell.outcome !== 'not_targeted' || inService);
    }
    cells.push(...row);

    const election = row.filter((c) => counts(c.cut));
    const counted = election.filter((c) => c.counts);
    const n = (list: ReportCell[], ...outcomes: CellOutcome[]) => list.filter((c) => outcomes.includes(c.outcome)).length;
    const deliveredSeconds = election.filter((c) => c.result === 'delivered').map((c) => c.seconds ?? 0);
    const delivered = n(counted, 'delivered', 'late');

    const listed: ReportIncident[] = [];
    for (const e of anyEvents) {
      if ((e.type !== 'block' && e.type !== 'unblock') || e.id !== d.id || !inWindow(e.at)) continue;
      listed.push({
        kind: e.type,
        difusor: d.id,
        at: e.at,
        at_local: localTime(e.at, timezone),
        reason: typeof e.reason === 'string' ? e.reason : null,
        by: e.by === 'auto' || e.by === 'manual' ? e.by : null,
      });
    }
    listed.push(...otherIncidents.filter((i) => i.difusor === d.id && !NOTIFICATION_TYPES.has(i.type)));
    const incidents = [...missStreaks(election, timezone), ...listed].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

    const blockedPeriods: BlockedPeriod[] = intervals
      .filter((i) => i.from < windowEnd && i.to >= (Number.isFinite(windowStart) ? windowStart : -Infinity))
      .map((i) => {
        const fromIso = new Date(i.from).toISOString();
        const toIso = Number.isFinite(i.to) ? new Date(i.to).toISOString() : null;
        return {
          from: fromIso,
          from_local: localTime(fromIso, timezone),
          to: toIso,
          to_local: toIso === null ? null : localTime(toIso, timezone),
          reason: i.reason,
          by: i.by,
          cuts: electionCuts.filter((c) => {
            const ms = firstSeen.get(c)!;
            return ms >= i.from && ms < i.to;
          }),
        };
      });

    const timeline = picture ? portalTimeline({ events, difusor: d.id, counts, fromMs: picture.from, toMs: picture.to }) : [];
    const audits = anyEvents.filter(
      (e) =>
        e.type === 'audit' &&
        e.id === d.id &&
        isAuditOutcome(e.outcome) &&
        inWindow(e.at) &&
        !(typeof e.expectedCut === 'string' && drills.has(e.expectedCut)),
    );

    summaries.push({
      id: d.id,
      name: d.name,
      in_registry: registryIds.has(d.id),
      enabled: d.enabled,
      published: counted.length,
      targeted: n(election, 'delivered', 'late', 'failed'),
      delivered,
      delivered_late: n(counted, 'late'),
      missed: n(counted, 'failed'),
      missed_blocked: n(counted, 'blocked'),
      missed_not_targeted: n(counted, 'not_targeted'),
      skipped: n(election, 'blocked', 'disabled'),
      availability_pct: percent(delivered, counted.length),
      median_seconds: median(deliveredSeconds),
      max_seconds: deliveredSeconds.length ? Math.max(...deliveredSeconds) : null,
      blocked_periods: blockedPeriods,
      timeline,
      time_shares: timeShares(timeline, picture?.from ?? 0, picture?.to ?? 0),
      monitoring: monitoringOf(audits, timezone, picture),
      incidents,
    });
  }

  const cuts: CutSummary[] = cutIds.map((id) => {
    const column = cells.filter((c) => c.cut === id);
    const n = (...o: CellOutcome[]) => column.filter((c) => o.includes(c.outcome)).length;
    return {
      id,
      time: cutInfo.get(id)!.time,
      package: cutInfo.get(id)!.package,
      published: column.filter((c) => c.counts || ((c.withdrawn || c.drill) && c.outcome !== 'disabled' && c.outcome !== 'not_targeted')).length,
      targeted: n('delivered', 'late', 'failed'),
      delivered: n('delivered', 'late'),
      late: n('late'),
      failed: n('failed'),
      blocked: n('blocked'),
      skipped: n('blocked', 'disabled'),
      withdrawn: withdrawn.has(id),
      withdrawn_reason: withdrawn.get(id) ?? null,
      drill: drills.has(id),
    };
  });

  const sum = (f: (d: DifusorSummary) => number) => summaries.reduce((s, d) => s + f(d), 0);
  const published = sum((d) => d.published);
  const delivered = sum((d) => d.delivered);
  const audits = sum((d) => d.monitoring.audits);
  const drillIds = cutIds.filter((c) => drills.has(c));
  const timeOf = (cut: string | undefined) => (cut === undefined ? null : cutInfo.get(cut)!.time);
  const firstCut = electionCuts[0];
  const lastCut = electionCuts[electionCuts.length - 1];
  return {
    institute: { short: input.institute.short, name: input.institute.name ?? input.institute.short },
    timezone,
    timezone_words: zoneInWords(picture?.from ?? input.generatedAtMs, { timezone, ...(input.timezoneLabel === undefined ? {} : { timezoneLabel: input.timezoneLabel }) }),
    generated_at: new Date(input.generatedAtMs).toISOString(),
    generated_at_local: formatLocalTime(input.generatedAtMs, timezone),
    period: { from: firstCut ?? null, to: lastCut ?? null, from_time: timeOf(firstCut), to_time: timeOf(lastCut) },
    window: { from: picture ? new Date(picture.from).toISOString() : null, to: picture ? new Date(picture.to).toISOString() : null },
    drill_period: { from: drillIds[0] ?? null, to: drillIds[drillIds.length - 1] ?? null },
    availability_target_pct: AVAILABILITY_TARGET_PCT,
    totals: {
      cuts: electionCuts.length,
      withdrawn_cuts: cutIds.filter((c) => withdrawn.has(c)).length,
      drill_cuts: drillIds.length,
      difusores: difusores.length,
      published,
      targeted: sum((d) => d.targeted),
      delivered,
      delivered_late: sum((d) => d.delivered_late),
      missed: sum((d) => d.missed),
      not_served: published - delivered,
      availability_pct: percent(delivered, published),
      blocks: sum((d) => d.incidents.filter((i) => i.kind === 'block').length),
      audits,
      audits_ok_pct: auditPercent(sum((d) => d.monitoring.ok), audits),
    },
    cuts,
    difusores: summaries,
    cells,
    general: otherIncidents.filter((i) => i.difusor === null),
    notifications: otherIncidents.filter((i) => NOTIFICATION_TYPES.has(i.type)).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)),
  };
}
