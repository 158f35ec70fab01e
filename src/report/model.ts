// The incident report (memoria técnica): a pure model built from the journal's events — per
// difusor, per cut, and the difusor × cut grid — that the renderers (HTML, CSV, JSON, Markdown) print.
import { cutFromId, formatLocalTime } from '../core/cut.js';
import { isNewAuditFailure } from '../audit/model.js';
import { type AuditOutcome } from '../ledger/types.js';
import type { LedgerEvent } from '../ledger/types.js';
import { describeAuditOutcome } from '../words/audit.js';

/**
 * What a difusor's cell of the grid says about one cut, from all the outcomes recorded for it:
 * a delivery (by the cut or a later push) wins over a failure, and a failure over a skip, so a
 * re-run that skipped a blocked difusor never hides that it failed that cut.
 */
export type CellOutcome = 'delivered' | 'late' | 'failed' | 'blocked' | 'disabled' | 'withdrawn' | 'not_targeted';

export interface ReportCell {
  difusor: string;
  cut: string;
  /** `late`: delivered only by a later push, after the cut's own delivery had failed. */
  outcome: CellOutcome;
  /** The last failure's code (for `failed` and `late`), else null. */
  error_code: string | null;
  error_message: string | null;
  /** Seconds of the delivery that landed (or of the last failed attempt); null when nothing was tried. */
  seconds: number | null;
  attempts: number | null;
  /** When the recorded outcome that decided the cell happened (UTC ISO). */
  at: string | null;
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
 * Any other journal event worth listing (notices, notifications, audits, retractions, probes as
 * other branches add them): see INCIDENT_OF_EVENT below. `summary` is Spanish, for the reader.
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

export interface DifusorSummary {
  id: string;
  name: string;
  /** False for ids found in the journal but no longer in the registry. */
  in_registry: boolean;
  enabled: boolean;
  /** Cuts it was meant to receive (delivered, late or failed). */
  targeted: number;
  /** Cuts it received, on time or late. */
  delivered: number;
  /** Of `delivered`, those received only through a later manual push. */
  delivered_late: number;
  /** Targeted cuts it never received. */
  missed: number;
  /** Cuts skipped because it was blocked or disabled. */
  skipped: number;
  /** delivered / targeted × 100, one decimal; null when never targeted. */
  availability_pct: number | null;
  median_seconds: number | null;
  max_seconds: number | null;
  incidents: ReportIncident[];
}

export interface CutSummary {
  id: string;
  /** ISO 8601 with the registry timezone's offset. */
  time: string;
  package: string | null;
  targeted: number;
  delivered: number;
  failed: number;
  skipped: number;
  /** Withdrawn (retracted) cuts count for nobody. */
  withdrawn: boolean;
}

export interface IncidentReport {
  institute: { short: string; name: string };
  timezone: string;
  generated_at: string;
  generated_at_local: string;
  period: { from: string | null; to: string | null };
  totals: {
    cuts: number;
    difusores: number;
    targeted: number;
    delivered: number;
    missed: number;
    availability_pct: number | null;
    blocks: number;
  };
  cuts: CutSummary[];
  difusores: DifusorSummary[];
  /** One per (difusor, cut), difusores and cuts in the order above. */
  cells: ReportCell[];
  /** Events about no one difusor (a withdrawn cut), in time order. */
  general: OtherIncident[];
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

/** A notification's event in words, for its line in the report. */
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

function notificationLine(e: AnyEvent, sent: boolean): Omit<OtherIncident, 'at_local'> | null {
  const key = parseNotificationKey(e.key);
  if (key === null) return null;
  const what = NOTIFICATION_WORDS[key.event] ?? key.event;
  const channel = typeof e.channel === 'string' ? (CHANNEL_WORDS[e.channel] ?? e.channel) : 'un canal desconocido';
  const summary = sent
    ? `Notificación enviada por ${channel}: ${what}`
    : `Notificación no enviada por ${channel} (se reintenta en la siguiente ejecución): ${what}${typeof e.error === 'string' ? ` — ${e.error}` : ''}`;
  return { kind: 'event', type: e.type, difusor: key.difusor, cut: key.cut, at: e.at, summary };
}

/**
 * The hook for event kinds other branches add to the journal (notices, notifications, audits,
 * retractions): one entry per event type turns it into a listed incident (return null to skip it).
 * A 'retract' event `{cut}` also marks its cut withdrawn in the grid (see withdrawnCuts).
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
      return { ...base, summary: `Revisión del sitio público: volvió a servir el último corte sin alteraciones (antes: ${previousAudit})` };
    }
    return null;
  },
  notice_placed: (e) =>
    noticeLine(e, `Aviso de suspensión publicado en su portal${typeof e.release === 'string' ? ` (${e.release})` : ''}`),
  notice_failed: (e) =>
    noticeLine(
      e,
      `No se pudo publicar el aviso de suspensión (se reintenta en el siguiente corte)${typeof e.error === 'string' ? `: ${e.error}` : ''}`,
    ),
  notify_sent: (e) => notificationLine(e, true),
  notify_failed: (e) => notificationLine(e, false),
};

/** A notice placed on (or not placed on) a blocked difusor's portal, as an incident line. */
function noticeLine(e: AnyEvent, summary: string): Omit<OtherIncident, 'at_local'> | null {
  if (typeof e.id !== 'string') return null;
  return { kind: 'event', type: e.type, difusor: e.id, cut: typeof e.cut === 'string' ? e.cut : null, at: e.at, summary };
}

const AUDIT_OUTCOMES: readonly string[] = ['ok', 'stale', 'tampered', 'misconfigured', 'unreachable'] satisfies AuditOutcome[];
function isAuditOutcome(value: unknown): value is AuditOutcome {
  return typeof value === 'string' && AUDIT_OUTCOMES.includes(value);
}

const OUTCOME_RANK: Record<'delivered' | 'failed' | 'skipped', number> = { skipped: 0, failed: 1, delivered: 2 };

function withdrawnCuts(events: readonly AnyEvent[]): Set<string> {
  return new Set(events.filter((e) => e.type === 'retract' && typeof e.cut === 'string').map((e) => e.cut as string));
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Math.round(value * 1000) / 1000;
}

function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
}

type OutcomeEvent = Extract<LedgerEvent, { type: 'outcome' }>;

/** The cell of one (difusor, cut) from every outcome recorded for it, in journal order. */
export function cellOf(difusor: string, cut: string, outcomes: readonly OutcomeEvent[], withdrawn: boolean): ReportCell {
  const empty: ReportCell = { difusor, cut, outcome: 'not_targeted', error_code: null, error_message: null, seconds: null, attempts: null, at: null };
  if (withdrawn) return { ...empty, outcome: 'withdrawn' };
  let best: OutcomeEvent | undefined;
  let lastFailure: OutcomeEvent | undefined;
  for (const o of outcomes) {
    if (o.outcome === 'failed') lastFailure = o;
    // The first delivery is when the difusor got it; a later failure never demotes the cell.
    if (best === undefined || OUTCOME_RANK[o.outcome] > OUTCOME_RANK[best.outcome]) best = o;
  }
  if (best === undefined) return empty;
  const failureBeforeDelivery = lastFailure !== undefined && best.outcome === 'delivered' && lastFailure.at <= best.at;
  const outcome: CellOutcome =
    best.outcome === 'delivered'
      ? failureBeforeDelivery
        ? 'late'
        : 'delivered'
      : best.outcome === 'failed'
        ? 'failed'
        : best.code === 'disabled'
          ? 'disabled'
          : 'blocked';
  const failure = outcome === 'failed' || outcome === 'late' ? lastFailure : undefined;
  const skipped = best.outcome === 'skipped';
  return {
    difusor,
    cut,
    outcome,
    error_code: failure?.code ?? null,
    error_message: failure?.message ?? null,
    seconds: skipped ? null : best.seconds,
    attempts: skipped ? null : best.attempts,
    at: best.at,
  };
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

/** The report, from the journal and the registry. Pure: same input, same report. */
export function buildIncidentReport(input: ReportInput): IncidentReport {
  const { timezone, from, to } = input;
  const events = input.events as readonly AnyEvent[] as readonly LedgerEvent[];
  const withdrawn = withdrawnCuts(input.events as readonly AnyEvent[]);

  // Cuts: every cut id the journal names (a cut event, or an outcome of a push), within the range.
  const cutInfo = new Map<string, { time: string; package: string | null }>();
  const outcomesByPair = new Map<string, OutcomeEvent[]>();
  const journalIds: string[] = [];
  for (const e of events) {
    if (e.type === 'cut') cutInfo.set(e.cut, { time: e.cutTime, package: e.package });
    if (e.type === 'outcome') {
      if (!cutInfo.has(e.cut)) cutInfo.set(e.cut, { time: timeOfCutId(e.cut, timezone), package: null });
      const key = `${e.id}\u0000${e.cut}`;
      outcomesByPair.set(key, [...(outcomesByPair.get(key) ?? []), e]);
    }
    if ('id' in e && typeof e.id === 'string' && !journalIds.includes(e.id)) journalIds.push(e.id);
  }
  const cutIds = [...cutInfo.keys()].filter((c) => inRange(c, from, to)).sort();

  // The period's time window, for events that have no cut (blocks, unblocks), on the journal's own
  // clock (a cut run with an explicit past --cut is recorded now): from when the first cut of the
  // range was recorded up to when the first cut after it was.
  const firstSeen = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'cut' && e.type !== 'outcome') continue;
    const ms = Date.parse(e.at);
    if (!(firstSeen.get(e.cut)! <= ms)) firstSeen.set(e.cut, ms);
  }
  const allCutIds = [...cutInfo.keys()].sort();
  const windowStart = from === undefined || cutIds.length === 0 ? -Infinity : Math.min(...cutIds.map((c) => firstSeen.get(c) ?? Infinity));
  const nextCut = to === undefined ? undefined : allCutIds.find((c) => c > to);
  const windowEnd = nextCut === undefined ? Infinity : firstSeen.get(nextCut)!;
  const inWindow = (iso: string) => {
    const ms = Date.parse(iso);
    return ms >= windowStart && ms < windowEnd;
  };

  const otherIncidents: OtherIncident[] = [];
  // Each difusor's audit before the event at hand, over the whole journal (not only the range).
  const lastAuditOf = new Map<string, AuditOutcome>();
  for (const e of input.events as readonly AnyEvent[]) {
    const other = INCIDENT_OF_EVENT[e.type]?.(e, { previousAudit: typeof e.id === 'string' ? (lastAuditOf.get(e.id) ?? null) : null });
    if (e.type === 'audit' && typeof e.id === 'string' && isAuditOutcome(e.outcome)) lastAuditOf.set(e.id, e.outcome);
    if (!other) continue;
    if (other.cut !== null ? !inRange(other.cut, from, to) : !inWindow(other.at)) continue;
    otherIncidents.push({ ...other, at_local: localTime(other.at, timezone) });
  }

  const registryIds = new Set(input.difusores.map((d) => d.id));
  const difusores: ReportDifusor[] = [
    ...input.difusores,
    ...journalIds.filter((id) => !registryIds.has(id)).sort().map((id) => ({ id, name: id, enabled: false })),
  ];

  const cells: ReportCell[] = [];
  const summaries: DifusorSummary[] = [];
  for (const d of difusores) {
    const row = cutIds.map((cut) => cellOf(d.id, cut, outcomesByPair.get(`${d.id}\u0000${cut}`) ?? [], withdrawn.has(cut)));
    cells.push(...row);
    const count = (...outcomes: CellOutcome[]) => row.filter((c) => outcomes.includes(c.outcome)).length;
    const deliveredSeconds = row.filter((c) => c.outcome === 'delivered' || c.outcome === 'late').map((c) => c.seconds ?? 0);
    const targeted = count('delivered', 'late', 'failed');
    const delivered = count('delivered', 'late');

    const listed: ReportIncident[] = [];
    for (const e of input.events as readonly AnyEvent[]) {
      if (e.type === 'block' || e.type === 'unblock') {
        if (e.id !== d.id || !inWindow(e.at)) continue;
        listed.push({
          kind: e.type,
          difusor: d.id,
          at: e.at,
          at_local: localTime(e.at, timezone),
          reason: typeof e.reason === 'string' ? e.reason : null,
          by: e.by === 'auto' || e.by === 'manual' ? e.by : null,
        });
        continue;
      }
    }
    listed.push(...otherIncidents.filter((i) => i.difusor === d.id));
    const incidents = [...missStreaks(row, timezone), ...listed].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

    summaries.push({
      id: d.id,
      name: d.name,
      in_registry: registryIds.has(d.id),
      enabled: d.enabled,
      targeted,
      delivered,
      delivered_late: count('late'),
      missed: count('failed'),
      skipped: count('blocked', 'disabled'),
      availability_pct: percent(delivered, targeted),
      median_seconds: median(deliveredSeconds),
      max_seconds: deliveredSeconds.length ? Math.max(...deliveredSeconds) : null,
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
      targeted: n('delivered', 'late', 'failed'),
      delivered: n('delivered', 'late'),
      failed: n('failed'),
      skipped: n('blocked', 'disabled'),
      withdrawn: withdrawn.has(id),
    };
  });

  const targeted = summaries.reduce((s, d) => s + d.targeted, 0);
  const delivered = summaries.reduce((s, d) => s + d.delivered, 0);
  return {
    institute: { short: input.institute.short, name: input.institute.name ?? input.institute.short },
    timezone,
    generated_at: new Date(input.generatedAtMs).toISOString(),
    generated_at_local: formatLocalTime(input.generatedAtMs, timezone),
    period: { from: cutIds[0] ?? from ?? null, to: cutIds[cutIds.length - 1] ?? to ?? null },
    totals: {
      cuts: cutIds.length,
      difusores: difusores.length,
      targeted,
      delivered,
      missed: summaries.reduce((s, d) => s + d.missed, 0),
      availability_pct: percent(delivered, targeted),
      blocks: summaries.reduce((s, d) => s + d.incidents.filter((i) => i.kind === 'block').length, 0),
    },
    cuts,
    difusores: summaries,
    cells,
    general: otherIncidents.filter((i) => i.difusor === null),
  };
}
