// One difusor's delivery: connect, upload under a hidden temporary name, verify, rename into place,
// LATEST last; retried within one hard deadline, every failure turned into a coded result.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Clock } from '../core/clock.js';
import { formatBytes, roundSeconds } from '../core/duration.js';
import { traceMark } from '../core/trace.js';
import type { BuiltPackage } from '../package/types.js';
import type { Difusor, PushSettings } from '../registry/types.js';
import {
  DeliveryError,
  authFailureHint,
  classifyError,
  mayBeNoSpace,
  describeError,
  failureMessage,
  isDeliveryError,
  type DeliveryStage,
} from '../sftp/classify.js';
import { CREATED_FILE_MODE, type SftpSession, type SftpTransport } from '../sftp/transport.js';
import {
  NOT_RETRYABLE,
  type DeliveryFailure,
  type DeliveryFallback,
  type DeliveryResult,
  type FailureCode,
  type PublishSummary,
} from './types.js';
import type { PackageExtras } from './modes/package-choice.js';
import { strategiesFor, usesSite, type DeliveryStrategy, type SitePlan } from './modes/strategy.js';

function usesPackage(mode: Difusor['delivery']): boolean {
  return !usesSite(mode) || mode === 'both';
}

/** The file every temporary upload is named after: `.<final>.prep-push-<12 hex>.part`. */
export const TEMP_FILE_PATTERN = /^\..+\.prep-push-[0-9a-f]{12}\.part$/;

export function temporaryNameFor(finalName: string): string {
  return `.${finalName}.prep-push-${randomBytes(6).toString('hex')}.part`;
}

export const LATEST_FILE_NAME = 'LATEST';

const CUT_ID_IN_NAME = /\d{8}_\d{4}/g;

/**
 * LATEST names the newest package a difusor holds, so re-pushing an older cut by hand (say, one it
 * missed, for its archive) must not move it backwards. Names without a recognisable cut id are
 * replaced, as are equal cuts (a re-push of the same cut is idempotent).
 */
export function shouldReplaceLatest(currentLatest: string | null, newCutId: string, latestMustName?: string | null): boolean {
  // The last cut-id-shaped run is the {cut} (a template may hold other digits before it).
  // A delta's name ends with `.from-<base cut>`: the base is not the cut it brings.
  const current = currentLatest?.replace(/\.from-\d{8}_\d{4}/, '').match(CUT_ID_IN_NAME)?.pop();
  // After `retract`, the cut LATEST must name is older than what it names: the one move back.
  return current === undefined || current <= newCutId || newCutId === latestMustName;
}

// Short backoffs: a cut is every few minutes, and the whole delivery has one deadline anyway.
const RETRY_BACKOFF_MS = [1000, 2000];
// A retry that cannot get this long to run is not worth starting.
const MIN_ATTEMPT_MS = 500;
// Cleaning up after a failure must never take long: the next delivery's sweep is the safety net.
const CLEANUP_BUDGET_MS = 3000;

export interface AtomicUploadSource {
  /** A local file (the package) or a small in-memory content (.sha256, LATEST). */
  localFile?: string;
  data?: string | Buffer;
}

/**
 * Writes `remoteDir/finalName` so that readers only ever see the old complete file or the new
 * complete one: upload to a hidden temporary name, check its size, then posix-rename over the
 * final name. Temporary names still on the server (on failure) stay in `pendingTemps`, so the
 * caller can remove them, on this connection or a new one.
 */
export async function uploadAtomically(
  session: SftpSession,
  source: AtomicUploadSource,
  target: { remoteDir: string; finalName: string; expectedBytes: number },
  pendingTemps: Set<string>,
  onProgress?: (bytesSoFar: number) => void,
): Promise<void> {
  const tempPath = posix.join(target.remoteDir, temporaryNameFor(target.finalName));
  const finalPath = posix.join(target.remoteDir, target.finalName);
  pendingTemps.add(tempPath);
  if (source.localFile !== undefined) await session.fastPut(source.localFile, tempPath, onProgress);
  else await session.writeFile(tempPath, source.data ?? '');
  const { size } = await session.stat(tempPath);
  if (size !== target.expectedBytes) {
    throw new DeliveryError(
      'VERIFY_FAILED',
      `uploaded ${tempPath} has ${size} bytes, expected ${target.expectedBytes}`,
    );
  }
  await setCreatedFileMode(session, tempPath);
  await session.flushToDisk(tempPath);
  await session.posixRename(tempPath, finalPath);
  pendingTemps.delete(tempPath);
}

/**
 * Sets CREATED_FILE_MODE on a file we uploaded, before it gets its final name: ProFTPD, for one,
 * creates files with the mode the client's open asked for (0666 from ssh2's writeFile) under a
 * permissive umask.
 */
export async function setCreatedFileMode(session: SftpSession, path: string): Promise<void> {
  await session.chmod(path, CREATED_FILE_MODE);
}

/** What this server lacks of what an atomic, durable upload uses, named for the result. */
export function deliveryFallbacksOf(extensions: Readonly<Record<string, string>>): DeliveryFallback[] {
  const fallbacks: DeliveryFallback[] = [];
  if (!('fsync@openssh.com' in extensions)) fallbacks.push('no-fsync');
  if (!('posix-rename@openssh.com' in extensions)) fallbacks.push('no-posix-rename');
  return fallbacks;
}

/**
 * Fails with REMOTE_DIR_MISSING unless `remoteDir` is a directory as the account sees it. prep-push
 * never creates remote_dir nor its parents: on a chrooted account a path written as seen from
 * outside the jail would otherwise be created inside it, and the files land where nobody serves them.
 */
export async function checkRemoteDir(session: SftpSession, remoteDir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    ({ isDirectory } = await session.stat(remoteDir));
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== SFTP_NO_SUCH_FILE) throw error;
    throw new DeliveryError('REMOTE_DIR_MISSING', `remote_dir ${remoteDir} does not exist as this account sees it`, { cause: error });
  }
  if (!isDirectory) throw new DeliveryError('REMOTE_DIR_MISSING', `remote_dir ${remoteDir} is not a directory`);
}

const SFTP_NO_SUCH_FILE = 2;

/** Removes temporary files of ours left in `remoteDir` by earlier failed runs. Best effort. */
export async function sweepStaleTemps(session: SftpSession, remoteDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await session.readdir(remoteDir)) {
    if (!TEMP_FILE_PATTERN.test(entry.name)) continue;
    const path = posix.join(remoteDir, entry.name);
    try {
      await session.unlink(path);
      removed.push(path);
    } catch {
      // Not ours to insist on: a read-only account fails later with a clear PERMISSION_DENIED.
    }
  }
  return removed;
}

export interface DifusorDelivery {
  difusor: Difusor;
  pkg: BuiltPackage;
  /** Content of `pkg.sha256File`, read once for every difusor. */
  sha256Text: string;
  settings: PushSettings;
  /** The cut LATEST must name (see shouldReplaceLatest). */
  latestMustName?: string | null;
  /** Signature and deltas (package-choice.ts); absent: the full package as before. */
  extras?: PackageExtras;
  /** The site to publish, for a difusor whose `delivery` is site or both. */
  site?: SitePlan;
  /** What to run instead of the strategies of the difusor's `delivery` (a notice package). */
  strategies?: DeliveryStrategy[];
}

export interface DeliveryDeps {
  transport: SftpTransport;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}

interface AttemptSuccess {
  publish: PublishSummary | null;
  /** What the server lacked (fsync, posix-rename), named in the result. */
  fallbacks: DeliveryFallback[];
  /** Bytes of the package sent (the full one or a delta); 0 for a site-only difusor. */
  sentBytes: number;
}

interface AttemptFailure {
  failure: DeliveryFailure;
  /** Temporary files possibly left on the server by this attempt. */
  pendingTemps: Set<string>;
}

/** Rejects when `signal` aborts, so no awaited operation can outlive the deadline. */
function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Delivers the package, its `.sha256` and then `LATEST` to one difusor. Never throws: every
 * failure becomes the result's error. The whole delivery, retries included, ends within
 * `settings.transferTimeoutS` (plus the time to destroy a socket).
 */
export async function deliverToDifusor(delivery: DifusorDelivery, deps: DeliveryDeps): Promise<DeliveryResult> {
  const { difusor, settings } = delivery;
  const { clock } = deps;
  const startedAt = clock.monotonic();
  const deadlineAt = startedAt + settings.transferTimeoutS * 1000;
  let attempts = 0;
  let last: AttemptFailure | undefined;

  for (;;) {
    attempts += 1;
    const outcome = await attemptDelivery(delivery, deps, deadlineAt);
    if (!('failure' in outcome)) {
      return {
        id: difusor.id,
        outcome: 'delivered',
        error: null,
        seconds: roundSeconds(clock.monotonic() - startedAt),
        attempts,
        // Package bytes actually sent (a delta is smaller than delivery.pkg); a site's bytes are in `publish`.
        bytes: usesPackage(difusor.delivery) ? outcome.sentBytes : 0,
        fallbacks: outcome.fallbacks,
        publish: outcome.publish,
      };
    }
    last = outcome;
    const code = outcome.failure.code;
    const backoffMs = RETRY_BACKOFF_MS[Math.min(attempts - 1, RETRY_BACKOFF_MS.length - 1)];
    const remainingMs = deadlineAt - clock.monotonic();
    if (NOT_RETRYABLE.has(code) || attempts > settings.retries || remainingMs - backoffMs < MIN_ATTEMPT_MS) break;
    await sleep(backoffMs);
  }

  if (last.pendingTemps.size > 0) await removeTempsOnNewConnection(delivery, deps, deadlineAt, last.pendingTemps);
  return {
    id: difusor.id,
    outcome: 'failed',
    error: last.failure,
    seconds: roundSeconds(clock.monotonic() - startedAt),
    attempts,
    bytes: 0,
    publish: null,
  };
}

async function attemptDelivery(
  delivery: DifusorDelivery,
  deps: DeliveryDeps,
  deadlineAt: number,
): Promise<AttemptSuccess | AttemptFailure> {
  const { difusor, pkg, settings } = delivery;
  const remainingMs = Math.max(0, deadlineAt - deps.clock.monotonic());
  const connectTimeoutMs = Math.min(settings.connectTimeoutS * 1000, remainingMs);
  const pendingTemps = new Set<string>();
  let stage: DeliveryStage = 'connect';
  let step = `connecting as ${difusor.username}`;
  let session: SftpSession | undefined;

  // Bytes of the package the server acknowledged, for a timeout message that shows how far it got.
  let packageBytesAcked: number | undefined;
  // The deadline's reason depends on the stage it interrupts: still connecting is a connect
  // timeout (the last attempt's connect can be cut short by the whole deadline).
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    const sent =
      packageBytesAcked === undefined ? '' : `, ${formatBytes(packageBytesAcked)} of ${formatBytes(pkg.bytes)} acknowledged`;
    deadline.abort(
      stage === 'connect'
        ? new DeliveryError('CONNECT_TIMEOUT', `not connected within the remaining deadline (${Math.round(remainingMs / 100) / 10} s)`)
        : new DeliveryError(
            'TRANSFER_TIMEOUT',
            `delivery not finished within transfer_timeout_s (${settings.transferTimeoutS} s)${sent}`,
          ),
    );
    session?.destroy();
  }, remainingMs);

  try {
    traceMark(`${difusor.id}: connecting`);
    session = await deps.transport.connect(difusor, { env: deps.env, connectTimeoutMs, signal: deadline.signal });
    traceMark(`${difusor.id}: connected and authenticated`);
    stage = 'transfer';
    const live = session;
    const within = <T>(promise: Promise<T>): Promise<T> => raceSignal(promise, deadline.signal);
    const { remoteDir } = difusor;

    const fallbacks = deliveryFallbacksOf(live.extensions());
    step = `checking remote_dir ${remoteDir}`;
    await within(checkRemoteDir(live, remoteDir));
    let publish: PublishSummary | undefined;
    let sentBytes = 0;
    for (const strategy of delivery.strategies ?? strategiesFor(difusor.delivery)) {
      const outcome = await strategy.deliver(live, {
        delivery,
        within,
        setStep: (text) => {
          step = text;
        },
        pendingTemps,
        onPackageBytes: (bytes) => {
          packageBytesAcked = bytes;
        },
      });
      publish = outcome.publish ?? publish;
      sentBytes = outcome.sentBytes ?? sentBytes;
    }
    clearTimeout(timer);
    traceMark(`${difusor.id}: delivered`);
    await session.close();
    return { publish: publish ?? null, fallbacks, sentBytes };
  } catch (error) {
    const cause = deadline.signal.aborted ? deadline.signal.reason : error;
    // Our partial file goes first, so the free space measured is what the difusor really has.
    if (session?.alive && !deadline.signal.aborted && pendingTemps.size > 0) {
      await raceSignal(removeTemps(session, pendingTemps), deadline.signal).catch(() => {});
    }
    let freeBytesAfterFailure: number | undefined;
    if (!deadline.signal.aborted && session?.alive && mayBeNoSpace(error)) {
      freeBytesAfterFailure = await raceSignal(session.freeBytes(difusor.remoteDir), deadline.signal).catch(() => undefined);
    }
    const code: FailureCode = classifyError(cause, { stage, freeBytesAfterFailure, bytesNeeded: pkg.bytes });
    let detail = describeError(cause);
    if (code === 'NO_SPACE') {
      detail +=
        freeBytesAfterFailure === undefined
          ? ' (the server does not report its free space)'
          : `; ${formatBytes(freeBytesAfterFailure)} free after removing our partial file, ${formatBytes(pkg.bytes)} needed`;
    }
    if (code === 'AUTH_FAILED' && !isDeliveryError(cause)) detail += ` (offered ${credentialsOffered(difusor, deps.env)})`;
    const hint = isDeliveryError(cause)
      ? cause.hint
      : code === 'AUTH_FAILED'
        ? authFailureHint((cause as { serverSoftware?: string } | null)?.serverSoftware)
        : undefined;
    const failure = { code, message: failureMessage(code, difusor, step, detail, hint) };
    clearTimeout(timer);
    if (session) {
      if (session.alive && !deadline.signal.aborted) await session.close();
      else session.destroy();
    }
    return { failure, pendingTemps };
  } finally {
    clearTimeout(timer);
  }
}

/** What we tried to log in with, for an AUTH_FAILED message (names only, never a secret). */
function credentialsOffered(difusor: Difusor, env: NodeJS.ProcessEnv): string {
  const offered: string[] = [];
  if (difusor.privateKey !== undefined) offered.push(`private_key ${difusor.privateKey}`);
  if (difusor.passwordEnv !== undefined) offered.push(`the password in $${difusor.passwordEnv}`);
  if (offered.length === 0 && env.SSH_AUTH_SOCK) offered.push(`the keys of the ssh-agent at ${env.SSH_AUTH_SOCK}`);
  return offered.join(' and ');
}

async function removeTemps(session: SftpSession, pendingTemps: Set<string>): Promise<void> {
  for (const path of [...pendingTemps]) {
    try {
      await session.unlink(path);
      pendingTemps.delete(path);
    } catch (error) {
      // The server answered (no such file: the open had failed; permission denied: it will not
      // change on a new connection), so only a dead connection leaves it for a reconnect.
      if (typeof (error as { code?: unknown } | null)?.code === 'number') pendingTemps.delete(path);
    }
  }
}

/** The connection died mid-upload: one quick reconnect, within what is left of the deadline. */
async function removeTempsOnNewConnection(
  delivery: DifusorDelivery,
  deps: DeliveryDeps,
  deadlineAt: number,
  pendingTemps: Set<string>,
): Promise<void> {
  const budgetMs = Math.min(CLEANUP_BUDGET_MS, deadlineAt - deps.clock.monotonic());
  if (budgetMs < MIN_ATTEMPT_MS) return;
  const controller = new AbortController();
  const deadline = controller.signal;
  const timer = setTimeout(() => controller.abort(new Error('cleanup budget spent')), budgetMs);
  let session: SftpSession | undefined;
  try {
    session = await deps.transport.connect(delivery.difusor, {
      env: deps.env,
      connectTimeoutMs: Math.min(budgetMs, delivery.settings.connectTimeoutS * 1000),
      signal: deadline,
    });
    await raceSignal(removeTemps(session, pendingTemps), deadline);
    await session.close();
  } catch {
    session?.destroy();
    // The next delivery's sweep removes what is left.
  } finally {
    clearTimeout(timer);
  }
}
