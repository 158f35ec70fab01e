// Where a result becomes a miss and a miss becomes a block: the ledger's state is a pure fold over
// the journal's events, so `status`, planning and blocking all read the same derivation.
import type { DifusorLedgerState, LedgerEvent, LedgerState } from './types.js';

export const EMPTY_LEDGER_STATE: LedgerState = Object.freeze({ latestCut: null, cuts: [], withdrawn: {}, difusores: {} }) as LedgerState;

/** The state of a difusor the ledger has never heard of: active, nothing missed, nothing delivered. */
export function freshDifusorState(id: string): DifusorLedgerState {
  return { id, missedCuts: [], consecutiveMisses: 0, lastDeliveredCut: null, deliveredCuts: [], lastError: null, blocked: null };
}

/** A difusor's state, or a fresh one when the ledger has no events for it yet. */
export function difusorState(state: LedgerState, id: string): DifusorLedgerState {
  return state.difusores[id] ?? freshDifusorState(id);
}

// Cut ids are `YYYYMMDD_HHmm`: fixed width, so string order is time order.
function laterCut(a: string | null, b: string): string {
  return a === null || b > a ? b : a;
}

/** `cuts` with `cut` added, kept ascending and unique. */
function withCut(cuts: string[], cut: string): string[] {
  if (cuts.includes(cut)) return cuts;
  return [...cuts, cut].sort();
}

/** The newest of `cuts` not withdrawn. */
function newestNotWithdrawn(cuts: readonly string[], withdrawn: LedgerState['withdrawn']): string | null {
  for (let i = cuts.length - 1; i >= 0; i -= 1) if (!(cuts[i] in withdrawn)) return cuts[i];
  return null;
}

/** The ledger having seen `cut`: in `cuts`, and the latest cut when it is the newest not withdrawn. */
function seeing(state: LedgerState, cut: string): LedgerState {
  const cuts = withCut(state.cuts, cut);
  return { ...state, cuts, latestCut: newestNotWithdrawn(cuts, state.withdrawn) };
}

/**
 * The cut whose package `LATEST` (and, in site mode, `current`) must name at every difusor: the
 * newest cut not withdrawn. Normally that only moves forward; after `retract` it moves back, the
 * one case a delivery may replace a LATEST that names a newer cut.
 */
export function cutLatestMustName(state: LedgerState): string | null {
  return state.latestCut;
}

/** Whether `cut` was withdrawn by `retract`. */
export function isWithdrawn(state: LedgerState, cut: string): boolean {
  return cut in state.withdrawn;
}

function withDifusor(state: LedgerState, next: DifusorLedgerState): LedgerState {
  return { ...state, difusores: { ...state.difusores, [next.id]: next } };
}

/** Site mode: an outcome that says where `current` was left updates it (delivered or not). */
function withCurrentRelease(before: DifusorLedgerState, event: Extract<LedgerEvent, { type: 'outcome' }>): DifusorLedgerState {
  const current = event.publish?.current;
  return current === undefined ? before : { ...before, currentRelease: current };
}

/** One event's effect on the ledger. Never mutates its inputs. */
export function applyEvent(state: LedgerState, event: LedgerEvent): LedgerState {
  switch (event.type) {
    case 'cut':
      return seeing(state, event.cut);

    case 'outcome': {
      const seen = seeing(state, event.cut);
      const latestCut = seen.latestCut ?? event.cut;
      const before = withCurrentRelease(difusorState(state, event.id), event);
      const withdrawn = isWithdrawn(state, event.cut);
      if (event.outcome === 'delivered') {
        const deliveredCuts = withCut(before.deliveredCuts, event.cut);
        // A withdrawn cut counts for nobody: having it is not being up to date.
        if (withdrawn) return withDifusor(seen, { ...before, deliveredCuts });
        const delivered = { ...before, deliveredCuts, lastDeliveredCut: laterCut(before.lastDeliveredCut, event.cut) };
        // Only having the newest cut means the difusor is up to date; catching up on an older cut
        // (a late re-push) leaves the newer misses standing.
        // Under audit.counts_as_miss, the audit that follows decides (see the 'audit' case).
        const isLatest = event.cut >= latestCut && event.auditPending !== true;
        return withDifusor(seen, isLatest ? { ...delivered, missedCuts: [], consecutiveMisses: 0 } : delivered);
      }
      if (event.outcome === 'failed') {
        // Missing a withdrawn cut is no miss.
        if (withdrawn) return seen;
        const lastError = {
          cut: event.cut,
          code: event.code ?? 'UNKNOWN',
          message: event.message ?? '',
          at: event.at,
        };
        // A cut counts once however many pushes of it fail, and a difusor that already has this
        // cut or a newer one did not miss it.
        const alreadyCounted = before.missedCuts.includes(event.cut);
        const alreadyHasIt = before.lastDeliveredCut !== null && event.cut <= before.lastDeliveredCut;
        const missedCuts = alreadyCounted || alreadyHasIt ? before.missedCuts : [...before.missedCuts, event.cut];
        return withDifusor(seen, { ...before, lastError, missedCuts, consecutiveMisses: missedCuts.length });
      }
      // Skipped (blocked or disabled): the difusor was not targeted, so nothing was missed.
      return seen;
    }

    case 'block': {
      const before = difusorState(state, event.id);
      return withDifusor(state, { ...before, blocked: { reason: event.reason, at: event.at, by: event.by } });
    }

    case 'unblock': {
      const before = difusorState(state, event.id);
      return withDifusor(state, { ...before, blocked: null, missedCuts: [], consecutiveMisses: 0 });
    }

    // Notifications and notices are what the institute did about a state, not the state itself.
    case 'notify_queued':
    case 'notify_attempt':
    case 'notify_sent':
    case 'notify_failed':
    case 'notice_placed':
    case 'notice_failed':
      return state;
    case 'retract': {
      // The cut stops being the newest and counts for nobody: its misses are forgiven, and a
      // difusor's last delivered cut falls back to the newest other one it has.
      const withdrawn = { ...state.withdrawn, [event.cut]: { reason: event.reason, at: event.at } };
      const cuts = withCut(state.cuts, event.cut);
      const difusores: LedgerState['difusores'] = {};
      for (const [id, d] of Object.entries(state.difusores)) {
        const missedCuts = d.missedCuts.filter((c) => c !== event.cut);
        const kept = d.deliveredCuts.filter((c) => !(c in withdrawn));
        const lastError = d.lastError?.cut === event.cut ? null : d.lastError;
        difusores[id] = { ...d, missedCuts, consecutiveMisses: missedCuts.length, lastDeliveredCut: kept[kept.length - 1] ?? null, lastError };
      }
      return { cuts, withdrawn, latestCut: newestNotWithdrawn(cuts, withdrawn), difusores };
    }
    case 'audit': {
      const before = difusorState(state, event.id);
      const lastAudit = { outcome: event.outcome, servedCut: event.servedCut, expectedCut: event.expectedCut, at: event.at };
      // Under audit.counts_as_miss a cut delivered over SFTP but not served to the public is missed
      // (once per cut, like a failed delivery); a plain audit never counts.
      const cut = event.expectedCut;
      if (!event.countsAsMiss && event.settlesDelivery === true && cut !== null && state.latestCut !== null && cut >= state.latestCut) {
        return withDifusor(state, { ...before, lastAudit, missedCuts: [], consecutiveMisses: 0 });
      }
      if (!event.countsAsMiss || cut === null || before.missedCuts.includes(cut)) return withDifusor(state, { ...before, lastAudit });
      const missedCuts = [...before.missedCuts, cut];
      return withDifusor(state, { ...before, lastAudit, missedCuts, consecutiveMisses: missedCuts.length });
    }
  }
}

/** The ledger's state after every event, in journal order. */
export function deriveLedgerState(events: readonly LedgerEvent[]): LedgerState {
  return events.reduce(applyEvent, EMPTY_LEDGER_STATE);
}

/**
 * Whether a difusor must now be blocked, and why. Blocking is never implied by the counts: the
 * orchestrator journals a 'block' event with this reason, so `status` and `unblock` see one truth.
 */
export function autoBlockReason(state: DifusorLedgerState | undefined, blockAfterMisses: number): string | null {
  if (state === undefined || state.blocked !== null) return null;
  // Nothing missed never blocks, whatever the threshold.
  if (state.consecutiveMisses === 0 || state.consecutiveMisses < blockAfterMisses) return null;
  return `auto: missed ${state.consecutiveMisses} consecutive cuts`;
}
