// The public shape of the in-process SFTP server: its options, the faults it can inject, and the
// handle a test or the demo uses to watch and stop it.

/**
 * Misbehaviour to inject, so tests and the demo can show how prep-push reacts to a broken
 * difusor. Byte counts are of file data received in WRITE requests.
 */
export interface SftpFaults {
  /** After N bytes on a connection, stop answering every request; the TCP connection stays open (a hung server). */
  stallAfterBytes?: number;
  /** After N bytes on a connection, destroy its TCP connection (a cut link, a dying server). */
  dropAfterBytes?: number;
  /**
   * After N bytes in total across the server, answer WRITE as a full disk does. OpenSSH's
   * sftp-server maps ENOSPC to a bare `SSH_FX_FAILURE` "Failure", so that is what is sent, and
   * `statvfs@openssh.com` reports no free space from then on (how a client tells a full disk apart).
   */
  failWritesAfterBytes?: number;
  /** Status message of the full-disk failure; default "Failure", as OpenSSH sends. */
  failWritesMessage?: string;
  /** Delay every SFTP reply by this many milliseconds (a slow, far link). */
  latencyMs?: number;
  /** Acknowledge written data no faster than this per connection (a thin link). */
  bytesPerSecond?: number;
  /** Apply stallAfterBytes / dropAfterBytes only to the first N connections, so a retry can succeed. */
  onlyFirstConnections?: number;
  /** Reject every authentication attempt (a revoked key, a changed password). */
  refuseAll?: boolean;
  /** Answer every change with PERMISSION_DENIED, like OpenSSH's `sftp-server -R`. */
  readOnly?: boolean;
  /** Accept the login but refuse the `sftp` subsystem (an account with no SFTP, a shell that exits). */
  refuseSftp?: boolean;
}

/**
 * How this server differs from OpenSSH's sftp-server, to stand in for other servers (the
 * capability fallbacks of site mode are tested against these).
 */
export interface SftpQuirks {
  /** Extensions neither advertised nor served, e.g. `['hardlink@openssh.com']`. */
  withoutExtensions?: string[];
  /** SYMLINK answered with OP_UNSUPPORTED (servers or accounts without symlinks). */
  noSymlinks?: boolean;
  /** RENAME and posix-rename resolve a destination that is a symlink (ProFTPD mod_sftp). */
  renameFollowsSymlinks?: boolean;
  /** READLINK answers the target joined with the link's folder (ProFTPD mod_sftp). */
  readlinkJoinsFolder?: boolean;
  /** LSTAT of a symlink whose target exists answers the target's attributes (ProFTPD mod_sftp 1.3.8). */
  lstatFollowsSymlinks?: boolean;
  /** READ answers at most this many bytes, however many were asked (a short read, which SFTP allows). */
  maxReadBytes?: number;
}

export interface StartSftpServerOptions {
  /** Local directory served as the remote `/`; remote absolute paths map inside it and `..` cannot leave it. */
  root: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port, read it from the handle. */
  port?: number;
  /** Host private key (OpenSSH or PEM); an ed25519 key is generated when absent. */
  hostKey?: string | Buffer;
  /** The only username accepted. */
  username: string;
  /** Public key lines (`ssh-ed25519 AAAA... comment`) allowed to log in. */
  authorizedKeys?: string[];
  /** A password allowed to log in. */
  password?: string;
  faults?: SftpFaults;
  quirks?: SftpQuirks;
}

export interface SftpServerHandle {
  host: string;
  port: number;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  /** `ssh-ed25519 AAAA...`: the host key as a known_hosts line wants it. */
  readonly hostPublicKey: string;
  /** SFTP sessions open right now. */
  activeSessions(): number;
  /** The most SFTP sessions that were open at the same time. */
  readonly maxConcurrentSessions: number;
  /** File data bytes written to disk, all connections. */
  readonly bytesWritten: number;
  /** Files flushed to disk at the client's request (fsync@openssh.com). */
  readonly fsyncs: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Authentication requests received (any method, "none" included): a client that distrusts our host key sends none. */
  readonly authAttempts: number;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}
