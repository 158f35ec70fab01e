// The institute's copy of a cut's MANIFEST.json, read from the stored package (the last tar entry,
// or the zip entry of that name) and kept in memory for the run: what every audit compares with.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { inflateRawSync, createGunzip } from 'node:zlib';
import { PrepPushError } from '../core/errors.js';
import { listStoredPackages } from '../package/store.js';
import type { BuiltPackage } from '../package/types.js';
import { MANIFEST_PATH, type Manifest } from './model.js';

const TAR_BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(TAR_BLOCK);
const MANIFEST_NAME = Buffer.from(`${MANIFEST_PATH}\0`);
/**
 * The whole archive is read to reach its last entry: in large pieces, so the inflating on the
 * thread pool is a few dozen round trips rather than thousands (the default 16 KiB output chunks
 * made reading a 20,000-file package about half of an `audit --sample all`).
 */
const READ_CHUNK = 1 << 20;

function unreadable(pkg: BuiltPackage, why: string): PrepPushError {
  return new PrepPushError('io', `package store: cannot read MANIFEST.json from ${pkg.file}: ${why}`, {
    hint: 'rebuild the cut with `prep-push build --source DIR --cut TIME` (it replaces the stored package)',
  });
}

function octal(block: Buffer, offset: number, width: number): number {
  const text = block.toString('ascii', offset, offset + width).replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Streams the tar.gz once, keeping only the MANIFEST.json entry's bytes. */
async function manifestFromTarGz(pkg: BuiltPackage): Promise<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  // Bytes of entry data (plus padding) still to skip or collect before the next header.
  let remaining = 0;
  let collecting: Buffer[] | null = null;
  let collectSize = 0;
  let paxSize: number | null = null;
  let found: Buffer | null = null;
  let paxData: Buffer[] | null = null;
  const stream = createReadStream(pkg.file, { highWaterMark: READ_CHUNK }).pipe(createGunzip({ chunkSize: READ_CHUNK }));
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    while (offset < pending.length) {
      if (remaining > 0) {
        const take = Math.min(remaining, pending.length - offset);
        const piece = pending.subarray(offset, offset + take);
        if (collecting) collecting.push(Buffer.from(piece));
        if (paxData) paxData.push(Buffer.from(piece));
        remaining -= take;
        offset += take;
        if (remaining === 0 && collecting) {
          found = Buffer.concat(collecting).subarray(0, collectSize);
          collecting = null;
        }
        if (remaining === 0 && paxData) {
          const size = /(?:^|\n)\d+ size=(\d+)\n/.exec(Buffer.concat(paxData).toString('utf8'));
          paxSize = size ? Number(size[1]) : null;
          paxData = null;
        }
        continue;
      }
      if (pending.length - offset < TAR_BLOCK) break;
      const header = pending.subarray(offset, offset + TAR_BLOCK);
      offset += TAR_BLOCK;
      if (header[0] === 0 && header.equals(ZERO_BLOCK)) continue;
      const type = String.fromCharCode(header[156] || 0x30);
      const size = paxSize ?? octal(header, 124, 12);
      paxSize = null;
      remaining = Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
      if (type === 'x') paxData = [];
      else if (type === '0' && header.compare(MANIFEST_NAME, 0, MANIFEST_NAME.length, 0, MANIFEST_NAME.length) === 0) {
        collecting = [];
        collectSize = size;
        if (remaining === 0) found = Buffer.alloc(0);
      }
    }
    pending = pending.subarray(offset);
  }
  if (found === null) throw unreadable(pkg, 'no MANIFEST.json entry in the archive');
  return found;
}

/** Finds MANIFEST.json through the zip's central directory and inflates only that entry. */
async function manifestFromZip(pkg: BuiltPackage): Promise<Buffer> {
  const handle = await open(pkg.file, 'r');
  try {
    const { size } = await handle.stat();
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw unreadable(pkg, 'no end of central directory');
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    await handle.read(cd, 0, cdSize, cdOffset);
    for (let p = 0; p + 46 <= cd.length; ) {
      const method = cd.readUInt16LE(p + 10);
      const compressed = cd.readUInt32LE(p + 20);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
      if (name === MANIFEST_PATH) {
        const local = Buffer.alloc(30);
        await handle.read(local, 0, 30, localOffset);
        const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
        const data = Buffer.alloc(compressed);
        await handle.read(data, 0, compressed, dataStart);
        return method === 0 ? data : inflateRawSync(data);
      }
      p += 46 + nameLength + extraLength + commentLength;
    }
    throw unreadable(pkg, 'no MANIFEST.json entry in the archive');
  } finally {
    await handle.close();
  }
}

export async function readStoredManifest(pkg: BuiltPackage): Promise<Manifest> {
  let bytes: Buffer;
  try {
    bytes = pkg.format === 'zip' ? await manifestFromZip(pkg) : await manifestFromTarGz(pkg);
  } catch (error) {
    if (error instanceof PrepPushError) throw error;
    throw unreadable(pkg, (error as Error).message);
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    throw unreadable(pkg, 'its MANIFEST.json is not JSON');
  }
}

/** Every cut's manifest, read from the store at most once per run. */
export class StoredManifests {
  private packages: Promise<BuiltPackage[]> | null = null;
  private readonly read = new Map<string, Promise<Manifest | null>>();

  constructor(private readonly storeDir: string) {}

  /** The institute's MANIFEST.json of `cutId`, or null when that package is not in the store. */
  manifestOf(cutId: string): Promise<Manifest | null> {
    let known = this.read.get(cutId);
    if (!known) {
      known = this.stored().then((all) => {
        const pkg = all.find((p) => p.cutId === cutId);
        return pkg ? readStoredManifest(pkg) : null;
      });
      this.read.set(cutId, known);
    }
    return known;
  }

  /** The manifest of the newest stored cut older than `cutId` (what "changed in that cut" is measured against). */
  async previousOf(cutId: string): Promise<Manifest | null> {
    const older = (await this.stored()).filter((p) => p.cutId < cutId);
    const previous = older[older.length - 1];
    return previous ? this.manifestOf(previous.cutId) : null;
  }

  private stored(): Promise<BuiltPackage[]> {
    this.packages ??= listStoredPackages(this.storeDir);
    return this.packages;
  }
}
