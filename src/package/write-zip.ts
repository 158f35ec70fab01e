// Writes a source listing as a reproducible zip. Written by hand (about 150 lines with zip-format.ts)
// rather than with a library: the zip libraries for Node stamp the current time or stream through
// one deflate at a time; here each file is deflated on the thread pool, several at once, and the
// results are written strictly in listing order, so both cores work and the bytes never vary.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { Cut } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import { renderManifest, type AfterManifest, type ManifestFile } from './manifest.js';
import { MANIFEST_NAME, sizeOfOpenFile, sourceChangedError, sourceReadError, type SourceWalk } from './source-walk.js';
import {
  dosDateTimeOf,
  encodeCentralEntry,
  encodeDataDescriptor,
  encodeEndOfCentralDirectory,
  encodeLocalHeader,
  METHOD_DEFLATED,
  METHOD_STORED,
  ZIP_MAX_ENTRIES,
  ZIP_MAX_OFFSET,
  type ZipEntryFields,
} from './zip-format.js';

const deflateRawAsync = promisify(zlib.deflateRaw) as (data: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

const LEVEL = 6;
/** Files up to this size are read whole and deflated in one thread-pool job; larger ones stream. */
const WHOLE_FILE_LIMIT = 4 << 20;
// Each job holds a zlib context (~300 KB native); a few more than the cores keeps them busy.
const MAX_JOBS_IN_FLIGHT = 16;
const MAX_BYTES_IN_FLIGHT = 16 << 20;
const WRITE_BATCH = 1 << 20;

function tooBigForZip(what: string): PrepPushError {
  return new PrepPushError('source', `the package is too large for zip: ${what}`, {
    hint: 'set package.format to tar.gz in the registry (zip without ZIP64 stops at 4 GiB and 65,535 entries)',
  });
}

/** Batches the many small header writes into large ones, and counts the offset. */
class CountingOutput {
  offset = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;

  constructor(private readonly writeOutput: (bytes: Buffer) => void) {}

  write(bytes: Buffer): void {
    this.batch.push(bytes);
    this.batchBytes += bytes.length;
    this.offset += bytes.length;
    if (this.offset > ZIP_MAX_OFFSET) throw tooBigForZip('it passes 4 GiB');
    if (this.batchBytes >= WRITE_BATCH) this.flush();
  }

  flush(): void {
    if (this.batchBytes === 0) return;
    this.writeOutput(this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchBytes));
    this.batch = [];
    this.batchBytes = 0;
  }
}

interface ReadyEntry {
  fields: ZipEntryFields;
  data: Buffer;
}

interface PendingEntry {
  inputBytes: number;
  /** Resolves to what to write: the entry's fields and its (possibly deflated) data. */
  result: Promise<ReadyEntry>;
  /** Set once `result` has resolved, so finished entries are written without awaiting. */
  ready?: ReadyEntry;
}

export async function writeZip(
  source: SourceWalk,
  cut: Cut,
  institute: string,
  writeOutput: (bytes: Buffer) => void,
  afterManifest?: AfterManifest,
): Promise<void> {
  const out = new CountingOutput(writeOutput);
  const dos = dosDateTimeOf(cut.time);
  const mtimeSeconds = Math.floor(cut.epochMs / 1000);
  const central: Buffer[] = [];
  const manifestFiles: ManifestFile[] = [];
  const pending: PendingEntry[] = [];
  let bytesInFlight = 0;

  const writeEntry = (fields: ZipEntryFields, data: Buffer): void => {
    central.push(encodeCentralEntry(fields, out.offset));
    out.write(encodeLocalHeader(fields));
    if (data.length > 0) out.write(data);
  };
  const writeHead = async (): Promise<void> => {
    const head = pending[0];
    const { fields, data } = await head.result;
    pending.shift();
    bytesInFlight -= head.inputBytes;
    writeEntry(fields, data);
  };
  const writeFinished = (): void => {
    while (pending.length > 0 && pending[0].ready) {
      const head = pending.shift() as PendingEntry;
      bytesInFlight -= head.inputBytes;
      writeEntry(head.ready!.fields, head.ready!.data);
    }
  };
  const enqueue = async (inputBytes: number, result: Promise<ReadyEntry>): Promise<void> => {
    const entry: PendingEntry = { inputBytes, result };
    result.then(
      (value) => {
        entry.ready = value;
      },
      () => {
        // seen when this entry's turn to be written comes
      },
    );
    pending.push(entry);
    bytesInFlight += inputBytes;
    writeFinished();
    while (pending.length >= MAX_JOBS_IN_FLIGHT || bytesInFlight > MAX_BYTES_IN_FLIGHT) await writeHead();
  };
  const drain = async (): Promise<void> => {
    while (pending.length > 0) await writeHead();
  };

  const compressWhole = (name: Buffer, data: Buffer, crc32: number) =>
    (data.length === 0
      ? Promise.resolve(data)
      : // Room for the whole output: one thread-pool job per file instead of one per 16 KiB.
        deflateRawAsync(data, { level: LEVEL, chunkSize: Math.max(64, data.length + (data.length >> 8) + 1024) })
    ).then((deflated) => {
      const stored = deflated.length >= data.length;
      const fields: ZipEntryFields = {
        name,
        method: stored ? METHOD_STORED : METHOD_DEFLATED,
        crc32,
        compressedSize: stored ? data.length : deflated.length,
        size: data.length,
        dos,
        mtimeSeconds,
        isDirectory: false,
        usesDataDescriptor: false,
      };
      return { fields, data: stored ? data : deflated };
    });

  let entries = 0;
  for (const entry of source.steps()) {
    // One more for MANIFEST.json.
    if ((entries += 1) + 1 > ZIP_MAX_ENTRIES) throw tooBigForZip(`more than ${ZIP_MAX_ENTRIES - 1} files and folders`);
    if (entry.type === 'directory') {
      const fields: ZipEntryFields = {
        name: Buffer.from(`${entry.relPath}/`, 'utf8'),
        method: METHOD_STORED,
        crc32: 0,
        compressedSize: 0,
        size: 0,
        dos,
        mtimeSeconds,
        isDirectory: true,
        usesDataDescriptor: false,
      };
      await enqueue(0, Promise.resolve({ fields, data: Buffer.alloc(0) }));
      continue;
    }
    // No descriptor: something was refused, and the walk only lists on to name every refusal.
    if (entry.fd < 0) continue;
    const name = Buffer.from(entry.relPath, 'utf8');
    const fd = entry.fd;
    const absPath = source.absPathOf(entry.relPath);
    const size = sizeOfOpenFile(fd, absPath);
    if (size > ZIP_MAX_OFFSET) throw tooBigForZip(`${absPath} is over 4 GiB`);
    if (size <= WHOLE_FILE_LIMIT) {
      const data = readWhole(fd, size, absPath);
      manifestFiles.push({ path: entry.relPath, size, sha256: createHash('sha256').update(data).digest('hex') });
      await enqueue(size, compressWhole(name, data, zlib.crc32(data)));
    } else {
      // Large files stream through one deflate, in order, after everything before them is written.
      await drain();
      const relPath = entry.relPath;
      const sha256 = await streamLargeFile(fd, size, absPath, name, { dos, mtimeSeconds }, out, central);
      manifestFiles.push({ path: relPath, size, sha256 });
    }
  }

  const manifest = renderManifest(cut, institute, manifestFiles);
  await enqueue(manifest.length, compressWhole(Buffer.from(MANIFEST_NAME, 'utf8'), manifest, zlib.crc32(manifest)));
  for (const extra of afterManifest?.(manifest) ?? []) {
    await enqueue(extra.data.length, compressWhole(Buffer.from(extra.path, 'utf8'), extra.data, zlib.crc32(extra.data)));
  }
  await drain();

  const centralOffset = out.offset;
  for (const record of central) out.write(record);
  out.write(encodeEndOfCentralDirectory(central.length, out.offset - centralOffset, centralOffset));
  out.flush();
}

function readWhole(fd: number, size: number, absPath: string): Buffer {
  const data = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    let n: number;
    try {
      n = fs.readSync(fd, data, filled, size - filled, null);
    } catch (error) {
      throw sourceReadError(absPath, error);
    }
    if (n === 0) throw sourceChangedError(absPath);
    filled += n;
  }
  return data;
}

async function streamLargeFile(
  fd: number,
  size: number,
  absPath: string,
  name: Buffer,
  time: { dos: ZipEntryFields['dos']; mtimeSeconds: number },
  out: CountingOutput,
  central: Buffer[],
): Promise<string> {
  const localOffset = out.offset;
  const fields: ZipEntryFields = {
    name,
    method: METHOD_DEFLATED,
    crc32: 0,
    compressedSize: 0,
    size,
    ...time,
    isDirectory: false,
    usesDataDescriptor: true,
  };
  out.write(encodeLocalHeader(fields));
  const deflate = zlib.createDeflateRaw({ level: LEVEL });
  let compressedSize = 0;
  let writeError: unknown;
  deflate.on('data', (chunk: Buffer) => {
    compressedSize += chunk.length;
    try {
      out.write(chunk);
    } catch (error) {
      // thrown from an event handler it would be uncaught; rethrown below instead
      writeError ??= error;
      deflate.destroy(error as Error);
    }
  });
  const ended = once(deflate, 'end');
  ended.catch(() => {
    // a failure is rethrown below through writeError or the await
  });
  const hash = createHash('sha256');
  let crc32 = 0;
  let remaining = size;
  while (remaining > 0) {
    const chunk = Buffer.allocUnsafe(Math.min(remaining, 1 << 20));
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      deflate.destroy();
      throw sourceReadError(absPath, error);
    }
    if (n === 0) {
      deflate.destroy();
      throw sourceChangedError(absPath);
    }
    if (writeError !== undefined) throw writeError;
    const piece = chunk.subarray(0, n);
    hash.update(piece);
    crc32 = zlib.crc32(piece, crc32);
    remaining -= n;
    if (!deflate.write(piece)) await once(deflate, 'drain');
  }
  deflate.end();
  await ended;
  if (writeError !== undefined) throw writeError;
  out.write(encodeDataDescriptor(crc32, compressedSize, size));
  central.push(encodeCentralEntry({ ...fields, crc32, compressedSize }, localOffset));
  return hash.digest('hex');
}
