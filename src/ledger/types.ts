// The ledger's vocabulary: the journal's events (the truth, append-only) and the state derived
// from them (what `status`, planning and blocking read).
import type { FailureCode, PublishSummary } from '../delivery/types.js';

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
      /** Site mode: the release published and where `current` was left (absent: package only). */
      publish?: PublishSummary | null;
    }
  | { type: 'block'; at: string; id: string; reason: string; by: 'auto' | 'manual' }
  | { type: 'unblock'; at: string; id: string };

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
  /** Site mode: the release `current` named after the last publish that reached it. */
  currentRelease?: string | null;
}

export interface LedgerState {
  /** The newest cut id the ledger has seen (from cut events and outcomes). */
  latestCut: string | null;
  /** Keyed by difusor id; a difusor with no events yet is absent (treat as fresh). */
  difusores: Record<string, DifusorLedgerState>;
}
