// Probing one difusor's server over SFTP: host key and login (the one connect helper), a test file
// written, read back and removed, free space, capabilities tried for real, and a timed upload —
// every scratch entry `.`-named and removed in `finally`, whatever failed.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Clock } from '../core/clock.js';
import { classifyError, describeError, type DeliveryStage } from '../sftp/classify.js';
import type { SftpSession, SftpTransport } from '../sftp/session.js';
import type { Difusor } from '../registry/types.js';
import type { ProbeError, ProbeMeasurements } from './verdict.js';
import { SFTP_NO_SUCH_FILE } from '../sftp/status-codes.js';

/** Every scratch entry of a probe starts with this; an interrupted probe's are swept by the next one. */
export const PROBE_PREFIX = '.prep-push-probe';

const TEST_TEXT = 'prep-push probe: this file is removed within seconds\n';

export interface ProbeDeps {
  transport: SftpTransport;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}

export interface ProbeSettings {
  connectTimeoutMs: number;
  /** How long the timed upload may take before it counts as too slow. */
  uploadDeadlineS: number;
  /** A local file of random bytes to upload (its size is the probe size). */
  probeFile: string;
  probeBytes: number;
}

function probeError(error: unknown, stage: DeliveryStage): ProbeError {
  return { code: classifyError(error, { stage }), message: describeError(error) };
}

function isNoSuchFile(error: unknown): boolean {
  return (error as { code?: unknown }).code === SFTP_NO_SUCH_FILE;
}

/** Removes one scratch entry (file, symlink or folder); true when it is gone. */
async function removeEntry(session: SftpSession, path: string): Promise<boolean> {
  // UNLINK first, LSTAT only after it is refused: ProFTPD's LSTAT follows a symlink, and would
  // send a link to a folder to RMDIR. A folder (or a read-only server) answers UNLINK with a status.
  try {
    await session.unlink(path);
    return true;
  } catch (error) {
    if (isNoSuchFile(error)) return true;
    if (typeof (error as { code?: unknown }).code !== 'number') return false;
  }
  try {
    if (!(await session.lstat(path)).isDirectory) return false;
    await session.rmdir(path);
    return true;
  } catch (error) {
    return isNoSuchFile(error);
  }
}

/** Removes what an interrupted earlier probe left in `remoteDir`. */
export async function sweepProbeLeftovers(session: SftpSession, remoteDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await session.readdir(remoteDir)) {
    if (!entry.name.startsWith(PROBE_PREFIX)) continue;
    const path = posix.join(remoteDir, entry.name);
    if (await removeEntry(session, path)) removed.push(path);
  }
  return removed;
}

/** Settles with 'timeout' after `ms` unless `work` settles first. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes one difusor. Never throws: what failed is in the measurements. Scratch names are
 * removed before returning, over a second connection when the first one was lost or cut.
 */
export async function probeDifusor(difusor: Difusor, settings: ProbeSettings, deps: ProbeDeps): Promise<ProbeMeasurements> {
  const started = deps.clock.monotonic();
  const m: ProbeMeasurements = {
    id: difusor.id,
    connectError: null,
    leftoversRemoved: [],
    writeTest: null,
    freeBytes: null,
    upload: null,
    extensions: {},
    symlink: null,
    hardlink: null,
    symlinkSwap: null,
    interrupted: null,
    leftBehind: [],
    seconds: 0,
  };
  const finish = (): ProbeMeasurements => ({ ...m, seconds: Math.round(deps.clock.monotonic() - started) / 1000 });
  const connect = () => deps.transport.connect(difusor, { env: deps.env, connectTimeoutMs: settings.connectTimeoutMs });

  let session: SftpSession;
  try {
    session = await connect();
  } catch (error) {
    m.connectError = probeError(error, 'connect');
    return finish();
  }

  const scratch = `${PROBE_PREFIX}-${randomBytes(6).toString('hex')}`;
  const at = (suffix: string) => posix.join(difusor.remoteDir, `${scratch}-${suffix}`);
  const created = new Set<string>();
  // A frozen server must not hold the probe: past this, the connection is destroyed and every
  // pending request fails, so the steps below end and the cleanup runs.
  const budgetMs = 2 * settings.connectTimeoutMs + settings.uploadDeadlineS * 1000 + 10_000;
  let destroyed = false;
  const cut = (): void => {
    destroyed = true;
    session.destroy();
  };
  const watchdog = setTimeout(cut, budgetMs);
  let step = 'list remote_dir';
  try {
    m.extensions = { ...session.extensions() };
    m.leftoversRemoved = await sweepProbeLeftovers(session, difusor.remoteDir);

    step = 'write test';
    m.writeTest = await writeReadRemove(session, at('test'), created);

    if (m.writeTest.ok) {
      step = 'capabilities';
      await tryCapabilities(session, m, at, created);
      step = 'remove test';
      try {
        await session.unlink(at('test'));
        created.delete(at('test'));
      } catch (error) {
        m.writeTest = { ok: false, step: 'remove', error: probeError(error, 'transfer') };
      }
    }

    step = 'free space';
    m.freeBytes = await session.freeBytes(difusor.remoteDir);

    if (m.writeTest.ok) {
      step = 'upload';
      const target = at('upload');
      created.add(target);
      const t0 = deps.clock.monotonic();
      let acked = 0;
      const put = session.fastPut(settings.probeFile, target, (bytes) => (acked = bytes));
      put.catch(() => undefined);
      const outcome = await within(put, settings.uploadDeadlineS * 1000);
      const seconds = (deps.clock.monotonic() - t0) / 1000;
      if (outcome === 'timeout') {
        // The only way to stop an upload in flight; the cleanup reconnects.
        cut();
        m.upload = { bytes: acked, seconds, completed: false, deadlineS: settings.uploadDeadlineS };
      } else {
        m.upload = { bytes: settings.probeBytes, seconds, completed: true, deadlineS: settings.uploadDeadlineS };
      }
    }
  } catch (error) {
    const failure =
      step === 'list remote_dir' && isNoSuchFile(error)
        ? { code: 'REMOTE_DIR_MISSING', message: `${difusor.remoteDir} does not exist as ${difusor.username} sees it; ask the difusor to create it, or fix remote_dir` }
        : probeError(error, 'transfer');
    if (step === 'upload') m.upload = { error: failure };
    else if (step === 'write test' && m.writeTest === null) m.writeTest = { ok: false, step: 'write', error: failure };
    else m.interrupted = { step, error: failure };
  } finally {
    clearTimeout(watchdog);
    m.leftBehind = await removeScratch(destroyed ? null : session, created, connect);
  }
  return finish();
}

async function writeReadRemove(session: SftpSession, path: string, created: Set<string>): Promise<NonNullable<ProbeMeasurements['writeTest']>> {
  created.add(path);
  try {
    await session.writeFile(path, TEST_TEXT);
  } catch (error) {
    return { ok: false, step: 'write', error: probeError(error, 'transfer') };
  }
  let text: string | null;
  try {
    text = await session.readSmallFile(path, Buffer.byteLength(TEST_TEXT));
  } catch (error) {
    return { ok: false, step: 'read', error: probeError(error, 'transfer') };
  }
  if (text !== TEST_TEXT) {
    return { ok: false, step: 'read', error: { code: 'VERIFY_FAILED', message: `read back ${text === null ? 'nothing' : `${Buffer.byteLength(text)} bytes`} instead of the ${TEST_TEXT.length} written` } };
  }
  // Kept until the capability tests have linked to it; then removed (a step of its own).
  return { ok: true };
}

/** Tries symlink + readlink, a hard link (when advertised), and swapping a symlink by rename. */
async function tryCapabilities(
  session: SftpSession,
  m: ProbeMeasurements,
  at: (suffix: string) => string,
  created: Set<string>,
): Promise<void> {
  const testFile = at('test');
  const link = at('link');
  created.add(link);
  try {
    // A relative target, as site mode's `current -> releases/<cut>` is.
    await session.symlink(posix.basename(testFile), link);
    // READLINK answering is what tells a symlink: ProFTPD's LSTAT follows one whose target exists.
    const target = await session.readlink(link);
    m.symlink = posix.basename(target) === posix.basename(testFile);
  } catch {
    m.symlink = false;
  }

  if ('hardlink@openssh.com' in m.extensions) {
    const hard = at('hardlink');
    created.add(hard);
    try {
      await session.hardlink(testFile, hard);
      m.hardlink = (await session.lstat(hard)).isFile;
    } catch {
      m.hardlink = false;
    }
  } else {
    m.hardlink = false;
  }

  if (m.symlink && 'posix-rename@openssh.com' in m.extensions) {
    // ProFTPD's rename follows the symlink it replaces; then `current` cannot be swapped atomically.
    const next = at('link-next');
    created.add(next);
    try {
      await session.symlink(posix.basename(at('other')), next);
      await session.posixRename(next, link);
      m.symlinkSwap = posix.basename(await session.readlink(link)) === posix.basename(at('other'));
    } catch {
      m.symlinkSwap = false;
    }
  } else {
    m.symlinkSwap = false;
  }
}

/**
 * Removes every scratch path: over this session while it lives, else (or when it dies meanwhile)
 * over one new connection. Returns what may still be there (the next probe sweeps it).
 */
async function removeScratch(session: SftpSession | null, created: Set<string>, connect: () => Promise<SftpSession>): Promise<string[]> {
  let left = [...created];
  let current = session !== null && session.alive ? session : null;
  for (let attempt = 0; attempt < 2 && left.length > 0; attempt += 1) {
    if (current === null) {
      try {
        current = await connect();
      } catch {
        return left;
      }
    }
    const using: SftpSession = current;
    const remaining: string[] = [];
    const cleanup = (async () => {
      for (const path of left) if (!(await removeEntry(using, path))) remaining.push(path);
    })();
    // A server that froze during the cleanup is left to the next probe's sweep.
    if ((await within(cleanup, 10_000)) === 'timeout') {
      using.destroy();
      return left;
    }
    left = remaining;
    if (using.alive && left.length === 0) break;
    if (!using.alive) current = null;
    else break; // alive but refusing: another connection would not do better
  }
  await current?.close();
  return left;
}
