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
  'SFTP_ERROR',
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

/** Failures a retry inside the same run cannot fix: retrying only delays the report. */
export const NOT_RETRYABLE: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'HOST_KEY_MISMATCH',
  'AUTH_FAILED',
  'PERMISSION_DENIED',
  'NO_SPACE',
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
}
