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
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

/** Failures a retry inside the same run cannot fix: retrying only delays the report. */
export const NOT_RETRYABLE: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'HOST_KEY_MISMATCH',
  'AUTH_FAILED',
  'PERMISSION_DENIED',
  'NO_SPACE',
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
}
