// One difusor's delivery: connect, check remote_dir, run its strategies on the connection; retried
// within one hard deadline, every failure turned into a coded result, temporary files cleaned up.
import type { Clock } from '../core/clock.js';
import { formatBytes, roundSeconds } from '../core/duration.js';
import { traceMark } from '../core/trace.js';
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
import { checkRemoteDir, deliveryFallbacksOf, type DeliveryFallback } from '../sftp/atomic-upload.js';
import type { SftpSession, SftpTransport } from '../sftp/session.js';
import { NOT_RETRYABLE, type DeliveryFailure, type DeliveryResult } from './types.js';
import { type PublishSummary } from '../ledger/types.js';
import { type FailureCode } from '../core/failure-codes.js';
import type { DeliveryStrategy } from './modes/strategy.js';

// Short backoffs: a cut is every few minutes, and the whole delivery has one deadline anyway.
const RETRY_BACKOFF_MS = [1000, 2000];
// A retry that cannot get this long to run is not worth starting.
const MIN_ATTEMPT_MS = 500;
// Cleaning up after a failure must never take long: the next delivery's sweep is the safety net.
const CLEANUP_BUDGET_MS = 3000;

/** One difusor's delivery: what to run on its connection, chosen beforehand (modes/index.ts). */
export interface DifusorDelivery {
  difusor: Difusor;
  settings: PushSettings;
  /** Run in order on one connection, inside one deadline. */
  strategies: DeliveryStrategy[];
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
 * Runs a difusor's strategies (the package, its `.sha256`, `.sig` and then `LATEST`; the site; a
 * notice) on one connection. Never throws: every
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
        // Package bytes actually sent (a delta is smaller than the full package); a site's bytes are in `publish`.
        bytes: outcome.sentBytes,
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
  const { difusor, settings } = delivery;
  const bytesNeeded = Math.max(0, ...delivery.strategies.map((s) => s.bytesNeeded));
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
      packageBytesAcked === undefined ? '' : `, ${formatBytes(packageBytesAcked)} of ${formatBytes(bytesNeeded)} acknowledged`;
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
    for (const strategy of delivery.strategies) {
      const outcome = await strategy.deliver(live, {
        difusor,
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
    const code: FailureCode = classifyError(cause, { stage, freeBytesAfterFailure, bytesNeeded });
    let detail = describeError(cause);
    if (code === 'NO_SPACE') {
      detail +=
        freeBytesAfterFailure === undefined
          ? ' (the server does not report its free space)'
          : `; ${formatBytes(freeBytesAfterFailure)} free after removing our partial file, ${formatBytes(bytesNeeded)} needed`;
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
