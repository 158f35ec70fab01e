// Where a result becomes a miss and a miss becomes a block: the ledger's state is a pure fold over
// the journal's events, so `status`, planning and blocking all read the same derivation.
import type { DifusorLedgerState, LedgerEvent, LedgerState } from './types.js';

export const EMPTY_LEDGER_STATE: LedgerState = Object.freeze({ latestCut: null, difusores: {} }) as LedgerState;

/** The state of a difusor the ledger has never heard of: active, nothing missed, nothing delivered. */
export function freshDifusorState(id: string): DifusorLedgerState {
  return { id, missedCuts: [], consecutiveMisses: 0, lastDeliveredCut: null, lastError: null, blocked: null };
}

/** A difusor's state, or a fresh one when the ledger has no events for it yet. */
export function difusorState(state: LedgerState, id: string): DifusorLedgerState {
  return state.difusores[id] ?? freshDifusorState(id);
}

// Cut ids are `YYYYMMDD_HHmm`: fixed width, so string order is time order.
function laterCut(a: string | null, b: string): string {
  return a === null || b > a ? b : a;
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
      return { ...state, latestCut: laterCut(state.latestCut, event.cut) };

    case 'outcome': {
      const latestCut = laterCut(state.latestCut, event.cut);
      const before = withCurrentRelease(difusorState(state, event.id), event);
      const seen = { ...state, latestCut };
      if (event.outcome === 'delivered') {
        const delivered = { ...before, lastDeliveredCut: laterCut(before.lastDeliveredCut, event.cut) };
        // Only having the newest cut means the difusor is up to date; catching up on an older cut
        // (a late re-push) leaves the newer misses standing.
        const isLatest = event.cut >= latestCut;
        return withDifusor(seen, isLatest ? { ...delivered, missedCuts: [], consecutiveMisses: 0 } : delivered);
      }
      if (event.outcome === 'failed') {
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
