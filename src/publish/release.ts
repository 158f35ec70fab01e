// Publishes one local folder as a release on an open session: stage under `releases/.staging-…`,
// link what the difusor already holds, upload the rest, rename into place, switch `current`, prune.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import pLimit from 'p-limit';
import { DeliveryError } from '../delivery/classify.js';
import type { SftpSession } from '../delivery/transport.js';
import type { PublishSummary } from '../delivery/types.js';
import { probeCapabilities, publishModeOf, switchMethodOf, type SwitchMethod } from './capabilities.js';
import {
  CURRENT_LINK,
  MANIFEST_NAME,
  RELEASES_DIR,
  TEMP_LINK_PATTERN,
  WORK_PREFIX,
  currentMoveFor,
  linkTargetOf,
  pruningNameFor,
  releaseOfLinkTarget,
  releasesToPrune,
  stagingNameFor,
  tempLinkName,
} from './layout.js';
import { dirsByDepth, parseManifestFiles, planRelease, type LinkBase, type PlanFile } from './plan.js';
import { isNoSuchFile, listNames, removeTree } from './remote-tree.js';

/** A release as it sits on the institute's disk. */
export interface LocalRelease {
  /** Directory name under `releases/`: the cut id (a notice may use `<cut_id>-aviso`). */
  name: string;
  /** Holds every file the manifest lists, under its relative path. */
  sourceDir: string;
  /** The bytes of MANIFEST.json (`{"cut", "institute", "files": [{path, size, sha256}]}`). */
  manifest: Buffer;
  /** More files of `sourceDir` uploaded with every publish, after the listed ones (e.g. `MANIFEST.json.sig`). */
  extraFiles?: string[];
}

export interface PublishOptions {
  /** Newest releases kept after the switch; 0 keeps all. The current one is never removed. */
  keepReleases: number;
  /** Let `current` move to an older release than the one it names. */
  allowRollback: boolean;
  /**
   * Publish a release older than the one `current` names, leaving `current` where it is
   * (`cut --allow-older`). Ignored when allowRollback is set (that one moves `current`).
   */
  allowOlder?: boolean;
  /**
   * Whether a release found on the difusor is what we published (its MANIFEST.json's SHA-256 is
   * one we recorded). Only trusted releases lend their files as hard links; when in doubt, upload.
   */
  isTrusted(release: string, manifestSha256: string): boolean;
  /** SFTP requests in flight on the connection (default 64). */
  concurrency?: number;
  /** Called before each phase, for failure messages ("linking 19,400 files"). */
  onStep?(step: string): void;
}

const DEFAULT_CONCURRENCY = 64;
// Larger files go through fastPut (many writes in flight); smaller ones are one open/write/close.
const SMALL_FILE_BYTES = 1 << 20;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Counts every request made through the session, for the benchmark's requests-per-cut. */
function countingSession(session: SftpSession): { session: SftpSession; count: () => number } {
  let requests = 0;
  const uncounted = new Set(['alive', 'extensions', 'destroy', 'close', 'coalesceRequests']);
  const proxy = new Proxy(session, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || uncounted.has(String(property))) return value;
      return (...args: unknown[]) => {
        requests += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { session: proxy, count: () => requests };
}

/**
 * Publishes `release` under `remoteDir` and points `current` at it. Never leaves a partial tree
 * under a release name, nor `current` pointing at one: all work happens under `.`-names, removed
 * at the start of the next publish if this one dies. Throws a DeliveryError (ROLLBACK_REFUSED,
 * SFTP_ERROR) or the session's own error; the caller classifies it.
 */
export async function publishRelease(
  rawSession: SftpSession,
  remoteDir: string,
  release: LocalRelease,
  options: PublishOptions,
): Promise<PublishSummary> {
  rawSession.coalesceRequests?.(true);
  try {
    return await publishOnSession(rawSession, remoteDir, release, options);
  } finally {
    if (rawSession.alive) rawSession.coalesceRequests?.(false);
  }
}

async function publishOnSession(
  rawSession: SftpSession,
  remoteDir: string,
  release: LocalRelease,
  options: PublishOptions,
): Promise<PublishSummary> {
  const { session, count } = countingSession(rawSession);
  const limit = pLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  const step = (text: string): void => options.onStep?.(text);
  const releasesDir = posix.join(remoteDir, RELEASES_DIR);
  const currentPath = posix.join(remoteDir, CURRENT_LINK);
  const files = parseManifestFiles(release.manifest.toString('utf8'));
  if (files === null) throw new DeliveryError('SFTP_ERROR', `the MANIFEST.json of release ${release.name} is not valid`);
  const manifestSha256 = sha256Of(release.manifest);

  step(`creating ${releasesDir}`);
  await ensureDirectory(session, releasesDir);
  step('probing the server for hard links, posix-rename and symlinks');
  const caps = await probeCapabilities(session, remoteDir, limit);
  const switchMethod = switchMethodOf(caps);
  if (switchMethod === null) {
    throw new DeliveryError(
      'SFTP_ERROR',
      `the server cannot create symlinks, which site mode needs for ${currentPath}; use delivery: package for this difusor`,
    );
  }
  const mode = publishModeOf(caps, switchMethod);
  step(`removing leftovers of earlier runs in ${releasesDir}`);
  await removeLeftovers(session, remoteDir, limit);

  step(`reading ${currentPath}`);
  const current = await readCurrentRelease(session, currentPath);
  const move = currentMoveFor(current, release.name, { rollback: options.allowRollback, older: options.allowOlder ?? false });
  if (move === 'refuse') {
    throw new DeliveryError(
      'ROLLBACK_REFUSED',
      `${currentPath} names ${current}, newer than ${release.name}; current was left as it is`,
    );
  }
  const summary = (uploaded: number, linked: number, bytes: number, now: string | null): PublishSummary => ({
    mode,
    release: release.name,
    uploaded_files: uploaded,
    linked_files: linked,
    bytes_uploaded: bytes,
    current: now,
    manifest_sha256: manifestSha256,
    sftp_operations: count(),
  });

  const onDifusor = (await listNames(session, releasesDir)).filter((n) => !n.startsWith(WORK_PREFIX));
  const finalDir = posix.join(releasesDir, release.name);
  let replaced: string | null = null;
  if (onDifusor.includes(release.name)) {
    const theirs = await readRemoteManifest(session, posix.join(finalDir, MANIFEST_NAME));
    if (theirs !== null && theirs.sha256 === manifestSha256 && (await extraFilesPresent(session, finalDir, release))) {
      // Already there, complete (its manifest is written last): at most the switch is left to do.
      if (move === 'switch' && current !== release.name) {
        step(`switching ${currentPath} to ${release.name}`);
        await switchCurrent(session, remoteDir, release.name, switchMethod);
      }
      const now = move === 'switch' ? release.name : current;
      await prune(session, releasesDir, onDifusor, options.keepReleases, [now, release.name], limit, step);
      return summary(0, 0, 0, now);
    }
    replaced = release.name;
  }

  step('reading the manifests of the releases on the difusor');
  const bases = caps.hardlink ? await trustedBases(session, releasesDir, current, onDifusor, release.name, options) : [];
  const plan = planRelease(files, bases, caps.hardlink);
  const staging = posix.join(releasesDir, stagingNameFor(release.name));

  step(`creating ${plan.dirs.length + 1} folders in ${staging}`);
  await session.mkdir(staging, DIR_MODE);
  const dirModeRight = (await session.lstat(staging)).permissions === DIR_MODE;
  for (const group of dirsByDepth(plan.dirs)) {
    await Promise.all(group.map((dir) => limit(() => session.mkdir(posix.join(staging, dir), DIR_MODE))));
  }
  if (!dirModeRight) {
    // The server's umask took bits off: set them explicitly, on every folder.
    await Promise.all(
      [staging, ...plan.dirs.map((d) => posix.join(staging, d))].map((dir) => limit(() => session.chmod(dir, DIR_MODE))),
    );
  }

  let uploaded = 0;
  let bytesUploaded = 0;
  let linked = 0;
  const toUpload = [...plan.upload];
  step(`linking ${plan.link.length} unchanged files from earlier releases`);
  await Promise.all(
    plan.link.map((f) =>
      limit(async () => {
        try {
          await session.hardlink(posix.join(releasesDir, f.from), posix.join(staging, f.path));
          linked += 1;
        } catch (error) {
          // The server refused this one link (another file system, a quota on links): upload it.
          if (typeof (error as { code?: unknown }).code !== 'number') throw error;
          toUpload.push({ path: f.path, size: f.size });
        }
      }),
    ),
  );

  step(`uploading ${toUpload.length} new or changed files`);
  const uploads = [...toUpload.map((f) => f.path), ...(release.extraFiles ?? [])];
  let fileModeFixNeeded: boolean | undefined;
  const put = async (relative: string, data?: Buffer): Promise<void> => {
    const remote = posix.join(staging, relative);
    const size = await uploadFile(session, data ?? join(release.sourceDir, relative), remote);
    uploaded += 1;
    bytesUploaded += size;
    if (fileModeFixNeeded === undefined) fileModeFixNeeded = (await session.lstat(remote)).permissions !== FILE_MODE;
  };
  // One first, so the mode check is known before the rest go out.
  if (uploads.length > 0) await put(uploads[0]);
  await Promise.all(uploads.slice(1).map((relative) => limit(() => put(relative))));
  // The manifest last: a release dir holding it is complete (what a re-run checks).
  await put(MANIFEST_NAME, release.manifest);
  if (fileModeFixNeeded) {
    await Promise.all(
      [...uploads, MANIFEST_NAME].map((relative) => limit(() => session.chmod(posix.join(staging, relative), FILE_MODE))),
    );
  }

  step(`renaming ${staging} to ${finalDir}`);
  let aside: string | null = null;
  if (replaced !== null) {
    aside = posix.join(releasesDir, pruningNameFor(replaced));
    await session.posixRename(finalDir, aside);
  }
  await session.posixRename(staging, finalDir);
  if (move === 'switch') {
    step(`switching ${currentPath} to ${release.name}`);
    await switchCurrent(session, remoteDir, release.name, switchMethod);
  }
  const now = move === 'switch' ? release.name : current;
  if (aside !== null) await removeTree(session, aside, limit);
  await prune(session, releasesDir, [...new Set([...onDifusor, release.name])], options.keepReleases, [now, release.name], limit, step);
  return summary(uploaded, linked, bytesUploaded, now);
}

async function ensureDirectory(session: SftpSession, dir: string): Promise<void> {
  try {
    const stat = await session.lstat(dir);
    if (stat.isDirectory && !stat.isSymlink) return;
    throw new DeliveryError('SFTP_ERROR', `${dir} exists and is not a folder; remove it or point remote_dir elsewhere`);
  } catch (error) {
    if (!isNoSuchFile(error)) throw error;
  }
  await session.mkdir(dir, DIR_MODE);
  if ((await session.lstat(dir)).permissions !== DIR_MODE) await session.chmod(dir, DIR_MODE);
}

/** Uploads a local file (path) or bytes; resolves with the bytes sent. */
async function uploadFile(session: SftpSession, source: string | Buffer, remote: string): Promise<number> {
  if (typeof source !== 'string') {
    await session.writeFile(remote, source);
    return source.length;
  }
  const data = await readFile(source).catch((error: unknown) => {
    throw new DeliveryError('SFTP_ERROR', `cannot read the local file ${source}: ${(error as Error).message}`);
  });
  if (data.length > SMALL_FILE_BYTES) await session.fastPut(source, remote);
  else await session.writeFile(remote, data);
  return data.length;
}

/** What a killed or disconnected run left: `releases/.…` and the temporary link beside `current`. */
async function removeLeftovers(session: SftpSession, remoteDir: string, limit: ReturnType<typeof pLimit>): Promise<void> {
  const releasesDir = posix.join(remoteDir, RELEASES_DIR);
  const stale = (await listNames(session, releasesDir)).filter((n) => n.startsWith(WORK_PREFIX));
  await Promise.all(stale.map((name) => removeTree(session, posix.join(releasesDir, name), limit)));
  const links = (await listNames(session, remoteDir)).filter((n) => TEMP_LINK_PATTERN.test(n));
  await Promise.all(links.map((name) => limit(() => session.unlink(posix.join(remoteDir, name)))));
}

/** The release `current` names, or null when there is no `current` yet. */
async function readCurrentRelease(session: SftpSession, currentPath: string): Promise<string | null> {
  let stat;
  try {
    stat = await session.lstat(currentPath);
  } catch (error) {
    if (isNoSuchFile(error)) return null;
    throw error;
  }
  if (!stat.isSymlink) {
    // ProFTPD mod_sftp's LSTAT follows a symlink whose target exists (it answers with the folder's
    // attributes), so a live `current` looks like a folder there; READLINK tells a link from one.
    const target = await session.readlink(currentPath).catch((error: unknown) => {
      if (typeof (error as { code?: unknown }).code === 'number') return null;
      throw error;
    });
    if (target !== null) return releaseOfLinkTarget(target);
    throw new DeliveryError(
      'SFTP_ERROR',
      `${currentPath} exists and is not a symlink; move it away (site mode makes current a link to releases/<cut>)`,
    );
  }
  return releaseOfLinkTarget(await session.readlink(currentPath));
}

async function readRemoteManifest(session: SftpSession, path: string): Promise<{ text: string; sha256: string } | null> {
  const text = await session.readSmallFile(path);
  if (text === null) return null;
  return { text, sha256: sha256Of(Buffer.from(text, 'utf8')) };
}

async function extraFilesPresent(session: SftpSession, dir: string, release: LocalRelease): Promise<boolean> {
  for (const relative of release.extraFiles ?? []) {
    try {
      await session.lstat(posix.join(dir, relative));
    } catch (error) {
      if (isNoSuchFile(error)) return false;
      throw error;
    }
  }
  return true;
}

/**
 * Link sources: the current release first, then the newest other release on the difusor (after a
 * rollback, the newer one still holds most files), each only if its manifest is one we published.
 */
async function trustedBases(
  session: SftpSession,
  releasesDir: string,
  current: string | null,
  onDifusor: readonly string[],
  publishing: string,
  options: PublishOptions,
): Promise<LinkBase[]> {
  const candidates: string[] = [];
  if (current !== null && onDifusor.includes(current)) candidates.push(current);
  const newestOther = [...onDifusor].sort().reverse().find((n) => n !== current && n !== publishing);
  if (newestOther !== undefined) candidates.push(newestOther);
  const bases: LinkBase[] = [];
  for (const name of candidates) {
    const manifest = await readRemoteManifest(session, posix.join(releasesDir, name, MANIFEST_NAME));
    if (manifest === null || !options.isTrusted(name, manifest.sha256)) continue;
    const files: PlanFile[] | null = parseManifestFiles(manifest.text);
    if (files !== null) bases.push({ release: name, files });
  }
  return bases;
}

/**
 * Points `current` at `releases/<release>` and checks it with readlink. The temporary link is
 * checked before it replaces anything, so a server that stores SYMLINK's arguments the other way
 * round never leaves a wrong `current`.
 */
export async function switchCurrent(session: SftpSession, remoteDir: string, release: string, method: SwitchMethod): Promise<void> {
  const currentPath = posix.join(remoteDir, CURRENT_LINK);
  const target = linkTargetOf(release);
  if (method === 'relink') {
    // Both requests go out together: the server runs them in order, so `current` is missing only
    // for the time it takes to process the second one.
    const removed = session.unlink(currentPath).catch((error: unknown) => {
      if (!isNoSuchFile(error)) throw error;
    });
    const created = session.symlink(target, currentPath);
    await Promise.all([removed, created]);
  } else {
    const tempPath = posix.join(remoteDir, tempLinkName());
    await session.symlink(target, tempPath);
    try {
      const made = releaseOfLinkTarget(await session.readlink(tempPath));
      if (made !== release) {
        throw new DeliveryError('SFTP_ERROR', `the server created ${tempPath} pointing to ${String(made)}, not ${target}`);
      }
      // posixRename falls back to remove-then-rename itself when posix-rename is not offered.
      await session.posixRename(tempPath, currentPath);
    } catch (error) {
      await session.unlink(tempPath).catch(() => {});
      throw error;
    }
  }
  const now = releaseOfLinkTarget(await session.readlink(currentPath));
  if (now !== release) {
    throw new DeliveryError('SFTP_ERROR', `${currentPath} names ${String(now)} after the switch, expected ${release}`);
  }
}

async function prune(
  session: SftpSession,
  releasesDir: string,
  releases: readonly string[],
  keep: number,
  protect: ReadonlyArray<string | null>,
  limit: ReturnType<typeof pLimit>,
  step: (text: string) => void,
): Promise<void> {
  // `current` and the release just published are never removed, even when older than the newest N.
  const doomed = releasesToPrune(releases, keep, protect);
  if (doomed.length === 0) return;
  step(`removing ${doomed.length} old releases (publish.keep_releases ${keep})`);
  for (const name of doomed) {
    // Renamed first, so a half-removed release never sits under a release name.
    const aside = posix.join(releasesDir, pruningNameFor(name));
    await session.posixRename(posix.join(releasesDir, name), aside);
    await removeTree(session, aside, limit);
  }
}
