// Writing a file on a difusor so that readers only ever see the old complete file or the new
// complete one (hidden temporary name, size check, 0644, flush, posix-rename), and cleaning up
// what an interrupted upload left. Shared by the package, LATEST and notice strategies.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { DeliveryError } from './classify.js';
import { isNoSuchFile } from './status-codes.js';
import { CREATED_FILE_MODE, type SftpSession } from './session.js';

/** The file every temporary upload is named after: `.<final>.prep-push-<12 hex>.part`. */
export const TEMP_FILE_PATTERN = /^\..+\.prep-push-[0-9a-f]{12}\.part$/;

export function temporaryNameFor(finalName: string): string {
  return `.${finalName}.prep-push-${randomBytes(6).toString('hex')}.part`;
}

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
    if (!isNoSuchFile(error)) throw error;
    throw new DeliveryError('REMOTE_DIR_MISSING', `remote_dir ${remoteDir} does not exist as this account sees it`, { cause: error });
  }
  if (!isDirectory) throw new DeliveryError('REMOTE_DIR_MISSING', `remote_dir ${remoteDir} is not a directory`);
}

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

/** What a delivery did where the server lacks an OpenSSH extension. */
export const DELIVERY_FALLBACKS = {
  /** No fsync@openssh.com: files renamed into place without being flushed to their disk first. */
  'no-fsync': 'no fsync@openssh.com: files not flushed to the server\'s disk before the rename',
  /** No posix-rename@openssh.com: the old file is removed, then the new one renamed (a short window without it). */
  'no-posix-rename': 'no posix-rename@openssh.com: remove then rename (a moment without the file, never a partial one)',
} as const;

export type DeliveryFallback = keyof typeof DELIVERY_FALLBACKS;
