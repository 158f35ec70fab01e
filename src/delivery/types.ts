// The vocabulary of delivery: per-difusor results and the contract's failure codes.

export const FAILURE_CODES = [
  'HOST_KEY_MISMATCH',
  'AUTH_FAILED',
  'CONNECT_REFUSED',
  'CONNECT_TIMEOUT',
  'HOST_UNREACHABLE',
  'PERMISSION_DENIED',
  'NO_SPACE',
  'CONNECTION_LOST',
  'TRANSFER_TIMEOUT',
  'VERIFY_FAILED',
  'ROLLBACK_REFUSED',
  'SFTP_ERROR',
  'REMOTE_DIR_MISSING',
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

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

/** What a delivery did where the server lacks an OpenSSH extension. */
export const DELIVERY_FALLBACKS = {
  /** No fsync@openssh.com: files renamed into place without being flushed to their disk first. */
  'no-fsync': 'no fsync@openssh.com: files not flushed to the server\'s disk before the rename',
  /** No posix-rename@openssh.com: the old file is removed, then the new one renamed (a short window without it). */
  'no-posix-rename': 'no posix-rename@openssh.com: remove then rename (a moment without the file, never a partial one)',
} as const;

export type DeliveryFallback = keyof typeof DELIVERY_FALLBACKS;
