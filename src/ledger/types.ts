// The ledger's vocabulary: the journal's events (the truth, append-only) and the state derived
// from them (what `status`, planning and blocking read).
// The journal owns the shape of everything it stores (results, publish summaries, audits,
// notifications), so the ledger imports nothing above it.
import type { FailureCode } from '../core/failure-codes.js';
import type { Notification, NotifyChannelName } from './notification.js';

/** What `audit` found at a difusor's public site (contract's precedence: unreachable > stale > tampered > misconfigured > ok). */
export type AuditOutcome = 'ok' | 'stale' | 'tampered' | 'misconfigured' | 'unreachable';

/** The contract's `publish` object of a result (snake_case, as `--json` prints it). */
export interface PublishSummary {
  /** `link+rename` (hard links + one atomic rename) or a documented fallback; see README. */
  mode: string;
  /** The release directory's name under `releases/`. */
  release: string;
  uploaded_files: number;
  linked_files: number;
  bytes_uploaded: number;
  /** The release `current` names after the run (the published one, or unchanged when refused). */
  current: string | null;
  /** SHA-256 of the release's MANIFEST.json: how a later run recognises it on the difusor. */
  manifest_sha256: string;
  /** Session operations this release took (an upload, open+write+close on the wire, counts as one): for the benchmark. */
  sftp_operations: number;
  /** Files left in place in a recycled release (mode `recycle+…`); 0 otherwise. */
  kept_files?: number;
  /** The old release recycled into this one (it is gone from the difusor), or null. */
  recycled_from?: string | null;
}

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
      /** A drill (`--drill`, before the publication window): reported apart, counts for no availability. */
      drill?: boolean;
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
      /** Site mode: the release published and where `current` was left (absent: package only). */
      publish?: PublishSummary | null;
    }
  | {
      type: 'block';
      at: string;
      id: string;
      /** Internal: the ledger, the report and the institute's e-mail; never the public notice. */
      reason: string;
      by: 'auto' | 'manual';
      /** `block --public-reason`: what the notice tells the public (absent: a Spanish default per cause). */
      publicReason?: string;
    }
  | { type: 'unblock'; at: string; id: string }
  // The notifications outbox (src/notify): `key` is `event:difusor:cut`, unique per notification.
  // queued → attempt → sent | failed; an attempt with no result (a killed run) is in doubt and is
  // not sent again, so nothing goes out twice on a channel.
  | { type: 'notify_queued'; at: string; key: string; channel: NotifyChannelName; notification: Notification }
  | { type: 'notify_attempt'; at: string; key: string; channel: NotifyChannelName }
  | { type: 'notify_sent'; at: string; key: string; channel: NotifyChannelName; detail: string | null }
  | { type: 'notify_failed'; at: string; key: string; channel: NotifyChannelName; error: string }
  // The notice on a blocked difusor's portal (src/notice): placed once per block, retried each run until then.
  | { type: 'notice_placed'; at: string; id: string; cut: string | null; release: string }
  | { type: 'notice_failed'; at: string; id: string; cut: string | null; error: string }
  /** `retract CUT --reason TEXT`: a cut published by mistake; it counts for nobody from then on. */
  | { type: 'retract'; at: string; cut: string; reason: string }
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
      /** Files of servedCut the site served altered or not at all: site mode never reuses them there. */
      altered?: string[];
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
  /** The newest delivered cut that was not withdrawn. */
  lastDeliveredCut: string | null;
  /** Every cut delivered to it (ascending), withdrawn ones included: the fallback after a retract. */
  deliveredCuts: string[];
  lastError: LastError | null;
  blocked: { reason: string; at: string; by: 'auto' | 'manual' } | null;
  /** The newest audit of its public site; absent or null: never audited. */
  lastAudit?: LastAudit | null;
  /** Site mode: the release `current` named after the last publish that reached it. */
  currentRelease?: string | null;
}

export interface LedgerState {
  /** The newest cut id the ledger has seen (from cut events and outcomes) that was not withdrawn. */
  latestCut: string | null;
  /** Every cut id seen, ascending. */
  cuts: string[];
  /** Cuts withdrawn by `retract`, with why and when. */
  withdrawn: Record<string, { reason: string; at: string }>;
  /** Keyed by difusor id; a difusor with no events yet is absent (treat as fresh). */
  difusores: Record<string, DifusorLedgerState>;
}
