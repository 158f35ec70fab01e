// Whole folders on a difusor: removing a tree (leftovers, pruned releases) with many requests in flight.
import { posix } from 'node:path';
import type pLimitType from 'p-limit';
import type { RemoteEntry, SftpSession } from '../sftp/session.js';
import { SFTP_PERMISSION_DENIED, isNoSuchFile } from '../sftp/status-codes.js';

type Limit = ReturnType<typeof pLimitType>;

function isStatus(error: unknown): boolean {
  return typeof (error as { code?: unknown } | null)?.code === 'number';
}

/**
 * Removes `path` and everything under it. Symlinks are removed, never followed. Entries of one
 * folder are removed concurrently through `limit`. A path already gone is fine.
 */
export async function removeTree(session: SftpSession, path: string, limit: Limit): Promise<void> {
  // UNLINK first, never LSTAT: ProFTPD mod_sftp's LSTAT follows a symlink to a folder (and its
  // RMDIR removes that folder), so a `.`-named link to a release would take the release with it.
  // UNLINK removes a file or a link, and a folder answers it with a status.
  let refused: unknown;
  try {
    await limit(() => session.unlink(path));
    return;
  } catch (error) {
    if (isNoSuchFile(error)) return;
    if (!isStatus(error)) throw error;
    refused = error;
  }
  let entries;
  try {
    entries = await limit(() => session.readdir(path));
  } catch (error) {
    if (isNoSuchFile(error)) return;
    // A folder we may not read says so (permission denied); anything else means it was no
    // folder after all, and the UNLINK refusal is the one that says why.
    if (isStatus(error) && (error as { code: number }).code !== SFTP_PERMISSION_DENIED) throw refused;
    throw error;
  }
  await Promise.all(
    entries
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map(async (entry) => {
        const child = posix.join(path, entry.name);
        try {
          // Most entries are files: try that first, a folder answers with a status.
          await limit(() => session.unlink(child));
        } catch (error) {
          if (isNoSuchFile(error)) return;
          if (!isStatus(error)) throw error;
          await removeTree(session, child, limit);
        }
      }),
  );
  try {
    await limit(() => session.rmdir(path));
  } catch (error) {
    if (!isNoSuchFile(error)) throw error;
  }
}

/** Names in `dir`, or [] when it does not exist. */
export async function listNames(session: SftpSession, dir: string): Promise<string[]> {
  try {
    return (await session.readdir(dir)).map((e) => e.name).filter((n) => n !== '.' && n !== '..');
  } catch (error) {
    if (isNoSuchFile(error)) return [];
    throw error;
  }
}

/** What a walk of a release found: its regular files with their sizes, and what it did not follow. */
export interface ScannedTree {
  /** Relative path → size, regular files only. */
  files: Map<string, number>;
  /** Relative paths of symlinks and non-regular entries (never followed, never reused). */
  unsafe: string[];
  /** More than SCAN_MAX_ENTRIES entries: the walk stopped, and the tree is not reused at all. */
  overfull: boolean;
}

/** A PREP release holds ~20,000 files; a tree far larger was not made by prep-push, and is not walked on (bounded memory). */
export const SCAN_MAX_ENTRIES = 400_000;

/**
 * Lists every entry under `root`, `inFlight` folders at a time, never descending into a
 * symlink: what site mode may reuse of a release on the difusor (its regular files) and what it
 * must not (anything else, whoever put it there).
 *
 * Folders wait in a list of names, and only `inFlight` listings are promises at a time:
 * a promise queued per folder (10,000 sección folders) was ~4 MB live per difusor in flight.
 */
export async function scanTree(session: SftpSession, root: string, inFlight: number): Promise<ScannedTree> {
  const tree: ScannedTree = { files: new Map(), unsafe: [], overfull: false };
  let seen = 0;
  const folders = [''];
  const add = (relative: string, entries: readonly RemoteEntry[]): void => {
    seen += entries.length;
    if (seen > SCAN_MAX_ENTRIES) tree.overfull = true;
    if (tree.overfull) return;
    for (const entry of entries) {
      if (entry.name === '.' || entry.name === '..') continue;
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.kind === 'file') tree.files.set(path, entry.size);
      else if (entry.kind === 'folder') folders.push(path);
      else tree.unsafe.push(path);
    }
  };
  await new Promise<void>((resolve, reject) => {
    let listing = 0;
    let failed = false;
    const pump = (): void => {
      while (!failed && !tree.overfull && folders.length > 0 && listing < Math.max(1, inFlight)) {
        const relative = folders.pop() as string;
        listing += 1;
        session.readdir(relative === '' ? root : `${root}/${relative}`).then(
          (entries) => {
            listing -= 1;
            add(relative, entries);
            pump();
          },
          (error: unknown) => {
            failed = true;
            reject(error);
          },
        );
      }
      if (listing === 0 && !failed) resolve();
    };
    pump();
  });
  return tree;
}
