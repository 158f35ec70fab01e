// What every difusor of a run needs alike, read or computed once: a release's small local files,
// its parsed manifest and its SHA-256, the manifests found on difusores (by SHA-256), and the plan
// from those. With 8
// difusores that is the same 600 changed files and the same 3 MB manifests, not 8 of each.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { foldersOf, parseManifestFiles, planRelease, sortShallowFirst, type LinkBase, type PlanFile, type ReleasePlan } from './plan.js';

/** Bytes kept in memory per release at most; past it, files are read for each difusor again. */
const SHARED_BYTES_BUDGET = 64 * 1024 * 1024;

interface SharedReads {
  files: Map<string, Promise<Buffer>>;
  bytes: number;
}

// Keyed by the release's manifest bytes: one object per run and release, dropped with it.
const reads = new WeakMap<Buffer, SharedReads>();
const manifests = new WeakMap<Buffer, readonly PlanFile[] | null>();
const hashes = new WeakMap<Buffer, string>();
// Manifests read from difusores, by their SHA-256 (the same bytes parse the same): the newest few.
const remoteManifests = new Map<string, readonly PlanFile[] | null>();
const REMOTE_MANIFESTS_KEPT = 8;

/** The files of a MANIFEST.json held in memory, parsed once whatever the number of difusores. */
export function manifestFilesOf(manifest: Buffer): readonly PlanFile[] | null {
  if (!manifests.has(manifest)) manifests.set(manifest, parseManifestFiles(manifest.toString('utf8')));
  return manifests.get(manifest) ?? null;
}

/** A string is hashed as its UTF-8 bytes, without a copy of them (a manifest read back is 3.4 MB). */
export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The SHA-256 of a release's MANIFEST.json, computed once per run. */
export function manifestSha256Of(manifest: Buffer): string {
  let hash = hashes.get(manifest);
  if (hash === undefined) {
    hash = sha256Of(manifest);
    hashes.set(manifest, hash);
  }
  return hash;
}

/** The files of a manifest read from a difusor whose bytes hash to `sha256`; parsed once per content. */
export function remoteManifestFilesOf(text: string, sha256: string): readonly PlanFile[] | null {
  if (remoteManifests.has(sha256)) return remoteManifests.get(sha256) ?? null;
  const files = parseManifestFiles(text);
  remoteManifests.set(sha256, files);
  if (remoteManifests.size > REMOTE_MANIFESTS_KEPT) remoteManifests.delete(remoteManifests.keys().next().value as string);
  return files;
}

/**
 * The bytes of `path`, a file of the release whose manifest is `manifest`. Files up to `maxShared`
 * bytes are kept for the next difusor while the budget lasts; a failed read is not kept.
 */
export function readReleaseFile(manifest: Buffer, path: string, maxShared: number): Promise<Buffer> {
  let shared = reads.get(manifest);
  if (shared === undefined) {
    shared = { files: new Map(), bytes: 0 };
    reads.set(manifest, shared);
  }
  const known = shared.files.get(path);
  if (known !== undefined) return known;
  const read = readFile(path);
  if (shared.bytes >= SHARED_BYTES_BUDGET) return read;
  const state = shared;
  state.files.set(path, read);
  read.then(
    (data) => {
      if (data.length > maxShared) state.files.delete(path);
      else state.bytes += data.length;
    },
    () => state.files.delete(path),
  );
  return read;
}

interface SharedPlan {
  bases: readonly LinkBase[];
  canLink: boolean;
  plan: ReleasePlan;
}
// By the files placed: difusores holding the same releases (the same parsed manifests) share one
// plan, instead of each building maps of 20,000 keys (~25 ms of the event loop per difusor).
const plans = new WeakMap<readonly PlanFile[], SharedPlan>();

/** planRelease, computed once for the same files and the same bases' parsed manifests. Read-only. */
export function sharedPlanOf(files: readonly PlanFile[], bases: readonly LinkBase[], canLink: boolean): ReleasePlan {
  const known = plans.get(files);
  const same =
    known !== undefined &&
    known.canLink === canLink &&
    known.bases.length === bases.length &&
    known.bases.every((b, i) => b.release === bases[i].release && b.files === bases[i].files);
  if (same) return known.plan;
  const plan = planRelease(files, bases, canLink);
  plans.set(files, { bases, canLink, plan });
  return plan;
}

// By the files placed, like the plans: a release's folders, shallow first, made once instead of
// once per difusor (10,000 folders: 8-15 ms of the event loop and ~1 MB of new strings each time).
const folders = new WeakMap<readonly PlanFile[], readonly string[]>();

/** The folders holding `files`, shallow first (sortShallowFirst(foldersOf(files))), computed once per list. Read-only. */
export function sharedFoldersOf(files: readonly PlanFile[]): readonly string[] {
  let dirs = folders.get(files);
  if (dirs === undefined) {
    dirs = sortShallowFirst(foldersOf(files));
    folders.set(files, dirs);
  }
  return dirs;
}
