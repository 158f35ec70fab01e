// What each difusor's public portal showed over wall-clock time, from the journal alone: results up
// to date, results behind the newest cut, blocked, or the suspension notice. Pure folds over events,
// shared by the report's picture per difusor and by `status` (is a notice up, since when).
import type { LedgerEvent } from '../ledger/types.js';

/**
 * `current`: it holds the newest cut due to it; `failing`: a newer cut was due and it does not have
 * it; `blocked`: blocked, its notice not in place yet; `notice`: the notice is what its portal shows;
 * `none`: nothing to say (before its first cut, or disabled).
 */
export type PortalState = 'current' | 'failing' | 'blocked' | 'notice' | 'none';
export const PORTAL_STATES: readonly PortalState[] = ['current', 'failing', 'notice', 'blocked', 'none'];

export interface PortalSegment {
  state: PortalState;
  /** UTC ISO. */
  from: string;
  to: string;
}

export interface NoticeInPlace {
  /** The notice release (site mode) or package the difusor was given. */
  release: string;
  /** When it was placed (UTC ISO, as journaled). */
  since: string;
  /** The cut whose run placed it. */
  cut: string | null;
}

/**
 * Per difusor, the notice its portal shows now: placed, and no results delivered since. An unblock
 * alone leaves it up: only the next delivery of results replaces it.
 */
export function noticesInPlace(events: readonly LedgerEvent[]): Map<string, NoticeInPlace> {
  const up = new Map<string, NoticeInPlace>();
  for (const e of events) {
    if (e.type === 'notice_placed') up.set(e.id, { release: e.release, since: e.at, cut: e.cut });
    else if (e.type === 'outcome' && e.outcome === 'delivered') up.delete(e.id);
  }
  return up;
}

export interface TimelineInput {
  events: readonly LedgerEvent[];
  difusor: string;
  /** Whether a cut counts (not withdrawn, not a drill): only these make a portal current or behind. */
  counts: (cut: string) => boolean;
  fromMs: number;
  toMs: number;
}

interface Fact {
  ms: number;
  order: number;
  apply: (s: SweepState) => void;
}

interface SweepState {
  seen: boolean;
  disabled: boolean;
  blocked: boolean;
  notice: boolean;
  latestDue: string | null;
  newestDelivered: string | null;
}

function stateOf(s: SweepState): PortalState {
  if (s.blocked) return s.notice ? 'notice' : 'blocked';
  if (s.notice) return 'notice';
  if (!s.seen || s.disabled || s.latestDue === null) return 'none';
  return s.newestDelivered !== null && s.newestDelivered >= s.latestDue ? 'current' : 'failing';
}

const later = (a: string | null, b: string): string => (a === null || b > a ? b : a);

/**
 * The difusor's portal from `fromMs` to `toMs` as consecutive segments. A cut becomes due to it when
 * its own first outcome for that cut was recorded (the delivery's end, so a delivered cut never shows
 * as a failure while in flight), or when the cut was recorded if it got no outcome (a cut run with
 * `--only` that left it out): from then until it holds that cut or a newer one, it is behind.
 */
export function portalTimeline(input: TimelineInput): PortalSegment[] {
  const { events, difusor, counts, fromMs, toMs } = input;
  const firstSeen = new Map<string, { ms: number; order: number }>();
  const firstOutcome = new Map<string, { ms: number; order: number }>();
  const facts: Fact[] = [];
  events.forEach((e, order) => {
    const ms = Date.parse(e.at);
    if (Number.isNaN(ms)) return;
    if ((e.type === 'cut' || e.type === 'outcome') && !firstSeen.has(e.cut)) firstSeen.set(e.cut, { ms, order });
    if (e.type === 'outcome' && e.id === difusor) {
      if (!firstOutcome.has(e.cut)) firstOutcome.set(e.cut, { ms, order });
      const disabled = e.outcome === 'skipped' && e.code === 'disabled';
      facts.push({
        ms,
        order,
        apply: (s) => {
          s.seen = true;
          s.disabled = disabled;
          if (e.outcome !== 'delivered') return;
          s.notice = false; // results replace the notice, whatever the cut
          if (counts(e.cut)) s.newestDelivered = later(s.newestDelivered, e.cut);
        },
      });
    } else if (e.type === 'block' && e.id === difusor) {
      facts.push({ ms, order, apply: (s) => void (s.blocked = true) });
    } else if (e.type === 'unblock' && e.id === difusor) {
      facts.push({ ms, order, apply: (s) => void (s.blocked = false) });
    } else if (e.type === 'notice_placed' && e.id === difusor) {
      facts.push({ ms, order, apply: (s) => void (s.notice = true) });
    }
  });
  for (const [cut, seen] of firstSeen) {
    if (!counts(cut)) continue;
    // Applied before the outcome recorded at the same instant, so a delivery lands on a due cut.
    const due = firstOutcome.get(cut) ?? seen;
    facts.push({ ms: due.ms, order: due.order - 0.5, apply: (s) => void (s.latestDue = later(s.latestDue, cut)) });
  }
  facts.sort((a, b) => a.ms - b.ms || a.order - b.order);

  const sweep: SweepState = { seen: false, disabled: false, blocked: false, notice: false, latestDue: null, newestDelivered: null };
  const segments: PortalSegment[] = [];
  let state: PortalState = 'none';
  let since = fromMs;
  const close = (until: number) => {
    if (until <= since) return;
    const last = segments[segments.length - 1];
    if (last && last.state === state) last.to = new Date(until).toISOString();
    else segments.push({ state, from: new Date(since).toISOString(), to: new Date(until).toISOString() });
  };
  for (let i = 0; i < facts.length; ) {
    const ms = facts[i].ms;
    if (ms >= toMs) break;
    while (i < facts.length && facts[i].ms === ms) facts[i++].apply(sweep);
    const next = stateOf(sweep);
    if (next === state) continue;
    if (ms > fromMs) {
      close(ms);
      since = ms;
    }
    state = next;
  }
  close(toMs);
  return segments;
}

/** The share of [fromMs, toMs] each state took, in percent with one decimal (they may not add to exactly 100). */
export function timeShares(segments: readonly PortalSegment[], fromMs: number, toMs: number): Record<PortalState, number> {
  const shares = Object.fromEntries(PORTAL_STATES.map((s) => [s, 0])) as Record<PortalState, number>;
  const whole = toMs - fromMs;
  if (whole <= 0) return shares;
  for (const s of segments) shares[s.state] += Date.parse(s.to) - Date.parse(s.from);
  for (const s of PORTAL_STATES) shares[s] = Math.round((shares[s] / whole) * 1000) / 10;
  return shares;
}
