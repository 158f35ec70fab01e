// The vocabulary of delivery: per-difusor results, which failures a retry can fix, and fallbacks.
import type { FailureCode } from '../core/failure-codes.js';
import type { PublishSummary } from '../ledger/types.js';
import type { DeliveryFallback } from '../sftp/atomic-upload.js';


/** Failures a retry inside the same run cannot fix: retrying only delays the report. */
export const NOT_RETRYABLE: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'HOST_KEY_MISMATCH',
  'AUTH_FAILED',
  'PERMISSION_DENIED',
  'NO_SPACE',
  'REMOTE_DIR_MISSING',
  'ROLLBACK_REFUSED',
]);

export interface DeliveryFailure {
  code: FailureCode;
  /** Names the difusor, host:port, what failed, and what to do. */
  message: string;
}

export type DeliveryOutcome = 'delivered' | 'failed';

export interface DeliveryResult {
  id: string;
  outcome: DeliveryOutcome;
  error: DeliveryFailure | null;
  /** Wall time of the whole delivery, all attempts. */
  seconds: number;
  attempts: number;
  /** Bytes of the package uploaded by the successful attempt (0 when failed). */
  bytes: number;
  /**
   * Safeguards the server lacked and what was done instead (DELIVERY_FALLBACKS), so a weaker
   * delivery is never silent. Absent or empty: every file was flushed and renamed atomically.
   */
  fallbacks?: DeliveryFallback[];
  /** Site mode: what the release cost and where `current` is (null for a package-only difusor). */
  publish?: PublishSummary | null;
}
