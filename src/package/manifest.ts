// MANIFEST.json: what the package holds, so a difusor can check every file without trusting us.
// Key order and indentation are fixed: the manifest is part of the byte-identical package.
import { createHash } from 'node:crypto';
import type { Cut } from '../core/cut.js';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export function renderManifest(cut: Cut, institute: string, files: readonly ManifestFile[]): Buffer {
  const manifest = {
    cut: { id: cut.id, time: cut.time },
    institute,
    // A drill's package says so itself, wherever it ends up (`cut --drill`).
    ...(cut.drill ? { drill: true } : {}),
    // Already in key order (path, size, sha256); copying 20,000 objects would only cost memory.
    files,
  };
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

/**
 * Files that follow MANIFEST.json in a package, computed from its bytes (MANIFEST.json.sig when a
 * signing key is configured; see src/package/sign-package.ts).
 */
export type AfterManifest = (manifest: Buffer) => Array<{ path: string; data: Buffer }>;

const FILES_KEY = Buffer.from('\n  "files": ', 'utf8');

/**
 * SHA-256 of the file list of a MANIFEST.json rendered by `renderManifest`: the paths, sizes and
 * hashes of the source's files, without the cut or the institute, so two builds of one source
 * compare equal whatever cut, archive format or name they were built for.
 */
export function filesDigestOf(manifest: Buffer): string {
  // The institute is a JSON string: it cannot hold a raw newline, so the first match is the key.
  const start = manifest.indexOf(FILES_KEY);
  if (start < 0) throw new Error('not a MANIFEST.json rendered by renderManifest');
  return createHash('sha256').update(manifest.subarray(start)).digest('hex');
}
