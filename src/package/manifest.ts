// MANIFEST.json: what the package holds, so a difusor can check every file without trusting us.
// Key order and indentation are fixed: the manifest is part of the byte-identical package.
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
