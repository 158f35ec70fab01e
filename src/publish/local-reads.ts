// A release's small local files and its parsed manifest, read once per run and shared by every
// difusor it is published to (8 difusores need the same 600 changed files, not 8 × 600 reads).
import { readFile } from 'node:fs/promises';
import { parseManifestFiles, type PlanFile } from './plan.js';

/** Bytes kept in memory per release at most; past it, files are read for each difusor again. */
const SHARED_BYTES_BUDGET = 64 * 1024 * 1024;

interface SharedReads {
  files: Map<string, Promise<Buffer>>;
  bytes: number;
}

// Keyed by the release's manifest bytes: one object per run and release, dropped with it.
const reads = new WeakMap<Buffer, SharedReads>();
const manifests = new WeakMap<Buffer, PlanFile[] | null>();

/** The files of a MANIFEST.json held in memory, parsed once whatever the number of difusores. */
export function manifestFilesOf(manifest: Buffer): PlanFile[] | null {
  if (!manifests.has(manifest)) manifests.set(manifest, parseManifestFiles(manifest.toString('utf8')));
  return manifests.get(manifest) ?? null;
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
