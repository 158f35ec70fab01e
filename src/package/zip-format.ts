// Pure zip record encoding (PKWARE APPNOTE 6.3): local headers, data descriptors, the central
// directory and its end record. Only what a reproducible, non-ZIP64 archive needs.

export const ZIP_MAX_ENTRIES = 0xffff;
export const ZIP_MAX_OFFSET = 0xffffffff;

const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8_NAMES = 0x0800;
const VERSION_NEEDED = 20; // 2.0: deflate and folders
const VERSION_MADE_BY = (3 << 8) | 20; // 3 = Unix, so the external attributes carry Unix modes
export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

export interface DosDateTime {
  date: number;
  time: number;
}

/**
 * The DOS date/time of a wall-clock time (zip has no time zone: we use the cut's local time as
 * written in cut.time, which is what people at the institute and at the difusor read).
 */
export function dosDateTimeOf(isoWithOffset: string): DosDateTime {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(isoWithOffset);
  if (!m) throw new Error(`not an ISO 8601 time: ${isoWithOffset}`);
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => Number(v ?? 0));
  return {
    date: ((Math.max(year, 1980) - 1980) << 9) | (month << 5) | day,
    time: (hour << 11) | (minute << 5) | (second >> 1),
  };
}

export interface ZipEntryFields {
  name: Buffer;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  dos: DosDateTime;
  /** Seconds since the epoch, for the extended-timestamp extra field (UTC mtime). */
  mtimeSeconds: number;
  isDirectory: boolean;
  /** Sizes and CRC follow the data in a descriptor (used when streaming a large file). */
  usesDataDescriptor: boolean;
}

function timestampExtra(mtimeSeconds: number): Buffer {
  const extra = Buffer.alloc(9);
  extra.writeUInt16LE(0x5455, 0); // "UT" extended timestamp
  extra.writeUInt16LE(5, 2);
  extra.writeUInt8(1, 4); // mtime present
  extra.writeUInt32LE(mtimeSeconds >>> 0, 5);
  return extra;
}

function flagsOf(entry: ZipEntryFields): number {
  return FLAG_UTF8_NAMES | (entry.usesDataDescriptor ? FLAG_DATA_DESCRIPTOR : 0);
}

export function encodeLocalHeader(entry: ZipEntryFields): Buffer {
  const extra = timestampExtra(entry.mtimeSeconds);
  const header = Buffer.alloc(30);
  const deferred = entry.usesDataDescriptor;
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(VERSION_NEEDED, 4);
  header.writeUInt16LE(flagsOf(entry), 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(entry.dos.time, 10);
  header.writeUInt16LE(entry.dos.date, 12);
  header.writeUInt32LE(deferred ? 0 : entry.crc32 >>> 0, 14);
  header.writeUInt32LE(deferred ? 0 : entry.compressedSize, 18);
  header.writeUInt32LE(deferred ? 0 : entry.size, 22);
  header.writeUInt16LE(entry.name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, entry.name, extra]);
}

export function encodeDataDescriptor(crc32: number, compressedSize: number, size: number): Buffer {
  const d = Buffer.alloc(16);
  d.writeUInt32LE(0x08074b50, 0);
  d.writeUInt32LE(crc32 >>> 0, 4);
  d.writeUInt32LE(compressedSize, 8);
  d.writeUInt32LE(size, 12);
  return d;
}

export function encodeCentralEntry(entry: ZipEntryFields, localHeaderOffset: number): Buffer {
  const extra = timestampExtra(entry.mtimeSeconds);
  const header = Buffer.alloc(46);
  const unixMode = entry.isDirectory ? 0o040755 : 0o100644;
  const msdosDirectoryBit = entry.isDirectory ? 0x10 : 0;
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(VERSION_MADE_BY, 4);
  header.writeUInt16LE(VERSION_NEEDED, 6);
  header.writeUInt16LE(flagsOf(entry), 8);
  header.writeUInt16LE(entry.method, 10);
  header.writeUInt16LE(entry.dos.time, 12);
  header.writeUInt16LE(entry.dos.date, 14);
  header.writeUInt32LE(entry.crc32 >>> 0, 16);
  header.writeUInt32LE(entry.compressedSize, 20);
  header.writeUInt32LE(entry.size, 24);
  header.writeUInt16LE(entry.name.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt16LE(0, 32); // comment length
  header.writeUInt16LE(0, 34); // disk number
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE(((unixMode << 16) | msdosDirectoryBit) >>> 0, 38);
  header.writeUInt32LE(localHeaderOffset, 42);
  return Buffer.concat([header, entry.name, extra]);
}

export function encodeEndOfCentralDirectory(entries: number, size: number, offset: number): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return end;
}
