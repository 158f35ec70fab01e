// Writes a source listing as a reproducible tar.gz: files are read synchronously (fastest for the
// many small files of a PREP site) straight into gzip blocks that compress on the thread pool.
import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Cut } from '../core/cut.js';
import { renderManifest, type ManifestFile } from './manifest.js';
import { DEFAULT_PARALLEL_GZIP, ParallelGzipWriter, type ParallelGzipOptions } from './parallel-gzip.js';
import {
  MANIFEST_NAME,
  openSourceFile,
  sourceChangedError,
  sourceReadError,
  type SourceListing,
} from './source-scan.js';
import { encodeTarHeader, TAR_BLOCK, TAR_END, TarHeaderWriter, tarPadding, type TarEntryHeader } from './tar-format.js';

/** Owner and times are fixed so the archive does not depend on who built it, or when. */
export function fixedTarFields(cut: Cut): Omit<TarEntryHeader, 'path' | 'type' | 'size' | 'mode'> {
  return { mtimeSeconds: Math.floor(cut.epochMs / 1000), uid: 0, gid: 0, uname: 'root', gname: 'root' };
}

const ZEROS = Buffer.alloc(512);
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export async function writeTarGz(
  listing: SourceListing,
  cut: Cut,
  institute: string,
  writeOutput: (bytes: Buffer) => void,
  gzipOptions: ParallelGzipOptions = DEFAULT_PARALLEL_GZIP,
): Promise<void> {
  const gzip = new ParallelGzipWriter(writeOutput, gzipOptions);
  const fixed = fixedTarFields(cut);
  const headers = new TarHeaderWriter(fixed);
  const manifestFiles: ManifestFile[] = [];

  for (const entry of listing.entries) {
    if (entry.type === 'directory') {
      let wait: Promise<void> | undefined;
      const space = gzip.space();
      if (headers.tryWrite(space.buffer, space.offset, entry.relPath, -1)) wait = gzip.advance(TAR_BLOCK);
      else wait = gzip.append(encodeTarHeader({ ...fixed, path: `${entry.relPath}/`, type: 'directory', size: 0, mode: 0o755 }));
      if (wait) await wait;
      continue;
    }
    const { fd, size } = openSourceFile(entry.absPath);
    try {
      const headerSpace = gzip.space();
      let wait = headers.tryWrite(headerSpace.buffer, headerSpace.offset, entry.relPath, size)
        ? gzip.advance(TAR_BLOCK)
        : gzip.append(encodeTarHeader({ ...fixed, path: entry.relPath, type: 'file', size, mode: 0o644 }));
      if (wait) await wait;
      // Most files arrive in one read; they are hashed in one call, without a Hash object.
      let hash: Hash | undefined;
      let oneShot = '';
      let remaining = size;
      while (remaining > 0) {
        const space = gzip.space();
        let n: number;
        try {
          n = fs.readSync(fd, space.buffer, space.offset, Math.min(space.length, remaining), null);
        } catch (error) {
          throw sourceReadError(entry.absPath, error);
        }
        if (n === 0) throw sourceChangedError(entry.absPath);
        const piece = space.buffer.subarray(space.offset, space.offset + n);
        if (n === size) oneShot = hashOnce('sha256', piece);
        else (hash ??= createHash('sha256')).update(piece);
        remaining -= n;
        wait = gzip.advance(n);
        if (wait) await wait;
      }
      wait = gzip.append(ZEROS.subarray(0, tarPadding(size)));
      if (wait) await wait;
      const sha256 = hash ? hash.digest('hex') : size === 0 ? EMPTY_SHA256 : oneShot;
      manifestFiles.push({ path: entry.relPath, size, sha256 });
    } finally {
      fs.closeSync(fd);
    }
  }

  const manifest = renderManifest(cut, institute, manifestFiles);
  const manifestHeader = encodeTarHeader({ ...fixed, path: MANIFEST_NAME, type: 'file', size: manifest.length, mode: 0o644 });
  for (const part of [manifestHeader, manifest, ZEROS.subarray(0, tarPadding(manifest.length)), TAR_END]) {
    const wait = gzip.append(part);
    if (wait) await wait;
  }
  await gzip.end();
}
