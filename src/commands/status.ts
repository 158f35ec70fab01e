// `status`: every difusor's state from the ledger, read without the lock (the journal is append-only).
import { systemClock, type Clock } from '../core/clock.js';
import { cutFromId } from '../core/cut.js';
import { readJournal } from '../ledger/journal.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { LedgerEvent } from '../ledger/types.js';
import type { Registry } from '../registry/types.js';
import { noticesDue } from '../notice/decide.js';
import { outboxEntries, unsentEntries } from '../notify/outbox.js';
import { noticesInPlace } from '../report/timeline.js';

/** A notification not sent yet on one channel: queued, failed (retried next run) or in doubt (never resent). */
export interface PendingNotification {
  event: string;
  difusor: string;
  cut: string | null;
  channel: string;
  status: 'queued' | 'failed' | 'in_doubt';
  attempts: number;
  last_error: string | null;
  queued_at: string;
}

export interface DifusorStatus {
  id: string;
  name: string;
  state: 'active' | 'blocked' | 'disabled';
  consecutive_misses: number;
  /** The newest delivered cut that was not withdrawn. */
  last_delivered_cut: string | null;
  blocked_reason: string | null;
  /** When the block was recorded (ISO 8601 UTC, as journaled). */
  blocked_since: string | null;
  last_error: { cut: string; code: string; message: string; at: string } | null;
  /** The newest audit of its public site (`audit`, `cut --audit`); null: never audited. */
  last_audit: { outcome: string; served_cut: string | null; expected_cut: string | null; time: string } | null;
  /** Site mode: the release its `current` names, as the last publish that reached it left it. */
  current_release: string | null;
  /**
   * The suspension notice its portal shows now (placed, and no results delivered since; an unblock
   * alone leaves it up), or null. While it is up, the public reads the notice, not `current_release`.
   */
  notice: { release: string; since: string; cut: string | null } | null;
}

export interface WithdrawnCut {
  cut: string;
  reason: string;
  /** When `retract` was recorded (ISO 8601 UTC, as journaled). */
  at: string;
}

export interface StatusReport {
  /** The newest cut not withdrawn. */
  latest_cut: string | null;
  /** Its time (ISO 8601 with the registry timezone's offset), or null. */
  latest_cut_time: string | null;
  /** Seconds from its time to now: how old the newest results are. Null without cuts. */
  latest_cut_age_seconds: number | null;
  withdrawn_cuts: WithdrawnCut[];
  difusores: DifusorStatus[];
  warnings: string[];
  pending_notifications: PendingNotification[];
  /** Blocked difusores whose notice is not in place yet (placed by the next cut or push). */
  notices_pending: string[];
}

/** The time of a cut, from its cut event, else from its id. */
function cutTimeOf(events: readonly LedgerEvent[], cut: string, timezone: string): string | null {
  const recorded = events.find((e): e is Extract<LedgerEvent, { type: 'cut' }> => e.type === 'cut' && e.cut === cut);
  if (recorded) return recorded.cutTime;
  try {
    return cutFromId(cut, timezone).time;
  } catch {
    return null;
  }
}

export async function status(registry: Registry, stateDir: string, clock: Clock = systemClock): Promise<StatusReport> {
  const { events, warnings } = await readJournal(stateDir);
  const ledger = deriveLedgerState(events);
  const notices = noticesInPlace(events);
  const latestTime = ledger.latestCut === null ? null : cutTimeOf(events, ledger.latestCut, registry.timezone);
  const latestMs = latestTime === null ? NaN : Date.parse(latestTime);
  return {
    latest_cut: ledger.latestCut,
    latest_cut_time: latestTime,
    latest_cut_age_seconds: Number.isNaN(latestMs) ? null : Math.max(0, Math.round((clock.now() - latestMs) / 1000)),
    withdrawn_cuts: Object.entries(ledger.withdrawn).map(([cut, w]) => ({ cut, reason: w.reason, at: w.at })),
    warnings,
    pending_notifications: unsentEntries(outboxEntries(events)).map((e) => ({
      event: e.notification.event,
      difusor: e.notification.difusor.id,
      cut: e.notification.cut,
      channel: e.channel,
      status: e.status as PendingNotification['status'],
      attempts: e.attempts,
      last_error: e.lastError,
      queued_at: e.queuedAt,
    })),
    notices_pending: noticesDue(registry.difusores, events).map((n) => n.difusor.id),
    difusores: registry.difusores.map((d) => {
      const s = ledger.difusores[d.id];
      const state = !d.enabled ? 'disabled' : s?.blocked ? 'blocked' : 'active';
      return {
        id: d.id,
        name: d.name,
        state,
        consecutive_misses: s?.consecutiveMisses ?? 0,
        last_delivered_cut: s?.lastDeliveredCut ?? null,
        blocked_reason: s?.blocked?.reason ?? null,
        blocked_since: s?.blocked?.at ?? null,
        last_error: s?.lastError ?? null,
        last_audit: s?.lastAudit
          ? { outcome: s.lastAudit.outcome, served_cut: s.lastAudit.servedCut, expected_cut: s.lastAudit.expectedCut, time: s.lastAudit.at }
          : null,
        current_release: s?.currentRelease ?? null,
        notice: notices.get(d.id) ?? null,
      };
    }),
  };
}
