// One run at a time per state dir: `<stateDir>/lock` names the run holding it. A lock left by a
// killed run on this host is taken over; a lock from another host never is (we cannot see its pid).
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { formatLocalTime } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import { lockPath } from '../core/state-dir.js';

/**
 * A lock file is never half-written (it is linked in whole), so an unreadable or empty one is
 * damage; still, give a few seconds' benefit of the doubt before treating it as stale.
 */
const UNREADABLE_LOCK_STALE_MS = 5000;
/** Rounds of "find it held by a dead run, clear it, try again" before giving up. */
const MAX_TAKEOVER_ROUNDS = 5;

/**
 * Lock files this process holds. A lock naming our own pid that is not in here was left by an
 * earlier process that had the same pid (a restarted container reuses small pids): it is stale.
 */
const heldByThisProcess = new Set<string>();

export interface LockHolder {
  pid: number;
  host: string;
  /** The prep-push command the holder runs (`cut`, `push`...). */
  command: string;
  /** ISO 8601 UTC. */
  startedAt: string;
}

export interface LockHandle {
  holder: LockHolder;
  /** The gone run whose stale lock this one took over (for the CLI to mention), or null. */
  tookOverFrom: LockHolder | null;
  /** Removes the lock if it is still ours (a no-op otherwise, and when called twice). */
  release(): Promise<void>;
}

export interface LockDeps {
  hostname?: string;
  pid?: number;
  now?: () => number;
  isProcessAlive?: (pid: number) => boolean;
}


/** Signal 0 checks for existence only. EPERM: it exists but belongs to someone else, so alive. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

interface LockSnapshot {
  /** Identity of the file read: a rename keeps it, a new lock file has another. */
  dev: number;
  ino: number;
  mtimeMs: number;
  text: string;
  holder: LockHolder | null;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(v.pid) && typeof v.host === 'string' && typeof v.command === 'string' && typeof v.startedAt === 'string') {
      return { pid: v.pid as number, host: v.host, command: v.command, startedAt: v.startedAt };
    }
  } catch {
    // Unreadable: judged by age below.
  }
  return null;
}

/** Reads a lock file through one descriptor, so identity and content belong to the same file. */
async function readLock(path: string): Promise<LockSnapshot | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = await handle.stat();
    const text = await handle.readFile('utf8');
    return { dev: stat.dev, ino: stat.ino, mtimeMs: stat.mtimeMs, text, holder: parseHolder(text) };
  } finally {
    await handle.close();
  }
}

const sameFile = (a: LockSnapshot, b: LockSnapshot) => a.dev === b.dev && a.ino === b.ino && a.text === b.text;

function ioError(what: string, path: string, cause: unknown): PrepPushError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new PrepPushError('io', `could not ${what} ${path}${code ? ` (${code})` : ''}`, {
    hint: 'check that the state dir exists and is writable by this user, or pass --state-dir',
    cause,
  });
}

function heldError(stateDir: string, path: string, snapshot: LockSnapshot, otherHost: boolean, timeZone?: string): PrepPushError {
  const h = snapshot.holder;
  const local = (t: string | number) => (timeZone ? formatLocalTime(t, timeZone) : new Date(t).toISOString());
  if (h === null) {
    return new PrepPushError(
      'lock',
      `the state dir ${stateDir} is locked by an unreadable lock file written at ${local(snapshot.mtimeMs)}`,
      { hint: `another run may be starting; wait a few seconds, or if no prep-push is running remove ${path}` },
    );
  }
  const why = otherHost ? '; a lock from another host is never taken over automatically' : '';
  return new PrepPushError(
    'lock',
    `the state dir ${stateDir} is locked by pid ${h.pid} on ${h.host} (prep-push ${h.command} since ${local(h.startedAt)})${why}`,
    {
      // On this host a holder whose process is gone is taken over by the next run: nothing to remove.
      hint: otherHost
        ? `another run on ${h.host} is in progress; wait for it, or once you are sure no prep-push runs on ${h.host}, remove ${path}`
        : 'another run is in progress; wait for it (a lock whose process has ended is taken over automatically)',
    },
  );
}

/**
 * Takes the state dir's lock, or throws a 'lock' error naming its holder.
 *
 * The lock file is written in full under a unique temporary name and then hard-linked to `lock`:
 * link() fails with EEXIST when the lock is held, so taking it is atomic and nobody ever reads a
 * half-written lock.
 *
 * A lock is stale when its holder ran on this host and its pid is gone (or, unreadable, when it is
 * older than a few seconds). Taking over must not let two runs that both judged it stale both
 * win. So a taker renames `lock` to a name of its own (rename is atomic: of several takers, only
 * one gets the stale file; the others get nothing, or a newer lock) and then checks that the file
 * it got is the very one it judged (same inode, same content). If so, it deletes it and competes
 * for `lock` with link() like anyone else. If not, it moved a live lock that another taker had
 * just linked, and links it straight back. A run that starts in exactly that window (microseconds,
 * right after a crash, while two others are taking over) is the one case this cannot exclude.
 */
export async function acquireLock(
  stateDir: string,
  info: { command: string; /** For times in messages (the registry's); default UTC. */ timeZone?: string },
  deps: LockDeps = {},
): Promise<LockHandle> {
  const host = deps.hostname ?? osHostname();
  const pid = deps.pid ?? process.pid;
  const now = deps.now ?? Date.now;
  const alive = deps.isProcessAlive ?? isProcessAlive;
  const path = lockPath(stateDir);
  const holder: LockHolder = { pid, host, command: info.command, startedAt: new Date(now()).toISOString() };
  const unique = `${pid}.${randomBytes(6).toString('hex')}`;
  const tempPath = `${path}.${unique}.tmp`;

  try {
    await mkdir(stateDir, { recursive: true });
    const handle = await open(tempPath, 'wx');
    try {
      await handle.writeFile(`${JSON.stringify(holder)}\n`);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw ioError('write a lock file in', stateDir, error);
  }

  try {
    // Our lock's identity is the temp file's: link() gives the same inode a second name. (Reading
    // `lock` back after linking could meet a taker's check in progress, with `lock` moved aside.)
    const ours = await readLock(tempPath);
    if (ours === null) throw ioError('read back the lock file in', stateDir, new Error(`${tempPath} vanished`));
    let tookOverFrom: LockHolder | null = null;
    for (let round = 0; round < MAX_TAKEOVER_ROUNDS; round += 1) {
      try {
        await link(tempPath, path);
        heldByThisProcess.add(path);
        return makeHandle(path, holder, ours, tookOverFrom);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create the lock', path, error);
      }

      const current = await readLock(path);
      if (current === null) continue; // released between our link and our read: try again
      const h = current.holder;
      const otherHost = h !== null && h.host !== host;
      const holderGone = h !== null && (h.pid === pid ? !heldByThisProcess.has(path) : !alive(h.pid));
      const stale = h === null ? now() - current.mtimeMs > UNREADABLE_LOCK_STALE_MS : !otherHost && holderGone;
      if (!stale) throw heldError(stateDir, path, current, otherHost, info.timeZone);

      const claimed = `${path}.stale.${unique}.${round}`;
      try {
        await rename(path, claimed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // another taker got it first
        throw ioError('take over the stale lock', path, error);
      }
      const got = await readLock(claimed);
      if (got !== null && sameFile(got, current)) {
        await unlink(claimed);
        tookOverFrom = current.holder;
        continue;
      }
      // We moved a live lock another taker had just linked: put it back and report it as held.
      try {
        await link(claimed, path);
      } catch (error) {
        // EEXIST: yet another run linked its lock meanwhile; it holds the lock now.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('restore the lock', path, error);
      }
      await unlink(claimed).catch(() => undefined);
      const back = await readLock(path);
      throw heldError(stateDir, path, back ?? got ?? current, false, info.timeZone);
    }
    const last = await readLock(path);
    if (last) throw heldError(stateDir, path, last, false, info.timeZone);
    throw new PrepPushError('lock', `could not take the lock ${path}: it kept changing hands`, {
      hint: 'several prep-push runs are starting at once; run again',
    });
  } catch (error) {
    throw error instanceof PrepPushError ? error : ioError('take the lock', path, error);
  } finally {
    await unlink(tempPath).catch(() => undefined);
  }
}

function makeHandle(path: string, holder: LockHolder, ours: LockSnapshot, tookOverFrom: LockHolder | null): LockHandle {
  let released = false;
  return {
    holder,
    tookOverFrom,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      heldByThisProcess.delete(path);
      // Only remove the file if it is still the one we linked: after a takeover it belongs to
      // another run, and deleting it would let a third one in.
      const current = await readLock(path);
      if (current !== null && sameFile(current, ours)) await unlink(path).catch(() => undefined);
    },
  };
}
