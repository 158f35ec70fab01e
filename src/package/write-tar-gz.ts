// Writes a source folder as a reproducible tar.gz: files are read synchronously as the walk opens
// them (fastest for the many small files of a PREP site) straight into gzip blocks that compress on
// the thread pool.
import { createHash, hash as hashOnce, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Cut } from '../core/cut.js';
import { renderManifest, type AfterManifest, type ManifestFile } from './manifest.js';
import { DEFAULT_PARALLEL_GZIP, ParallelGzipWriter, type ParallelGzipOptions } from './parallel-gzip.js';
import { MANIFEST_NAME, sizeOfOpenFile, sourceChangedError, sourceReadError, type SourceWalk } from './source-walk.js';
import { encodeTarHeader, TAR_BLOCK, TAR_END, TarHeaderWriter, tarPadding, type TarEntryHeader } from './tar-format.js';
import type { BlockSpace } from './parallel-gzip.js';

/** Owner and times are fixed so the archive does not depend on who built it, or when. */
export function fixedTarFields(cut: Cut): Omit<TarEntryHeader, 'path' | 'type' | 'size' | 'mode'> {
  return { mtimeSeconds: Math.floor(cut.epochMs / 1000), uid: 0, gid: 0, uname: 'root', gname: 'root' };
}

const ZEROS = Buffer.alloc(512);
const EMPTY_SHA256 = createHash('sha256').digest('hex');

export async function writeTarGz(
  source: SourceWalk,
  cut: Cut,
  institute: string,
  writeOutput: (bytes: Buffer) => void,
  gzipOptions: ParallelGzipOptions = DEFAULT_PARALLEL_GZIP,
  afterManifest?: AfterManifest,
): Promise<void> {
  const gzip = new ParallelGzipWriter(writeOutput, gzipOptions);
  const fixed = fixedTarFields(cut);
  const headers = new TarHeaderWriter(fixed);
  const manifestFiles: ManifestFile[] = [];

  for (const entry of source.steps()) {
    if (entry.type === 'directory') {
      let wait: Promise<void> | undefined;
      const space = gzip.space();
      if (headers.tryWrite(space.buffer, space.offset, entry.relPath, -1)) wait = gzip.advance(TAR_BLOCK);
      else wait = gzip.append(encodeTarHeader({ ...fixed, path: `${entry.relPath}/`, type: 'directory', size: 0, mode: 0o755 }));
      if (wait) await wait;
      continue;
    }
    // No descriptor: something was refused, and the walk only lists on to name every refusal.
    if (entry.fd < 0) continue;
    const laid = layFromOneRead(gzip.space(), headers, entry.fd, entry.relPath, manifestFiles);
    const wait = laid > 0 ? gzip.advance(laid) : packFile(gzip, fixed, headers, entry.fd, entry.relPath, source.absPathOf(entry.relPath), manifestFiles);
    if (wait) await wait;
  }

  const manifest = renderManifest(cut, institute, manifestFiles);
  const manifestHeader = encodeTarHeader({ ...fixed, path: MANIFEST_NAME, type: 'file', size: manifest.length, mode: 0o644 });
  const extras = (afterManifest?.(manifest) ?? []).flatMap(({ path, data }) => [
    encodeTarHeader({ ...fixed, path, type: 'file', size: data.length, mode: 0o644 }),
    data,
    ZEROS.subarray(0, tarPadding(data.length)),
  ]);
  for (const part of [manifestHeader, manifest, ZEROS.subarray(0, tarPadding(manifest.length)), ...extras, TAR_END]) {
    const wait = gzip.append(part);
    if (wait) await wait;
  }
  await gzip.end();
}

/**
 * The path of a small file (all of a PREP site's): read straight into the block after room for its
 * header, then the header laid in front, so the size comes from the read (a short read of a regular
 * file is its end) and no fstat is needed. Returns the bytes laid (header, data, padding), or 0 when
 * the file is empty, does not fit in what is left of the block, or needs a PAX header: `packFile`
 * then takes it from its first byte.
 */
function layFromOneRead(space: BlockSpace, headers: TarHeaderWriter, fd: number, relPath: string, files: ManifestFile[]): number {
  const room = space.length - TAR_BLOCK;
  if (room <= 0 || !headers.isPlain(relPath, false)) return 0;
  const dataStart = space.offset + TAR_BLOCK;
  let n: number;
  try {
    n = fs.readSync(fd, space.buffer, dataStart, room, 0);
  } catch {
    // `packFile` checks what the entry now is, reads again and reports the error it meets.
    return 0;
  }
  // 0 may be a named pipe swapped in since the scan: `packFile` checks, as for any empty file.
  if (n === 0 || n === room) return 0;
  const laid = TAR_BLOCK + n + tarPadding(n);
  if (laid > space.length) return 0;
  headers.write(space.buffer, space.offset, relPath, n);
  space.buffer.fill(0, dataStart + n, space.offset + laid);
  files.push({ path: relPath, size: n, sha256: hashOnce('sha256', space.buffer.subarray(dataStart, dataStart + n)) });
  return laid;
}

/** Any file: its size from fstat (which also checks it is still a regular file), then read in pieces. */
async function packFile(
  gzip: ParallelGzipWriter,
  fixed: ReturnType<typeof fixedTarFields>,
  headers: TarHeaderWriter,
  fd: number,
  relPath: string,
  absPath: string,
  files: ManifestFile[],
): Promise<void> {
  const size = sizeOfOpenFile(fd, absPath);
  const headerSpace = gzip.space();
  let wait = headers.tryWrite(headerSpace.buffer, headerSpace.offset, relPath, size)
    ? gzip.advance(TAR_BLOCK)
    : gzip.append(encodeTarHeader({ ...fixed, path: relPath, type: 'file', size, mode: 0o644 }));
  if (wait) await wait;
  // Most files arrive in one read; they are hashed in one call, without a Hash object.
  let hash: Hash | undefined;
  let oneShot = '';
  let position = 0;
  while (position < size) {
    const space = gzip.space();
    let n: number;
    try {
      n = fs.readSync(fd, space.buffer, space.offset, Math.min(space.length, size - position), position);
    } catch (error) {
      throw sourceReadError(absPath, error);
    }
    if (n === 0) throw sourceChangedError(absPath);
    const piece = space.buffer.subarray(space.offset, space.offset + n);
    if (n === size) oneShot = hashOnce('sha256', piece);
    else (hash ??= createHash('sha256')).update(piece);
    position += n;
    wait = gzip.advance(n);
    if (wait) await wait;
  }
  wait = gzip.append(ZEROS.subarray(0, tarPadding(size)));
  if (wait) await wait;
  const sha256 = hash ? hash.digest('hex') : size === 0 ? EMPTY_SHA256 : oneShot;
  files.push({ path: relPath, size, sha256 });
}
