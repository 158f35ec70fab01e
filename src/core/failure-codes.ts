// The contract's failure codes: the words a result, the journal, the report and the e-mails share.

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
