// The ledger's vocabulary: the journal's events (the truth, append-only) and the state derived
// from them (what `status`, planning and blocking read).
import type { AuditOutcome } from '../audit/model.js';
import type { FailureCode } from '../delivery/types.js';

export type RecordedOutcome = 'delivered' | 'failed' | 'skipped';

/** Every journal line is one of these, as JSON. `at` is ISO 8601 UTC wall time. */
export type LedgerEvent =
  | {
      type: 'cut';
      at: string;
      /** Cut id, YYYYMMDD_HHmm. */
      cut: string;
      cutTime: string;
      package: string;
      sha256: string;
    }
  | {
      type: 'outcome';
      at: string;
      cut: string;
      id: string;
      outcome: RecordedOutcome;
      /** For failed: the contract's code; for skipped: why ('blocked' | 'disabled'). */
      code: FailureCode | 'blocked' | 'disabled' | null;
      message: string | null;
      /** Which command produced it. */
      via: 'cut' | 'push';
      seconds: number;
      attempts: number;
      /**
       * `cut --audit` under `audit.counts_as_miss`: this delivery counts only once the audit that
       * follows it (an 'audit' event with settlesDelivery) shows the site serving the cut.
       */
      auditPending?: boolean;
    }
  | { type: 'block'; at: string; id: string; reason: string; by: 'auto' | 'manual' }
  | { type: 'unblock'; at: string; id: string }
  | {
      /** A check of the difusor's public site (`audit`, or `cut --audit` / `push --audit` after its delivery). */
      type: 'audit';
      at: string;
      id: string;
      outcome: AuditOutcome;
      servedCut: string | null;
      /** The newest cut delivered to it when audited. */
      expectedCut: string | null;
      problems: string[];
      via: 'audit' | 'cut' | 'push';
      /** `audit.counts_as_miss` made this audit a miss of expectedCut. */
      countsAsMiss: boolean;
      /** It follows a delivery recorded with auditPending: when not a miss, that delivery now counts. */
      settlesDelivery?: boolean;
    };

export interface LastAudit {
  outcome: AuditOutcome;
  servedCut: string | null;
  expectedCut: string | null;
  at: string;
}

export interface LastError {
  cut: string;
  code: string;
  message: string;
  at: string;
}

export interface DifusorLedgerState {
  id: string;
  /** Distinct cut ids missed since the last delivery of the latest cut (or unblock). */
  missedCuts: string[];
  consecutiveMisses: number;
  lastDeliveredCut: string | null;
  lastError: LastError | null;
  blocked: { reason: string; at: string; by: 'auto' | 'manual' } | null;
  /** The newest audit of its public site; absent or null: never audited. */
  lastAudit?: LastAudit | null;
}

export interface LedgerState {
  /** The newest cut id the ledger has seen (from cut events and outcomes). */
  latestCut: string | null;
  /** Keyed by difusor id; a difusor with no events yet is absent (treat as fresh). */
  difusores: Record<string, DifusorLedgerState>;
}
