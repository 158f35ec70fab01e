// The seam through which delivery talks SFTP: one connect helper (host key pinned before any
// authentication, hard connect deadline) and a small promise-based session. `ssh2Transport` is the
// real one; tests pass it too, against real servers, or a fake of their own.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import pLimit from 'p-limit';
import ssh2, { Client, type ParsedKey, type SFTPWrapper } from 'ssh2';
import type { Difusor } from '../registry/types.js';
import { UploadLanes } from './upload-lanes.js';
import { DeliveryError, SUBSYSTEM_REFUSED_HINT, describeError } from './classify.js';
import { HOST_KEY_ALGORITHMS_OF_TYPE } from '../registry/host-key.js';
import {
  describePins,
  hostKeyAlgorithmOrder,
  keyTypesLeftToTry,
  keyTypesOffered,
  matchesPin,
  pinnedHostKeysOf,
  serverHostKeyAlgorithmsOf,
} from './host-keys.js';
import { SFTP_NO_SUCH_FILE } from './status-codes.js';

export interface RemoteEntry {
  name: string;
  size: number;
  /** Seconds since the epoch, as the server reports it. */
  mtime: number;
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
  /** A small remote file's text (e.g. LATEST), or null when it does not exist. */
  readSmallFile(remotePath: string): Promise<string | null>;
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
   * `hardlink@openssh.com` for every pair (`[existingPath, newPath]`), `inFlight` at a time; resolves
   * with the indexes of the pairs the server refused (an SFTP status), ascending. A release links
   * ~20,000 files: one callback per link here instead of a promise, a limiter slot and a guard each.
   * Rejects like `hardlink` on a lost connection. Optional: without it, callers link one by one.
   */
  hardlinkMany?(pairs: ReadonlyArray<readonly [string, string]>, inFlight: number): Promise<number[]>;
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

// Keepalives make a peer that vanished (no FIN, no RST) visible in ~20 s even without a deadline.
const KEEPALIVE_INTERVAL_MS = 5000;
const KEEPALIVE_COUNT_MAX = 3;
// client.end() waits for the server's reply, which a frozen server never sends.
const POLITE_CLOSE_MS = 1000;
// Writes of 255 KiB (OpenSSH's advertised limits@openssh.com maximum; ssh2 splits them for servers
// with smaller limits), 16 in flight (4 MiB, above sshd's 2 MiB channel window, so the window, not us,
// bounds a long-RTT link). Measured on 16 loopback sshd, 64 MiB each, against `sftp -b` ×16: ssh2's
// default 64 × 32 KiB ran at 1.09–1.28× OpenSSH's time, 16 × 255 KiB at 0.88–1.08× (fewer requests,
// less per-request work on the single event loop that encrypts for every difusor). See README, Benchmarks.
const FAST_PUT_CONCURRENCY = 16;
const FAST_PUT_CHUNK_BYTES = 261120;
// The package uploads of this process: the two nearest to their end keep 16 writes in flight, the
// others 4, so difusores finish one after another instead of all at the end (see upload-lanes.ts).
export const packageUploadLanes = new UploadLanes({ fullLanes: 2, fullDepth: FAST_PUT_CONCURRENCY, minDepth: 4 });


/** Every file prep-push creates on a difusor has this mode (asked at open, set again before the rename). */
export const CREATED_FILE_MODE = 0o644;

/** `SHA256:<base64 without padding>` of a raw SSH public key blob, as `ssh-keygen -lf` prints. */
export function fingerprintOfKey(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return length > 0 && length < 64 && key.length >= 4 + length ? key.toString('latin1', 4, 4 + length) : 'unknown';
}

interface Credentials {
  privateKey?: ParsedKey;
  password?: string;
  agent?: string;
}

// A passphrase-protected OpenSSH key takes its KDF (bcrypt, ~1-2 s of CPU) to decrypt. ssh2 would do
// that again inside every connect, for every difusor, inside the connect deadline; decrypting once
// per key and process and handing ssh2 the parsed key (which it passes through) avoids both.
// Keyed by path and a hash of the passphrase, so the passphrase itself is not kept as a key.
const parsedKeys = new Map<string, ParsedKey | DeliveryError>();

function decryptedKey(file: string, passphrase: string | undefined, passphraseEnv: string | undefined): ParsedKey {
  const cacheKey = `${file}\0${passphrase === undefined ? '' : createHash('sha256').update(passphrase).digest('hex')}`;
  let parsed = parsedKeys.get(cacheKey);
  if (parsed === undefined) {
    parsed = parsePrivateKey(file, passphrase, passphraseEnv);
    parsedKeys.set(cacheKey, parsed);
  }
  if (parsed instanceof DeliveryError) throw parsed;
  return parsed;
}

function parsePrivateKey(file: string, passphrase: string | undefined, passphraseEnv: string | undefined): ParsedKey | DeliveryError {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    return new DeliveryError('AUTH_FAILED', `cannot read private_key ${file}: ${describeError(error)}`, { cause: error });
  }
  const parsed = ssh2.utils.parseKey(data, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || key === undefined) {
    const why = key instanceof Error ? key.message : 'no key in the file';
    const hint = passphraseEnv !== undefined && /passphrase|decrypt|bad/i.test(why)
      ? `; check that ${passphraseEnv} holds this key's passphrase`
      : '';
    return new DeliveryError('AUTH_FAILED', `cannot use private_key ${file}: ${why}${hint}`);
  }
  return key;
}

/** The credentials a difusor's entry names, read from the key file and the environment. */
export function credentialsFor(difusor: Difusor, env: NodeJS.ProcessEnv): Credentials {
  const credentials: Credentials = {};
  if (difusor.privateKey !== undefined) {
    let passphrase: string | undefined;
    if (difusor.privateKeyPassphraseEnv !== undefined) {
      passphrase = env[difusor.privateKeyPassphraseEnv];
      if (passphrase === undefined) {
        throw new DeliveryError(
          'AUTH_FAILED',
          `environment variable ${difusor.privateKeyPassphraseEnv} (private_key_passphrase_env) is not set`,
        );
      }
    }
    credentials.privateKey = decryptedKey(difusor.privateKey, passphrase, difusor.privateKeyPassphraseEnv);
  }
  if (difusor.passwordEnv !== undefined) {
    const password = env[difusor.passwordEnv];
    if (password === undefined) {
      throw new DeliveryError('AUTH_FAILED', `environment variable ${difusor.passwordEnv} (password_env) is not set`);
    }
    credentials.password = password;
  }
  if (credentials.privateKey === undefined && credentials.password === undefined) {
    if (!env.SSH_AUTH_SOCK) {
      throw new DeliveryError('AUTH_FAILED', 'no private_key, no password_env and no ssh-agent (SSH_AUTH_SOCK unset)');
    }
    credentials.agent = env.SSH_AUTH_SOCK;
  }
  return credentials;
}

type AuthMethod =
  | { type: 'publickey'; username: string; key: ParsedKey }
  | { type: 'password'; username: string; password: string }
  | { type: 'agent'; username: string; agent: string };

function authMethodsFor(username: string, credentials: Credentials): AuthMethod[] {
  const methods: AuthMethod[] = [];
  if (credentials.privateKey) methods.push({ type: 'publickey', username, key: credentials.privateKey });
  if (credentials.password !== undefined) methods.push({ type: 'password', username, password: credentials.password });
  if (credentials.agent !== undefined) methods.push({ type: 'agent', username, agent: credentials.agent });
  return methods;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** A key the server offered that no pin matches. */
interface OfferedKey {
  type: string;
  fingerprint: string;
}

/** The handshake was refused because the offered key matches no pin. */
class HostKeyRefused extends DeliveryError {
  constructor(
    readonly offered: OfferedKey,
    /** Every key type the server's KEXINIT lists. */
    readonly serverKeyTypes: string[],
    message: string,
    cause: unknown,
  ) {
    super('HOST_KEY_MISMATCH', message, { cause });
  }
}

/**
 * Connects, pins the host key during the key exchange (before authenticating) and opens SFTP.
 * The pinned key types are negotiated first; when a pin has no type and the server's first key
 * matches none, the other key types the server may hold are asked for, one handshake each (a
 * refused handshake sends no credentials), so a difusor pinned by its RSA key stays reachable.
 */
async function connectSsh2(difusor: Difusor, options: ConnectOptions): Promise<SftpSession> {
  const pins = pinnedHostKeysOf(difusor);
  const startedAt = Date.now();
  const refused = new Set<string>();
  const offered: OfferedKey[] = [];
  let algorithms = hostKeyAlgorithmOrder(pins);
  for (;;) {
    const connectTimeoutMs = Math.max(1, options.connectTimeoutMs - (Date.now() - startedAt));
    try {
      return await connectOnce(difusor, { ...options, connectTimeoutMs }, algorithms);
    } catch (error) {
      if (!(error instanceof HostKeyRefused)) throw error;
      offered.push(error.offered);
      refused.add(error.offered.type);
      const left = keyTypesLeftToTry(pins, error.serverKeyTypes, refused);
      if (left.length > 0) {
        algorithms = left.flatMap((type) => [...HOST_KEY_ALGORITHMS_OF_TYPE[type]]);
        continue;
      }
      // Every key type the server holds that a pin could match was offered: none matched.
      const seen = offered.map((key) => `${key.type} ${key.fingerprint}`).join(', ');
      throw new DeliveryError('HOST_KEY_MISMATCH', `host key mismatch: pinned ${describePins(pins)}, server offered ${seen}`, {
        cause: error,
      });
    }
  }
}

function connectOnce(difusor: Difusor, options: ConnectOptions, hostKeyAlgorithms: string[]): Promise<SftpSession> {
  const { connectTimeoutMs, signal } = options;
  const pins = pinnedHostKeysOf(difusor);
  return new Promise<SftpSession>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let credentials: Credentials;
    try {
      credentials = credentialsFor(difusor, options.env);
    } catch (error) {
      reject(error);
      return;
    }

    const client = new Client();
    let settled = false;
    let tcpConnected = false;
    let mismatch: { type: string; fingerprint: string } | undefined;
    let serverHostKeyAlgorithms: string[] = [];

    const settle = (error: unknown, session?: SftpSession): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (session) {
        resolve(session);
      } else {
        client.destroy();
        reject(error);
      }
    };
    const onAbort = (): void => settle(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    // Our own timer, not only ssh2's readyTimeout: readyTimeout does not cover opening the SFTP
    // channel, and a deadline must hold whatever stage the server freezes in.
    const timer = setTimeout(() => {
      const what = tcpConnected
        ? 'TCP connected but SSH handshake, authentication and SFTP start did not finish'
        : 'TCP connection not established';
      settle(new DeliveryError('CONNECT_TIMEOUT', `${what} within connect_timeout_s (${seconds(connectTimeoutMs)})`));
    }, connectTimeoutMs);

    client.on('connect', () => {
      tcpConnected = true;
      // Nagle off: with it, ssh2's SERVICE_REQUEST sat in the kernel until the server's delayed ACK
      // (40 ms) of the packet before it. Traced on the bench sshd with ssh2's debug output:
      // authenticated after 74-107 ms with Nagle, 36-68 ms without. Bulk writes are whole SSH packets anyway.
      client.setNoDelay(true);
    });
    // ssh2 emits 'error' more than once (and after destroy); an unheard one would crash the process.
    client.on('error', (error: Error) => {
      if (mismatch) {
        settle(
          new HostKeyRefused(
            mismatch,
            keyTypesOffered(serverHostKeyAlgorithms),
            `host key mismatch: pinned ${describePins(pins)}, server offered ${mismatch.type} ${mismatch.fingerprint}`,
            error,
          ),
        );
      } else {
        // Which server refused us tells a refused key from an account it never lets in (authFailureHint).
        if ((error as { level?: unknown }).level === 'client-authentication') {
          Object.assign(error, { serverSoftware: (client as unknown as { _remoteVer?: string })._remoteVer });
        }
        settle(error);
      }
    });
    client.on('close', () => settle(Object.assign(new Error('Connection closed before SFTP was ready'), { code: 'ECONNRESET' })));
    client.on('ready', () => {
      client.sftp((error, sftp) => {
        if (!error) {
          settle(undefined, new Ssh2Session(client, sftp));
          return;
        }
        const refused = /unable to start subsystem/i.test(error.message);
        settle(
          refused
            ? new DeliveryError('AUTH_FAILED', `logged in as ${difusor.username}, but ${error.message}`, {
                cause: error,
                hint: SUBSYSTEM_REFUSED_HINT,
              })
            : error,
        );
      });
    });

    try {
      client.connect({
        host: difusor.host,
        port: difusor.port,
        username: difusor.username,
        // Explicit methods, in order: ssh2 takes an already-parsed (decrypted) key only this way.
        authHandler: authMethodsFor(difusor.username, credentials),
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        algorithms: { serverHostKey: hostKeyAlgorithms as ssh2.ServerHostKeyAlgorithm[] },
        // The only public view of the server's KEXINIT: which host key types it holds.
        debug: (line: string) => {
          serverHostKeyAlgorithms = serverHostKeyAlgorithmsOf(line) ?? serverHostKeyAlgorithms;
        },
        // Raw key blob in, decision out; ssh2 aborts the key exchange on false, so no
        // authentication (and nothing else) is ever sent to a server we did not pin.
        hostVerifier: (key: Buffer) => {
          const fingerprint = fingerprintOfKey(key);
          const type = keyTypeOf(key);
          if (matchesPin(pins, type, fingerprint)) return true;
          mismatch = { type, fingerprint };
          return false;
        },
      });
    } catch (error) {
      // ssh2 throws synchronously for an unparsable key or a wrong passphrase.
      settle(new DeliveryError('AUTH_FAILED', `private_key ${difusor.privateKey ?? ''}: ${describeError(error)}`, { cause: error }));
    }
  });
}

export const ssh2Transport: SftpTransport = { connect: connectSsh2 };

function callback<T = void>(run: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      run((error, value) => (error ? reject(error) : resolve(value as T)));
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Runs `run` on every item, at most `limit` at once (the project's p-limit; a function is asked again
 * after each item, so the limit may change on the way); after a failure the rest are skipped, those
 * running settle, and the first error is thrown.
 */
async function inFlight<T>(items: readonly T[], limit: number | (() => number), run: (item: T) => Promise<void>): Promise<void> {
  const limitNow = typeof limit === 'number' ? () => limit : limit;
  const gate = pLimit(limitNow());
  let failed = false;
  const results = await Promise.allSettled(
    items.map((item) =>
      gate(async () => {
        if (failed) return;
        await run(item).catch((error: unknown) => {
          failed = true;
          throw error;
        });
        const next = limitNow();
        if (next !== gate.concurrency) gate.concurrency = next;
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

// The package a push sends to every difusor, read once: 16 uploads of one 64 MiB file read it 16
// times otherwise, 4,096 reads handed to the thread pool and back to the one thread that encrypts
// for every difusor. Measured on 16 sshd, 64 MiB each, 7 interleaved runs: push 2.81 s vs 3.03 s
// (median), `sftp -b` ×16 3.18 s.
// Kept for the process's life: a bound on the memory it costs (a PREP package is ~20-50 MB).
const SHARED_FILE_MAX_BYTES = 128 * 1024 * 1024;
let sharedFile: { key: string; data: Promise<Buffer | null> } | undefined;

/** The bytes of `path` when it is at most SHARED_FILE_MAX_BYTES, shared by every caller while it is unchanged; else null. */
async function sharedLocalFile(path: string): Promise<Buffer | null> {
  const stats = await stat(path);
  if (stats.size > SHARED_FILE_MAX_BYTES) return null;
  // ctime too: nobody can set it back, so a file rewritten in place with its old mtime is read again.
  const key = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
  if (sharedFile?.key !== key) {
    const data = readFile(path).then(
      (bytes) => (bytes.length === stats.size ? bytes : null),
      () => null,
    );
    sharedFile = { key, data };
  }
  return sharedFile.data;
}

class Ssh2Session implements SftpSession {
  private closed = false;
  private lastError: Error | undefined;
  private readonly onClose = new Set<(error: Error) => void>();
  private fsyncOffered = true;

  constructor(
    private readonly client: Client,
    private readonly sftp: SFTPWrapper,
  ) {
    // The connect's debug callback only reads the server's KEXINIT (its host key types). Left on, ssh2
    // formats a line for every SFTP request and response and every SSH packet, and the callback runs
    // a regular expression on each: ~40,000 of each for a release of 20,000 linked files.
    (sftp as unknown as { _debug?: unknown })._debug = undefined;
    const protocol = (client as unknown as { _protocol?: { _debug?: unknown } })._protocol;
    if (protocol !== undefined) protocol._debug = undefined;
    client.on('error', (error: Error) => {
      this.lastError = error;
    });
    client.on('close', () => {
      this.closed = true;
      const detail = this.lastError ? `: ${describeError(this.lastError)}` : '';
      const lost = Object.assign(new Error(`connection closed by the server or the network${detail}`), {
        code: 'ECONNRESET',
      });
      for (const reject of this.onClose) reject(lost);
      this.onClose.clear();
    });
    sftp.on('error', (error: Error) => {
      this.lastError = error;
    });
  }

  /**
   * Settles `run` with the connection: when the socket dies, ssh2 fails requests already sent but
   * not one issued afterwards (fastPut closes its handles on a dead channel and never calls back).
   */
  private guard<T>(run: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(Object.assign(new Error('connection already closed'), { code: 'ECONNRESET' }));
    }
    return new Promise<T>((resolve, reject) => {
      const onLost = (error: Error): void => reject(error);
      this.onClose.add(onLost);
      run().then(
        (value) => {
          this.onClose.delete(onLost);
          resolve(value);
        },
        (error: unknown) => {
          this.onClose.delete(onLost);
          reject(error);
        },
      );
    });
  }

  get alive(): boolean {
    return !this.closed;
  }

  private async statOrNull(path: string): Promise<RemoteStat | null> {
    try {
      return await this.stat(path);
    } catch (error) {
      if ((error as { code?: unknown }).code === SFTP_NO_SUCH_FILE) return null;
      throw error;
    }
  }

  async mkdirp(dir: string): Promise<void> {
    const existing = await this.statOrNull(dir);
    if (existing) {
      if (!existing.isDirectory) throw new DeliveryError('SFTP_ERROR', `${dir} exists and is not a directory`);
      return;
    }
    const parent = posix.dirname(dir);
    if (parent !== dir) await this.mkdirp(parent);
    try {
      await this.guard(() => callback((done) => this.sftp.mkdir(dir, done)));
    } catch (error) {
      // Someone else (another run, the difusor) may have made it meanwhile.
      if ((await this.statOrNull(dir))?.isDirectory) return;
      throw error;
    }
  }

  async readdir(dir: string): Promise<RemoteEntry[]> {
    const list = await this.guard(() =>
      callback<Array<{ filename: string; attrs: { size: number; mtime: number } }>>((done) => this.sftp.readdir(dir, done)),
    );
    return list.map((entry) => ({ name: entry.filename, size: entry.attrs.size, mtime: entry.attrs.mtime }));
  }

  async stat(path: string): Promise<RemoteStat> {
    const stats = await this.guard(() =>
      callback<{ size: number; isDirectory(): boolean }>((done) => this.sftp.stat(path, done)),
    );
    return { size: stats.size, isDirectory: stats.isDirectory() };
  }

  fastPut(localFile: string, remotePath: string, onProgress?: (bytesSoFar: number) => void): Promise<void> {
    return this.guard(async () => {
      const shared = await sharedLocalFile(localFile);
      if (shared !== null) {
        return this.withHandle(remotePath, 'w', async (handle) => {
          // The lane ends with the last write, before the close and the server's flush to disk.
          const lane = packageUploadLanes.start(shared.length);
          try {
            const progress = (acknowledged: number): void => {
              lane.progress(acknowledged);
              onProgress?.(acknowledged);
            };
            await this.writeChunks(handle, shared, progress, lane.depth);
          } finally {
            lane.close();
          }
        });
      }
      return this.fastPutFromDisk(localFile, remotePath, onProgress);
    });
  }

  private fastPutFromDisk(localFile: string, remotePath: string, onProgress?: (bytesSoFar: number) => void): Promise<void> {
    const options = {
      concurrency: FAST_PUT_CONCURRENCY,
      chunkSize: FAST_PUT_CHUNK_BYTES,
      mode: CREATED_FILE_MODE,
      step: onProgress ? (total: number) => onProgress(total) : undefined,
    };
    return callback((done) => this.sftp.fastPut(localFile, remotePath, options, done));
  }

  writeFile(remotePath: string, data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length <= this.chunkBytes('write')) {
      return this.guard(() => callback((done) => this.sftp.writeFile(remotePath, bytes, { mode: CREATED_FILE_MODE }, done)));
    }
    return this.guard(() => this.withHandle(remotePath, 'w', (handle) => this.writeChunks(handle, bytes)));
  }

  async readSmallFile(remotePath: string): Promise<string | null> {
    const stat = await this.statOrNull(remotePath);
    if (stat === null) return null;
    const data = await this.guard(() => this.withHandle(remotePath, 'r', (handle) => this.readChunks(handle, stat.size)));
    return data.toString('utf8');
  }

  /**
   * The most one read or write request carries (the server's limits@openssh.com, else ssh2's 32 KiB
   * default). ssh2 splits a longer request into parts sent one after another, a round trip each:
   * a 3 MB MANIFEST.json took ~14 round trips, 0.3-0.5 s behind a busy server.
   */
  private chunkBytes(kind: 'read' | 'write'): number {
    const limits = this.sftp as unknown as { _maxReadLen?: number; _maxWriteLen?: number };
    const limit = kind === 'read' ? limits._maxReadLen : limits._maxWriteLen;
    return Math.min(FAST_PUT_CHUNK_BYTES, typeof limit === 'number' && limit > 0 ? limit : 32768);
  }

  /** Opens `path`, runs `use` on the handle and closes it whatever happened (a close error counts only after success). */
  private async withHandle<T>(path: string, flags: 'r' | 'w', use: (handle: Buffer) => Promise<T>): Promise<T> {
    const handle = await callback<Buffer>((done) => this.sftp.open(path, flags, { mode: CREATED_FILE_MODE }, done));
    let result: T;
    try {
      result = await use(handle);
    } catch (error) {
      await callback((done) => this.sftp.close(handle, done)).catch(() => undefined);
      throw error;
    }
    await callback((done) => this.sftp.close(handle, done));
    return result;
  }

  /**
   * Writes all of `data`, `depth` requests in flight (FAST_PUT_CONCURRENCY unless a lane says
   * otherwise); `onProgress` gets the bytes the server acknowledged.
   */
  private writeChunks(handle: Buffer, data: Buffer, onProgress?: (bytesSoFar: number) => void, depth: number | (() => number) = FAST_PUT_CONCURRENCY): Promise<void> {
    const chunk = this.chunkBytes('write');
    const offsets = Array.from({ length: Math.ceil(data.length / chunk) }, (_, i) => i * chunk);
    let acknowledged = 0;
    return inFlight(offsets, depth, async (offset) => {
      const length = Math.min(chunk, data.length - offset);
      await callback((done) => this.sftp.write(handle, data, offset, length, offset, done));
      acknowledged += length;
      onProgress?.(acknowledged);
    });
  }

  /**
   * Reads the file whose size was `size` when stat'ed, FAST_PUT_CONCURRENCY requests in flight, then
   * on until the server says end of file (a short read or a file that grew is read to its end).
   */
  private async readChunks(handle: Buffer, size: number): Promise<Buffer> {
    const chunk = this.chunkBytes('read');
    const parts: Buffer[] = [];
    const readAt = (position: number, length: number): Promise<Buffer> =>
      new Promise<Buffer>((resolve, reject) => {
        const buffer = Buffer.allocUnsafe(length);
        try {
          this.sftp.read(handle, buffer, 0, length, position, (error: Error | null | undefined, bytesRead: number) => {
            // End of file: ssh2 answers 0 bytes read, or an error with SFTP's EOF code (1) on some paths.
            if (error && (error as { code?: unknown }).code !== 1) reject(error);
            else resolve(buffer.subarray(0, error ? 0 : bytesRead));
          });
        } catch (error) {
          reject(error);
        }
      });
    const offsets = Array.from({ length: Math.ceil(size / chunk) }, (_, i) => i * chunk);
    const planned: Buffer[] = new Array<Buffer>(offsets.length);
    await inFlight(offsets, FAST_PUT_CONCURRENCY, async (offset) => {
      planned[offset / chunk] = await readAt(offset, Math.min(chunk, size - offset));
    });
    // Keep whole parts in order up to the first short one; read on from there one request at a time.
    let position = 0;
    for (const part of planned) {
      parts.push(part);
      position += part.length;
      if (part.length < Math.min(chunk, size - (position - part.length))) break;
    }
    for (;;) {
      const more = await readAt(position, chunk);
      if (more.length === 0) break;
      parts.push(more);
      position += more.length;
    }
    return Buffer.concat(parts, position);
  }

  async posixRename(from: string, to: string): Promise<void> {
    try {
      await this.guard(() => callback((done) => this.sftp.ext_openssh_rename(from, to, done)));
      return;
    } catch (error) {
      if (!/does not support/i.test((error as Error).message)) throw error;
    }
    // The server lacks posix-rename@openssh.com, and a plain SFTP v3 rename refuses to replace an
    // existing file. Remove-then-rename leaves a short window without the final file (never a
    // partial one), the best a v3-only server allows.
    try {
      await this.unlink(to);
    } catch (error) {
      if ((error as { code?: unknown }).code !== SFTP_NO_SUCH_FILE) throw error;
    }
    await this.guard(() => callback((done) => this.sftp.rename(from, to, done)));
  }

  async flushToDisk(path: string): Promise<boolean> {
    if (!this.fsyncOffered) return false;
    const handle = await this.guard(() => callback<Buffer>((done) => this.sftp.open(path, 'r', done)));
    try {
      await this.guard(() => callback((done) => this.sftp.ext_openssh_fsync(handle, done)));
      return true;
    } catch (error) {
      // ssh2 refuses synchronously when the server's VERSION did not list the extension.
      if (!/does not support/i.test((error as Error).message)) throw error;
      this.fsyncOffered = false;
      return false;
    } finally {
      await this.guard(() => callback((done) => this.sftp.close(handle, done))).catch(() => {});
    }
  }

  unlink(path: string): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.unlink(path, done)));
  }

  async freeBytes(dir: string): Promise<number | undefined> {
    try {
      const info = await this.guard(() =>
        callback<{ f_frsize: number; f_bavail: number }>((done) => this.sftp.ext_openssh_statvfs(dir, done)),
      );
      return Number(info.f_bavail) * Number(info.f_frsize);
    } catch {
      return undefined;
    }
  }

  extensions(): Readonly<Record<string, string>> {
    // ssh2 keeps the VERSION packet's extension list here; it has no public accessor.
    return { ...((this.sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {}) };
  }

  mkdir(dir: string, mode?: number): Promise<void> {
    return this.guard(() =>
      callback((done) => (mode === undefined ? this.sftp.mkdir(dir, done) : this.sftp.mkdir(dir, { mode }, done))),
    );
  }

  rmdir(dir: string): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.rmdir(dir, done)));
  }

  async lstat(path: string): Promise<RemoteLinkStat> {
    const stats = await this.guard(() =>
      callback<{ size: number; mode: number; isDirectory(): boolean; isSymbolicLink(): boolean; isFile(): boolean }>(
        (done) => this.sftp.lstat(path, done),
      ),
    );
    return {
      size: stats.size,
      isDirectory: stats.isDirectory(),
      isSymlink: stats.isSymbolicLink(),
      isFile: stats.isFile(),
      permissions: stats.mode & 0o7777,
    };
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.chmod(path, mode, done)));
  }

  hardlink(existingPath: string, newPath: string): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.ext_openssh_hardlink(existingPath, newPath, done)));
  }

  hardlinkMany(pairs: ReadonlyArray<readonly [string, string]>, inFlight: number): Promise<number[]> {
    return this.guard(
      () =>
        new Promise<number[]>((resolve, reject) => {
          const refused: number[] = [];
          let next = 0;
          let done = 0;
          let failed = false;
          const issue = (index: number): void => {
            const [existingPath, newPath] = pairs[index];
            this.sftp.ext_openssh_hardlink(existingPath, newPath, (error?: Error | null) => {
              if (failed) return;
              if (error) {
                // A status from the server refuses this one link; anything else ends the batch.
                if (typeof (error as { code?: unknown }).code !== 'number') {
                  failed = true;
                  reject(error);
                  return;
                }
                refused.push(index);
              }
              done += 1;
              if (next < pairs.length) {
                if (this.closed) {
                  failed = true;
                  reject(Object.assign(new Error('connection closed while linking'), { code: 'ECONNRESET' }));
                  return;
                }
                issue(next++);
              } else if (done === pairs.length) {
                resolve(refused.sort((a, b) => a - b));
              }
            });
          };
          try {
            while (next < pairs.length && next < inFlight) issue(next++);
            if (pairs.length === 0) resolve([]);
          } catch (error) {
            // ssh2 throws synchronously when the server did not advertise the extension.
            failed = true;
            reject(error);
          }
        }),
    );
  }

  symlink(target: string, linkPath: string): Promise<void> {
    // ssh2 writes (target, link) on the wire only when the banner says OpenSSH, else (link, target);
    // swapping our arguments for the others puts OpenSSH's order on the wire for every server.
    const openSshBanner = (this.sftp as unknown as { _isOpenSSH?: boolean })._isOpenSSH === true;
    return this.guard(() =>
      callback((done) =>
        openSshBanner ? this.sftp.symlink(target, linkPath, done) : this.sftp.symlink(linkPath, target, done),
      ),
    );
  }

  readlink(path: string): Promise<string> {
    return this.guard(() => callback<string>((done) => this.sftp.readlink(path, done)));
  }

  private coalescer: { restore(): void } | undefined;

  coalesceRequests(on: boolean): void {
    if (on && this.coalescer === undefined) this.coalescer = coalesceChannelData(this.sftp);
    if (!on && this.coalescer !== undefined) {
      this.coalescer.restore();
      this.coalescer = undefined;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, POLITE_CLOSE_MS);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** The parts of ssh2's SFTP client this relies on (private in its typings). */
interface SftpClientInternals {
  _protocol: { channelData(channelId: number, data: Buffer): void } & Record<string | symbol, unknown>;
  outgoing: { id: number; packetSize: number };
}

/**
 * Buffers this SFTP channel's small writes and sends them together at the end of the current turn
 * of the event loop (or as soon as a packet would be full). Order is kept: a large write flushes
 * what is buffered first, and so do EOF and close. ssh2 has already charged the window per
 * request, so the window's accounting is unchanged.
 */
function coalesceChannelData(sftp: SFTPWrapper): { restore(): void } {
  const internals = sftp as unknown as SftpClientInternals;
  const protocol = internals._protocol;
  let pending: Buffer[] = [];
  let size = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (size === 0) return;
    const data = pending.length === 1 ? pending[0] : Buffer.concat(pending, size);
    pending = [];
    size = 0;
    protocol.channelData(internals.outgoing.id, data);
  };
  // Made once, not per property read: every request reads `channelData` (20,000 per release).
  const channelData = (channelId: number, data: Buffer): void => {
    if (channelId !== internals.outgoing.id) return protocol.channelData(channelId, data);
    const max = internals.outgoing.packetSize;
    if (size + data.length > max) flush();
    if (data.length >= max) return protocol.channelData(channelId, data);
    pending.push(data);
    size += data.length;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  internals._protocol = new Proxy(protocol, {
    get(target, property, receiver) {
      if (property === 'channelData') return channelData;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      // Anything else on the channel (EOF, close) must not overtake what is buffered.
      return (...args: unknown[]) => {
        flush();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SftpClientInternals['_protocol'];
  return {
    restore() {
      flush();
      internals._protocol = protocol;
    },
  };
}
