// Publishes one local folder as a release on an open session: stage under `releases/.staging-…`,
// link what the difusor already holds, upload the rest, rename into place, switch `current`, prune.
import { join, posix } from 'node:path';
import pLimit from 'p-limit';
import { DeliveryError } from '../sftp/classify.js';
import { type SftpSession, MANIFEST_MAX_BYTES } from '../sftp/session.js';
import type { PublishSummary } from '../ledger/types.js';
import { type CapabilityMemory, probeCapabilities, publishModeOf, recycledModeOf, switchMethodOf, type SwitchMethod } from './capabilities.js';
import {
  CURRENT_LINK,
  MANIFEST_NAME,
  RELEASES_DIR,
  TEMP_LINK_PATTERN,
  WORK_PREFIX,
  currentMoveFor,
  isNoticeRelease,
  linkTargetOf,
  probeName,
  pruningNameFor,
  releaseOfLinkTarget,
  releasesToPrune,
  stagingNameFor,
  tempLinkName,
} from './layout.js';
import { dirsByDepth, type LinkBase, type PlanFile, type ReleasePlan } from './plan.js';
import { manifestFilesOf, manifestSha256Of, readReleaseFile, remoteManifestFilesOf, sha256Of, sharedFoldersOf, sharedPlanOf } from './local-reads.js';
import { planRecycle } from './recycle.js';
import { listNames, removeTree, scanTree, type ScannedTree } from './remote-tree.js';
import { isNoSuchFile } from '../sftp/status-codes.js';
import { inFlight } from '../sftp/pipelined-io.js';

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
  /**
   * Whether a file of a release on the difusor may be reused (linked, or kept by recycling): false for
   * one an audit found altered there, which is uploaded afresh instead. Default: every file.
   */
  isReusable?(release: string, path: string): boolean;
  /**
   * What an earlier run found this difusor's server does, instead of probing it (~20 round trips);
   * forgotten when the publish fails, so the next attempt probes again.
   */
  capabilities?: CapabilityMemory;
  /** SFTP requests in flight on the connection (default 64). */
  concurrency?: number;
  /** Called before each phase, for failure messages ("linking 19,400 files"). */
  onStep?(step: string): void;
}

const DEFAULT_CONCURRENCY = 64;
// Links are ~150-byte requests the server answers with one link(2) each: 1024 in flight let one SSH
// packet carry ~35-60 of them instead of ~25 (measured A/B against 64: median 0.95 of the time).
const LINKS_IN_FLIGHT = 1024;
const FOLDERS_IN_FLIGHT = 1024;
// A walk of a release on the difusor (what its link bases really hold) is one OPENDIR/READDIR/CLOSE
// chain a folder: at 64 in flight, 5,000 folders were ~270 round trips (~14 s at 50 ms RTT).
const WALK_IN_FLIGHT = 1024;
// Larger files go through fastPut (many writes in flight); smaller ones are one open/write/close.
const SMALL_FILE_BYTES = 1 << 20;
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** Counts every request made through the session, for the benchmark's requests-per-cut. */
function countingSession(session: SftpSession): { session: SftpSession; count: () => number } {
  let requests = 0;
  const uncounted = new Set(['alive', 'extensions', 'destroy', 'close', 'coalesceRequests']);
  const proxy = new Proxy(session, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || uncounted.has(String(property))) return value;
      return (...args: unknown[]) => {
        // A batch of links is one request per link on the wire.
        requests += property === 'hardlinkMany' ? (args[0] as number) : 1;
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
  } catch (error) {
    // Whatever failed, a remembered capability may be why (a server changed behind the same
    // address and extensions): the next attempt probes.
    options.capabilities?.forget();
    throw error;
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
  const files = manifestFilesOf(release.manifest);
  if (files === null) throw new DeliveryError('SFTP_ERROR', `the MANIFEST.json of release ${release.name} is not valid`);
  const manifestSha256 = manifestSha256Of(release.manifest);

  step(`creating ${releasesDir}`);
  await ensureDirectory(session, releasesDir);
  // The set-up's requests are independent, and each waits on round trips (one after another they
  // were ~2 s a difusor at 50 ms RTT, docs/benchmarks.md 10a): the probe (or its memory), the
  // listing of releases/ and the leftovers it shows, and `current`, all at once. The probe's own
  // folder is a `.`-name too: never taken for a leftover.
  step(`probing the server for hard links, posix-rename and symlinks, removing leftovers in ${releasesDir} and reading ${currentPath}`);
  const probeFolder = probeName();
  const listed = listNames(session, releasesDir);
  const [caps, names, current] = await Promise.all([
    probeCapabilities(session, remoteDir, limit, options.capabilities, probeFolder),
    listed,
    readCurrentRelease(session, currentPath),
    listed.then((all) => removeLeftovers(session, remoteDir, all.filter((n) => n !== probeFolder), limit)),
  ]);
  const switchMethod = switchMethodOf(caps);
  if (switchMethod === null) {
    throw new DeliveryError(
      'SFTP_ERROR',
      `the server cannot create symlinks, which site mode needs for ${currentPath}; use delivery: package for this difusor`,
    );
  }
  const mode = publishModeOf(caps, switchMethod);
  const move = currentMoveFor(current, release.name, { rollback: options.allowRollback, older: options.allowOlder ?? false });
  if (move === 'refuse') {
    throw new DeliveryError(
      'ROLLBACK_REFUSED',
      `${currentPath} names ${current}, newer than ${release.name}; current was left as it is`,
    );
  }
  // Where `current` is once this publish is done.
  const after = move === 'switch' ? release.name : current;
  const summary = (uploaded: number, linked: number, bytes: number, recycled: Recycled | null = null): PublishSummary => ({
    mode: recycled === null ? mode : recycledModeOf(switchMethod),
    release: release.name,
    uploaded_files: uploaded,
    linked_files: linked,
    bytes_uploaded: bytes,
    current: after,
    manifest_sha256: manifestSha256,
    sftp_operations: count(),
    kept_files: recycled?.kept ?? 0,
    recycled_from: recycled?.name ?? null,
  });

  const onDifusor = names.filter((n) => !n.startsWith(WORK_PREFIX));
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
      await prune(session, releasesDir, onDifusor, options.keepReleases, [after, release.name], limit, step);
      return summary(0, 0, 0);
    }
    replaced = release.name;
  }

  step('reading the manifests of the releases on the difusor');
  // Never the release `current` names now or after, nor one being replaced: only one pruning removes.
  const candidate =
    replaced === null
      ? await recyclableRelease(session, releasesDir, [...new Set([...onDifusor, release.name])], [current, after, release.name], options)
      : null;
  const staging = posix.join(releasesDir, stagingNameFor(release.name));
  const stageOptions = { staging, limit, step, extraFiles: release.extraFiles ?? [] };
  const basesAmong = (sources: readonly string[]): Promise<LinkBase[]> =>
    caps.hardlink ? trustedBases(session, releasesDir, current, sources, release.name, options) : Promise.resolve([]);
  let bases: LinkBase[];
  let place: readonly PlanFile[];
  let recycled: Recycled | null = null;
  if (candidate === null) {
    // Both mostly wait on round trips (a 3 MB manifest read; folders made a depth at a time): at once,
    // under one step, so a failure in either names both.
    step(`reading the manifests of the releases on the difusor and creating the folders of ${staging}`);
    const quiet = { ...stageOptions, step: () => undefined };
    [bases, place] = await Promise.all([basesAmong(onDifusor), stageFresh(session, files, quiet)]);
  } else {
    bases = await basesAmong(onDifusor.filter((n) => n !== candidate.name));
    recycled = await stageRecycled(session, releasesDir, candidate, files, stageOptions);
    place = recycled.place;
  }
  const plan = sharedPlanOf(place, bases, caps.hardlink);

  let uploaded = 0;
  let bytesUploaded = 0;
  let fileModeFixNeeded: boolean | undefined;
  const put = async (relative: string, data?: Buffer, remoteName = relative): Promise<void> => {
    const remote = posix.join(staging, remoteName);
    const size = await uploadFile(session, data ?? join(release.sourceDir, relative), remote, release.manifest);
    uploaded += 1;
    bytesUploaded += size;
    if (fileModeFixNeeded === undefined) fileModeFixNeeded = (await session.lstat(remote)).permissions !== FILE_MODE;
  };
  const uploads = [...plan.upload.map((f) => f.path), ...(release.extraFiles ?? [])];
  // Links, uploads and the manifest all wait on round trips and use the link differently (links are
  // small requests, the manifest ~1.6 MB a difusor at 10,000 files): at once, not one phase after
  // another (over 50 ms, 10a: links 2 s, then uploads 2 s). The manifest goes under a temporary name
  // and is renamed last: a release folder holding MANIFEST.json is complete (what a re-run checks).
  step(`linking ${plan.link.length} unchanged files from earlier releases and uploading ${uploads.length} new or changed files`);
  const manifestTemp = `.${MANIFEST_NAME}.prep-push-partial`;
  // One upload first, so the mode check is known before the rest go out.
  if (uploads.length > 0) await put(uploads[0]);
  const [refused] = await Promise.all([
    // The server refused these links (another file system, a quota on links): uploaded after.
    linkFiles(session, releasesDir, staging, plan.link, limit),
    inFlight(uploads.slice(1), limit.concurrency, (relative) => put(relative)),
    put(MANIFEST_NAME, release.manifest, manifestTemp),
  ]);
  const linked = plan.link.length - refused.length;
  if (refused.length > 0) {
    step(`uploading ${refused.length} files the server refused to link`);
    const refusedPaths = refused.map((index) => plan.link[index].path);
    await inFlight(refusedPaths, limit.concurrency, (relative) => put(relative));
    uploads.push(...refusedPaths);
  }
  if (fileModeFixNeeded) {
    await inFlight([...uploads, manifestTemp], limit.concurrency, (relative) => session.chmod(posix.join(staging, relative), FILE_MODE));
  }
  await session.posixRename(posix.join(staging, manifestTemp), posix.join(staging, MANIFEST_NAME));

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
  if (aside !== null) await removeTree(session, aside, limit);
  const left = [...new Set([...onDifusor, release.name])].filter((n) => n !== recycled?.name);
  await prune(session, releasesDir, left, options.keepReleases, [after, release.name], limit, step);
  return summary(uploaded, linked, bytesUploaded, recycled);
}

interface StageOptions {
  staging: string;
  limit: ReturnType<typeof pLimit>;
  step: (text: string) => void;
  /** Files uploaded after the listed ones (MANIFEST.json.sig): removed from a recycled tree first. */
  extraFiles: readonly string[];
}

/** A release found on the difusor that pruning would remove, whose manifest we trust. */
interface RecycleCandidate {
  name: string;
  files: readonly PlanFile[];
}

/** What recycling a release left to do: the files to link or upload, and what it saved. */
interface Recycled {
  name: string;
  kept: number;
  place: PlanFile[];
}

/**
 * Creates the staging folder and every folder of the release; resolves with the files to place
 * (all of them). Folders get 0755 explicitly when the server's umask took bits off.
 */
async function stageFresh(session: SftpSession, files: readonly PlanFile[], o: StageOptions): Promise<readonly PlanFile[]> {
  const dirs = sharedFoldersOf(files);
  o.step(`creating ${dirs.length + 1} folders in ${o.staging}`);
  await session.mkdir(o.staging, DIR_MODE);
  const dirModeRight = (await session.lstat(o.staging)).permissions === DIR_MODE;
  await makeFolders(session, o.staging, dirs, dirModeRight);
  if (!dirModeRight) await session.chmod(o.staging, DIR_MODE);
  // The manifest's own array, not a copy: the plan built from it is shared by every difusor.
  return files;
}

/**
 * A release pruning would remove after this publish (oldest first; never `protect`), if its
 * MANIFEST.json is one we published (the same trust as a link source). Null when there is none:
 * then the release is built fresh.
 */
async function recyclableRelease(
  session: SftpSession,
  releasesDir: string,
  releasesAfter: readonly string[],
  protect: ReadonlyArray<string | null>,
  options: PublishOptions,
): Promise<RecycleCandidate | null> {
  const doomed = releasesToPrune(releasesAfter, options.keepReleases, protect);
  for (const name of doomed) {
    const found = await trustedRelease(session, releasesDir, name, options);
    if (found === null) continue;
    // Recycling writes into the old tree and keeps what did not change: only a tree holding nothing
    // but the regular files it lists, unaltered, is turned into the new release.
    const { files, tree } = found;
    if (tree.unsafe.length > 0 || reusableFiles(tree, name, files, options) !== files) continue;
    return { name, files };
  }
  return null;
}

/**
 * Renames the old release to the staging name (from then on it is a leftover the next run removes
 * if this one dies) and applies the difference: removes names first (its files are hard links shared
 * with kept releases: a name is unlinked before anything is written under it), then dropped
 * folders, then new folders. Resolves with the files still to link or upload.
 */
async function stageRecycled(
  session: SftpSession,
  releasesDir: string,
  candidate: RecycleCandidate,
  files: readonly PlanFile[],
  o: StageOptions,
): Promise<Recycled> {
  const plan = planRecycle(candidate.files, files);
  o.step(`recycling ${candidate.name} as ${o.staging} (${plan.kept} files kept, ${plan.remove.length} removed)`);
  await session.posixRename(posix.join(releasesDir, candidate.name), o.staging);
  const inStaging = (relative: string): string => posix.join(o.staging, relative);
  const unlinkAll = (names: readonly string[]): Promise<unknown> =>
    Promise.all(names.map((relative) => o.limit(() => unlinkIfPresent(session, inStaging(relative)))));
  // The old manifest first: the tree is no longer the release it describes.
  await unlinkAll([MANIFEST_NAME, ...o.extraFiles, ...plan.remove]);
  await Promise.all(plan.removeDirs.map((dir) => removeTree(session, inStaging(dir), o.limit)));
  await unlinkAll(plan.clear);
  if (plan.makeDirs.length > 0) {
    const [first, ...rest] = plan.makeDirs;
    await session.mkdir(inStaging(first), DIR_MODE);
    const dirModeRight = (await session.lstat(inStaging(first))).permissions === DIR_MODE;
    if (!dirModeRight) await session.chmod(inStaging(first), DIR_MODE);
    await makeFolders(session, o.staging, rest, dirModeRight);
  }
  return { name: candidate.name, kept: plan.kept, place: plan.place };
}

/**
 * Hard-links each file from its release under `releasesDir` into `staging`; resolves with the
 * indexes of the links the server refused. Manifest paths are normalized (isSafeRelativePath), so
 * plain concatenation builds the same paths posix.join would, without scanning 40,000 of them.
 */
async function linkFiles(
  session: SftpSession,
  releasesDir: string,
  staging: string,
  links: ReleasePlan['link'],
  limit: ReturnType<typeof pLimit>,
): Promise<number[]> {
  const pairAt = (index: number): readonly [string, string] => [`${releasesDir}/${links[index].from}`, `${staging}/${links[index].path}`];
  if (session.hardlinkMany !== undefined) return session.hardlinkMany(links.length, pairAt, LINKS_IN_FLIGHT);
  const refused: number[] = [];
  await inFlight(
    links.map((_, index) => index),
    limit.concurrency,
    async (index) => {
      try {
        await session.hardlink(...pairAt(index));
      } catch (error) {
        if (typeof (error as { code?: unknown }).code !== 'number') throw error;
        refused.push(index);
      }
    },
  );
  return refused.sort((a, b) => a - b);
}

/**
 * Creates `dirs` (sorted shallow first) under `root`, each depth at once; chmods them when told.
 * Folders are small requests like links, so as many go out at once: over a 50 ms link 5,026
 * folders took 5.0 s with 64 in flight and 0.9-1.25 s with 1,024 (bench/wan-mkdir-probe.ts).
 */
async function makeFolders(
  session: SftpSession,
  root: string,
  dirs: readonly string[],
  dirModeRight: boolean,
): Promise<void> {
  for (const group of dirsByDepth(dirs)) {
    await inFlight(group, FOLDERS_IN_FLIGHT, (dir) => session.mkdir(posix.join(root, dir), DIR_MODE));
  }
  // The server's umask took bits off: set them explicitly, on every folder.
  if (!dirModeRight) await inFlight(dirs, FOLDERS_IN_FLIGHT, (dir) => session.chmod(posix.join(root, dir), DIR_MODE));
}

async function unlinkIfPresent(session: SftpSession, path: string): Promise<void> {
  try {
    await session.unlink(path);
  } catch (error) {
    if (!isNoSuchFile(error)) throw error;
  }
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

/** Uploads a local file of the release (path) or bytes; resolves with the bytes sent. */
async function uploadFile(session: SftpSession, source: string | Buffer, remote: string, releaseManifest: Buffer): Promise<number> {
  if (typeof source !== 'string') {
    await session.writeFile(remote, source);
    return source.length;
  }
  const data = await readReleaseFile(releaseManifest, source, SMALL_FILE_BYTES).catch((error: unknown) => {
    throw new DeliveryError('SFTP_ERROR', `cannot read the local file ${source}: ${(error as Error).message}`);
  });
  if (data.length > SMALL_FILE_BYTES) await session.fastPut(source, remote);
  else await session.writeFile(remote, data);
  return data.length;
}

/** What a killed or disconnected run left: `releases/.…` and the temporary link beside `current`. */
/** Removes what a killed run left: `.`-named folders among `releasesNames`, and temporary links beside `current`. */
async function removeLeftovers(
  session: SftpSession,
  remoteDir: string,
  releasesNames: readonly string[],
  limit: ReturnType<typeof pLimit>,
): Promise<void> {
  const releasesDir = posix.join(remoteDir, RELEASES_DIR);
  const stale = releasesNames.filter((n) => n.startsWith(WORK_PREFIX));
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
  const text = await session.readSmallFile(path, MANIFEST_MAX_BYTES);
  if (text === null) return null;
  return { text, sha256: sha256Of(text) };
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
 * Link sources: the current release first, then the newest other results release on the difusor when
 * `current` is older than it (after a rollback, the newer one still holds most files) or is a notice
 * (after `unblock`, the results released before the block hold most files), each only if its
 * manifest is one we published. A notice release is never a source. An older release is not read:
 * with 20,000 files its manifest is ~3 MB to fetch for the rare file that changed back.
 */
async function trustedBases(
  session: SftpSession,
  releasesDir: string,
  current: string | null,
  onDifusor: readonly string[],
  publishing: string,
  options: PublishOptions,
): Promise<LinkBase[]> {
  const results = onDifusor.filter((n) => !isNoticeRelease(n));
  const currentIsResults = current !== null && results.includes(current);
  const candidates: string[] = [];
  if (currentIsResults) candidates.push(current);
  const newestOther = [...results].sort().reverse().find((n) => n !== current && n !== publishing);
  if (newestOther !== undefined && (!currentIsResults || newestOther > current)) candidates.push(newestOther);
  // Both walks wait on round trips: at once.
  const found = await Promise.all(candidates.map((name) => trustedRelease(session, releasesDir, name, options)));
  return candidates.flatMap((name, i) => {
    const release = found[i];
    return release === null ? [] : [{ release: name, files: reusableFiles(release.tree, name, release.files, options) }];
  });
}

/**
 * A release on the difusor whose MANIFEST.json is one we published, with its listed files and what
 * its folder holds now; null for any other. The manifest and the walk both wait on round trips: at once.
 */
async function trustedRelease(
  session: SftpSession,
  releasesDir: string,
  name: string,
  options: PublishOptions,
): Promise<{ files: readonly PlanFile[]; tree: ScannedTree } | null> {
  const dir = posix.join(releasesDir, name);
  // The text is dropped as soon as it is read (its parse is shared by SHA-256), not held until the
  // walk ends: 16 difusores walking 10,000 folders kept 13-16 texts of 3.4 MB live for seconds.
  const trustedFiles = readRemoteManifest(session, posix.join(dir, MANIFEST_NAME)).then((manifest) =>
    manifest !== null && options.isTrusted(name, manifest.sha256) ? remoteManifestFilesOf(manifest.text, manifest.sha256) : null,
  );
  const [files, tree] = await Promise.all([trustedFiles, scanTree(session, dir, WALK_IN_FLIGHT)]);
  return files === null || tree.overfull ? null : { files, tree };
}

/**
 * The files of a release on the difusor that may lend their inode to a new release: a regular file
 * at its listed path with its listed size (never a symlink, a device, or a file under a symlinked
 * folder, whoever put it there), not one an audit found altered. The manifest's own array when all
 * of them are, so the plan built from it is shared with the other difusores.
 */
function reusableFiles(tree: ScannedTree, name: string, files: readonly PlanFile[], options: PublishOptions): readonly PlanFile[] {
  const reusable = (f: PlanFile): boolean => tree.files.get(f.path) === f.size && (options.isReusable?.(name, f.path) ?? true);
  return files.every(reusable) ? files : files.filter(reusable);
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
    // Both requests go out together: a server that runs them in order (ProFTPD does) leaves
    // `current` missing only for the time it takes to process the second one.
    const removed = session.unlink(currentPath).catch((error: unknown) => {
      if (!isNoSuchFile(error)) throw error;
    });
    const created = session.symlink(target, currentPath).then(
      () => null,
      (error: unknown) => error,
    );
    await removed;
    // A server that runs requests concurrently may try the symlink while the old `current` is
    // still there (it fails as "exists"): once more, now that it is gone. Any other failure
    // fails again here and is reported as such.
    if ((await created) !== null) await session.symlink(target, currentPath);
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
