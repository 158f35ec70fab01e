// The seam through which delivery and publish talk SFTP: the promise-based session every strategy
// uses and the transport that opens one. `ssh2Transport` (connect.ts) is the real one; tests pass it
// too, against real servers, or a fake of their own.
import type { Difusor } from '../registry/types.js';

export interface RemoteEntry {
  name: string;
  size: number;
  /** Seconds since the epoch, as the server reports it. */
  mtime: number;
  /** What the entry is, as the server's listing says (OpenSSH does not follow symlinks there). */
  kind: 'file' | 'folder' | 'symlink' | 'other';
}

export interface RemoteStat {
  size: number;
  isDirectory: boolean;
}

/** What `lstat` says of a path without following a symlink at its end. */
export interface RemoteLinkStat extends RemoteStat {
  isSymlink: boolean;
  isFile: boolean;
  /** Permission bits (mode & 0o7777). */
  permissions: number;
}

export interface SftpSession {
  /** False once the connection has closed (a failed session may still clean up while true). */
  readonly alive: boolean;
  /** Creates `dir` and its parents; an existing directory is fine. */
  mkdirp(dir: string): Promise<void>;
  readdir(dir: string): Promise<RemoteEntry[]>;
  stat(path: string): Promise<RemoteStat>;
  /**
   * Uploads a local file with many writes in flight (fast on high-latency links). A file of at most
   * 128 MiB is read once and shared by every upload of it while it is unchanged (the package of a fan-out).
   */
  fastPut(localFile: string, remotePath: string, onProgress?: (bytesSoFar: number) => void): Promise<void>;
  writeFile(remotePath: string, data: string | Buffer): Promise<void>;
  /**
   * A remote file's text (LATEST, APPLIED, a MANIFEST.json), or null when it does not exist. Only a
   * regular file of at most `maxBytes` is read, and never more than that: anything else (a symlink to
   * /dev/zero, a FIFO, a folder, a file that grows) fails with VERIFY_FAILED naming the file.
   */
  readSmallFile(remotePath: string, maxBytes: number): Promise<string | null>;
  /** Renames over an existing file (atomic with posix-rename@openssh.com). */
  posixRename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /**
   * Asks the server to flush `path` to its disk (`fsync@openssh.com`), so a power cut on their side
   * right after the rename cannot leave a short file under the final name. False when the server
   * does not offer the extension.
   */
  flushToDisk(path: string): Promise<boolean>;
  /** Free bytes for unprivileged users where `dir` lives; undefined when the server cannot say. */
  freeBytes(dir: string): Promise<number | undefined>;
  /**
   * Extensions the server advertised in its SFTP VERSION packet (name -> version), e.g.
   * `hardlink@openssh.com`. ssh2's `ext_*` calls throw synchronously for one not listed here.
   */
  extensions(): Readonly<Record<string, string>>;
  /** Creates one directory (its parent must exist), with these permission bits where given. */
  mkdir(dir: string, mode?: number): Promise<void>;
  rmdir(dir: string): Promise<void>;
  lstat(path: string): Promise<RemoteLinkStat>;
  /** Sets permission bits (servers may create files with other modes whatever was asked). */
  chmod(path: string, mode: number): Promise<void>;
  /** `hardlink@openssh.com`: `newPath` becomes another name of `existingPath`. Rejects when not offered. */
  hardlink(existingPath: string, newPath: string): Promise<void>;
  /**
   * `hardlink@openssh.com` for the pairs `pairAt(0)` to `pairAt(count - 1)` (`[existingPath,
   * newPath]`), `inFlight` at a time; resolves with the indexes of the pairs the server refused (an
   * SFTP status), ascending. A release links ~20,000 files: one callback per link here instead of a
   * promise, a limiter slot and a guard each, and each pair's paths made only when it is sent (all
   * 19,400 pairs of a cut made at once were ~5 MB live per difusor in flight).
   * Rejects like `hardlink` on a lost connection. Optional: without it, callers link one by one.
   */
  hardlinkMany?(count: number, pairAt: (index: number) => readonly [string, string], inFlight: number): Promise<number[]>;
  /**
   * Creates `linkPath` pointing to `target`, always in OpenSSH's argument order on the wire (which
   * ProFTPD and SFTPGo expect too, whatever ssh2 guesses from the banner). Callers check the result
   * with `readlink`, as servers disagree on this request.
   */
  symlink(target: string, linkPath: string): Promise<void>;
  /** The target a symlink holds, as the server reports it (ProFTPD joins it to the link's folder). */
  readlink(path: string): Promise<string>;
  /**
   * While on, small requests issued in the same turn of the event loop go out in one SSH packet
   * (SFTP is a byte stream; the server reads them one by one), so thousands of links or mkdirs
   * cost a few hundred packets to encrypt and frame instead of thousands. Optional: fakes may omit it.
   */
  coalesceRequests?(on: boolean): void;
  /** Polite close; destroys the connection if the server does not answer within about a second. */
  close(): Promise<void>;
  destroy(): void;
}

export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  /** Reaching the server, verifying its host key and authenticating, all within this. */
  connectTimeoutMs: number;
  /** Aborting destroys the connection attempt; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

export interface SftpTransport {
  connect(difusor: Difusor, options: ConnectOptions): Promise<SftpSession>;
}

/** Every file prep-push creates on a difusor has this mode (asked at open, set again before the rename). */
export const CREATED_FILE_MODE = 0o644;

/** The most prep-push reads of a one-line file it wrote on a difusor (LATEST, APPLIED, a `.sha256`). */
export const ONE_LINE_FILE_MAX_BYTES = 4096;
/** The most prep-push reads of a release's MANIFEST.json on a difusor (a 20,000-file site's is ~3 MB). */
export const MANIFEST_MAX_BYTES = 64 * 1024 * 1024;
