// Turns whatever went wrong talking to a difusor (a socket error, an ssh2 error, an SFTP status)
// into one of the contract's failure codes and a message an operator can act on. Pure: no I/O.
import type { FailureCode } from '../core/failure-codes.js';
import {
  SFTP_CONNECTION_LOST,
  SFTP_FAILURE,
  SFTP_NO_CONNECTION,
  SFTP_NO_SPACE_ON_FILESYSTEM,
  SFTP_PERMISSION_DENIED,
  SFTP_QUOTA_EXCEEDED,
} from './status-codes.js';

/** A failure whose code is already known (the host-key check, a deadline, a size mismatch). */
export class DeliveryError extends Error {
  readonly code: FailureCode;
  /** What to do, when it is more precise than the code's usual hint (HINT_OF_CODE). */
  readonly hint: string | undefined;

  constructor(code: FailureCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeliveryError';
    this.code = code;
    this.hint = options.hint;
  }
}

export function isDeliveryError(value: unknown): value is DeliveryError {
  return value instanceof DeliveryError;
}

/** Where the failure happened: before the session was ready, or while using it. */
export type DeliveryStage = 'connect' | 'transfer';

export interface ClassifyContext {
  stage: DeliveryStage;
  /**
   * Free bytes in the remote dir measured (statvfs) right after a failed write, and the bytes the
   * write needed. OpenSSH's sftp-server reports ENOSPC as a bare FAILURE ("Failure"), so this is
   * the only way to tell a full disk from other write failures against a real server.
   */
  freeBytesAfterFailure?: number;
  bytesNeeded?: number;
}


const UNREACHABLE_ERRNOS = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const LOST_ERRNOS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED']);
// OpenSSH says "No space left on device" (v5+ status texts), ProFTPD under SFTP v3 "Out of disk space".
const NO_SPACE_TEXT = /no space|out of (?:disk )?space|quota|disk full/i;
const LOST_TEXT =
  /no response from server|connection lost|socket (?:closed|hang up)|keepalive timeout|not connected|channel (?:closed|open failure)|unexpected disconnect/i;

interface ErrorShape {
  message: string;
  code?: string | number;
  level?: string;
}

function shapeOf(error: unknown): ErrorShape {
  // Duck-typed, not `instanceof Error`: errors made by Node's core (net, dns) belong to another
  // realm under test runners such as jest's vm sandbox.
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    const { message, code, level } = error as { message: string; code?: unknown; level?: unknown };
    return {
      message,
      code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
      level: typeof level === 'string' ? level : undefined,
    };
  }
  return { message: String(error) };
}

/**
 * The failure code for an error seen while delivering. Errors that already carry a code
 * (DeliveryError) keep it; everything else is read from the shapes ssh2 and Node produce
 * (see tests/unit/delivery-classify.test.ts for the real shapes this was written from).
 */
export function classifyError(error: unknown, context: ClassifyContext): FailureCode {
  if (isDeliveryError(error)) return error.code;
  const { message, code, level } = shapeOf(error);

  if (code === 'ECONNREFUSED') return 'CONNECT_REFUSED';
  if (typeof code === 'string' && UNREACHABLE_ERRNOS.has(code)) return 'HOST_UNREACHABLE';
  if (code === 'ETIMEDOUT') return context.stage === 'connect' ? 'CONNECT_TIMEOUT' : 'CONNECTION_LOST';
  if (level === 'client-dns') return 'HOST_UNREACHABLE';
  if (level === 'client-authentication' || level === 'agent' || /authentication methods failed/i.test(message)) {
    return 'AUTH_FAILED';
  }
  if (/cannot parse privatekey|encrypted private .*key|bad passphrase|no passphrase/i.test(message)) return 'AUTH_FAILED';
  if (/host denied/i.test(message)) return 'HOST_KEY_MISMATCH';
  if (level === 'client-timeout' && /handshake/i.test(message)) return 'CONNECT_TIMEOUT';

  if (code === SFTP_PERMISSION_DENIED) return 'PERMISSION_DENIED';
  if (code === SFTP_NO_SPACE_ON_FILESYSTEM || code === SFTP_QUOTA_EXCEEDED) return 'NO_SPACE';
  if (code === SFTP_FAILURE) {
    if (NO_SPACE_TEXT.test(message)) return 'NO_SPACE';
    const { freeBytesAfterFailure, bytesNeeded } = context;
    if (freeBytesAfterFailure !== undefined && bytesNeeded !== undefined && freeBytesAfterFailure < bytesNeeded) {
      return 'NO_SPACE';
    }
    return 'SFTP_ERROR';
  }
  if (code === SFTP_NO_CONNECTION || code === SFTP_CONNECTION_LOST) return 'CONNECTION_LOST';

  if (typeof code === 'string' && LOST_ERRNOS.has(code)) return 'CONNECTION_LOST';
  if (LOST_TEXT.test(message) || /before handshake/i.test(message)) return 'CONNECTION_LOST';
  if (level === 'client-timeout') return 'CONNECTION_LOST';
  if (NO_SPACE_TEXT.test(message)) return 'NO_SPACE';
  return 'SFTP_ERROR';
}

/** The difusor as messages name it. */
export interface FailureTarget {
  id: string;
  host: string;
  port: number;
}

/** What an operator should do about each failure, one clause. */
export const HINT_OF_CODE: Record<FailureCode, string> = {
  HOST_KEY_MISMATCH: 'confirm the new fingerprint with them (out of band) and update host_key',
  AUTH_FAILED: 'check username and credentials in the registry, and ask them to confirm our public key is installed',
  CONNECT_REFUSED: 'nothing listens on that port: check host and port with them, or whether their SSH service is down',
  CONNECT_TIMEOUT: 'the server did not answer in time: check host, port and firewalls with them',
  HOST_UNREACHABLE: 'check the host name/address and this machine\'s network and DNS',
  PERMISSION_DENIED: 'ask them to let our user write to remote_dir, or fix remote_dir',
  NO_SPACE: 'their disk or quota is full: ask them to free space',
  CONNECTION_LOST: 'the connection dropped: re-push later with `prep-push push --failed`',
  TRANSFER_TIMEOUT: 'check their link and server with them, or raise transfer_timeout_s if the package has grown',
  VERIFY_FAILED: 'the uploaded size differs from the package: re-push, and ask them to check their disk',
  ROLLBACK_REFUSED: 'to move their site back to this older cut on purpose, re-push it with `prep-push push --cut CUT --allow-rollback`',
  SFTP_ERROR: 'the server refused an SFTP operation: check remote_dir with them',
  REMOTE_DIR_MISSING:
    'prep-push never creates remote_dir: ask them to create it for our user, or fix remote_dir; on a chrooted account write the path as the jail shows it (e.g. /prep, not /home/iem/prep)',
};

/** SFTP status codes that can mean a full disk or quota, for which free space is worth measuring. */
export function mayBeNoSpace(error: unknown): boolean {
  const { code } = shapeOf(error);
  return code === SFTP_FAILURE || code === SFTP_NO_SPACE_ON_FILESYSTEM || code === SFTP_QUOTA_EXCEEDED;
}

/**
 * The hint for a refused login, telling a refused key from an account the server will not let in
 * whatever the key: Dropbear rejects an account whose shell is not in its /etc/shells with the very
 * same answer as a wrong key, so only its banner tells the two apart.
 */
export function authFailureHint(serverSoftware: string | undefined): string {
  if (serverSoftware !== undefined && /^dropbear/i.test(serverSoftware)) {
    return `${HINT_OF_CODE.AUTH_FAILED}; the server is Dropbear (${serverSoftware}), which also refuses, whatever the key, an account whose shell is not listed in its /etc/shells (e.g. nologin): ask them to give the account a valid shell or to check its log for "invalid shell"`;
  }
  return HINT_OF_CODE.AUTH_FAILED;
}

/** The hint when the login worked but the server would not start SFTP for the account. */
export const SUBSYSTEM_REFUSED_HINT =
  'our key was accepted, but the server refused to start SFTP for this account (shell or subsystem refused): ask them to enable the sftp subsystem for it (OpenSSH: Subsystem sftp / ForceCommand internal-sftp; Dropbear: sftp-server installed and a valid login shell)';

/** `el-sol (203.0.113.10:2222): <what failed>: <detail>; <hint>` */
export function failureMessage(
  code: FailureCode,
  target: FailureTarget,
  whatFailed: string,
  detail: string,
  specificHint?: string,
): string {
  const where = `${target.id} (${formatHostPort(target.host, target.port)})`;
  const hint =
    specificHint ?? (code === 'HOST_KEY_MISMATCH' ? `if ${target.id} rotated its key, ${HINT_OF_CODE[code]}` : HINT_OF_CODE[code]);
  return `${where}: ${whatFailed}${detail ? `: ${detail}` : ''}; ${hint}`;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const CONNECT_ERRNO_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connect timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A short, one-line description of an error for a message's detail. */
export function describeError(error: unknown): string {
  if (isDeliveryError(error)) return error.message;
  const { message, code } = shapeOf(error);
  // `connect ECONNREFUSED 203.0.113.10:2222`: every message already names the address.
  const connectErrno = /^connect (E[A-Z]+) \S+$/.exec(message);
  if (connectErrno) return `${CONNECT_ERRNO_WORDS[connectErrno[1]] ?? 'connect failed'} (${connectErrno[1]})`;
  if (typeof code === 'string' && !message.includes(code)) return `${message} (${code})`;
  if (typeof code === 'number') return `${message} (SFTP status ${code})`;
  return message;
}
