// The package store: built archives, their .sha256 lines, and one small record per package
// (`<fileName>.json`) so a cut's package can be found by cut id whatever the name template was.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrepPushError } from '../core/errors.js';
import type { PackageFormat } from '../registry/types.js';
import { storeIoError, writeStoreFileAtomically } from './store-files.js';
import type { BuiltPackage } from './types.js';

const RECORD_KIND = 'prep-push package';
const RECORD_SUFFIXES = ['.tar.gz.json', '.zip.json'];

interface StoreRecord {
  kind: typeof RECORD_KIND;
  cutId: string;
  cutTime: string;
  format: PackageFormat;
  fileName: string;
  sha256: string;
  bytes: number;
  fileCount: number;
  /** SHA-256 of the source's content as MANIFEST.json lists it (`filesDigestOf`); absent in records older than it. */
  sourceSha256?: string;
}

/** A cut's record as stored, and when it was written (the package's build time). */
export interface StoredCut {
  cutId: string;
  cutTime: string;
  fileName: string;
  sha256: string;
  sourceSha256?: string;
  builtMs: number;
}

/** The `sha256sum` line for a package: `<hex>  <fileName>\n` (two spaces: text mode). */
export function sha256Line(sha256: string, fileName: string): string {
  return `${sha256}  ${fileName}\n`;
}

export function recordPathOf(storeDir: string, fileName: string): string {
  return path.join(storeDir, `${fileName}.json`);
}

/** Writes `<fileName>.sha256` and then the record; the record is written last and marks the package complete. */
export function recordStoredPackage(storeDir: string, pkg: BuiltPackage): void {
  writeStoreFileAtomically(storeDir, path.basename(pkg.sha256File), sha256Line(pkg.sha256, pkg.fileName));
  const record: StoreRecord = {
    kind: RECORD_KIND,
    cutId: pkg.cutId,
    cutTime: pkg.cutTime,
    format: pkg.format,
    fileName: pkg.fileName,
    sha256: pkg.sha256,
    bytes: pkg.bytes,
    fileCount: pkg.fileCount,
  };
  if (pkg.sourceSha256 !== undefined) record.sourceSha256 = pkg.sourceSha256;
  writeStoreFileAtomically(storeDir, `${pkg.fileName}.json`, JSON.stringify(record, null, 2) + '\n');
}

function corrupt(file: string, problem: string): PrepPushError {
  return new PrepPushError('io', `package store: ${file}: ${problem}`, {
    hint: 'rebuild the cut from the same source with `prep-push build --source DIR --cut TIME` (it replaces the damaged files)',
  });
}

function isStoreRecord(value: unknown): value is StoreRecord {
  const r = value as StoreRecord;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.kind === RECORD_KIND &&
    typeof r.cutId === 'string' &&
    typeof r.cutTime === 'string' &&
    (r.format === 'tar.gz' || r.format === 'zip') &&
    typeof r.fileName === 'string' &&
    !r.fileName.includes('/') &&
    typeof r.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(r.sha256) &&
    Number.isInteger(r.bytes) &&
    Number.isInteger(r.fileCount) &&
    (r.sourceSha256 === undefined || (typeof r.sourceSha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sourceSha256)))
  );
}

/**
 * Reads one record; null when the JSON is not one of ours and no archive sits beside it (a stray
 * file is not the store's business), a 'io' error when it should be ours but is damaged.
 */
function readRecord(storeDir: string, recordFile: string): StoreRecord | null {
  const recordPath = path.join(storeDir, recordFile);
  const archiveBeside = fs.existsSync(path.join(storeDir, recordFile.slice(0, -'.json'.length)));
  let record: unknown;
  try {
    record = JSON.parse(fs.readFileSync(recordPath, 'utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw storeIoError('read', recordPath, error);
    if (!archiveBeside) return null;
    throw corrupt(recordPath, 'not valid JSON');
  }
  if (isStoreRecord(record)) return record;
  if (!archiveBeside && (record as { kind?: unknown } | null)?.kind !== RECORD_KIND) return null;
  throw corrupt(recordPath, 'not a complete prep-push package record');
}

/** Checks the archive's size and its .sha256 line against the record. */
function verifyRecord(storeDir: string, record: StoreRecord): BuiltPackage {
  const file = path.join(storeDir, record.fileName);
  const sha256File = `${file}.sha256`;
  let actualBytes: number;
  try {
    actualBytes = fs.statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw corrupt(file, 'missing (its record exists)');
    throw storeIoError('read', file, error);
  }
  if (actualBytes !== record.bytes) {
    throw corrupt(file, `is ${actualBytes} bytes, but ${record.bytes} were built`);
  }
  let line: string;
  try {
    line = fs.readFileSync(sha256File, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw corrupt(sha256File, 'missing');
    throw storeIoError('read', sha256File, error);
  }
  if (line !== sha256Line(record.sha256, record.fileName)) {
    throw corrupt(sha256File, `does not hold the SHA-256 recorded for the package (${record.sha256})`);
  }
  const pkg: BuiltPackage = {
    cutId: record.cutId,
    cutTime: record.cutTime,
    format: record.format,
    file,
    fileName: record.fileName,
    sha256File,
    sha256: record.sha256,
    bytes: record.bytes,
    fileCount: record.fileCount,
  };
  if (record.sourceSha256 !== undefined) pkg.sourceSha256 = record.sourceSha256;
  // A signed package's signature sits beside it (written before the record).
  if (fs.existsSync(`${file}.sig`)) pkg.sigFile = `${file}.sig`;
  return pkg;
}

function recordFilesIn(storeDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(storeDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw storeIoError('read the package store', storeDir, error);
  }
  return names.filter((n) => !n.startsWith('.') && RECORD_SUFFIXES.some((s) => n.endsWith(s))).sort();
}

/**
 * The newest record of each cut (when one cut was built under two names, because the name
 * template or format changed, the most recently written record wins). `readOne` reads a record
 * file, or returns null to pass it over.
 */
function latestRecordsPerCut(storeDir: string, readOne: (name: string) => StoreRecord | null): Map<string, { record: StoreRecord; writtenMs: number }> {
  const byCut = new Map<string, { record: StoreRecord; writtenMs: number }>();
  for (const name of recordFilesIn(storeDir)) {
    const record = readOne(name);
    if (!record) continue;
    const writtenMs = fs.statSync(path.join(storeDir, name)).mtimeMs;
    const seen = byCut.get(record.cutId);
    if (!seen || writtenMs > seen.writtenMs) byCut.set(record.cutId, { record, writtenMs });
  }
  return byCut;
}

function latestRecordPerCut(storeDir: string): Map<string, StoreRecord> {
  const byCut = latestRecordsPerCut(storeDir, (name) => readRecord(storeDir, name));
  return new Map([...byCut].map(([cutId, v]) => [cutId, v.record]));
}

/**
 * What the store holds for a cut, from its record alone (the archive is not checked), or null. A
 * damaged record is passed over, here only: rebuilding the cut is what repairs it.
 */
export function storedCutOf(storeDir: string, cutId: string): StoredCut | null {
  const readLeniently = (name: string): StoreRecord | null => {
    try {
      return readRecord(storeDir, name);
    } catch {
      return null;
    }
  };
  const found = latestRecordsPerCut(storeDir, readLeniently).get(cutId);
  if (!found) return null;
  const { record, writtenMs } = found;
  const stored: StoredCut = { cutId: record.cutId, cutTime: record.cutTime, fileName: record.fileName, sha256: record.sha256, builtMs: writtenMs };
  if (record.sourceSha256 !== undefined) stored.sourceSha256 = record.sourceSha256;
  return stored;
}

/** Every package in the store, verified, sorted by cut id ascending. */
export async function listStoredPackages(storeDir: string): Promise<BuiltPackage[]> {
  return [...latestRecordPerCut(storeDir).values()]
    .sort((a, b) => (a.cutId < b.cutId ? -1 : a.cutId > b.cutId ? 1 : 0))
    .map((record) => verifyRecord(storeDir, record));
}

/** The stored package `stored` names, verified against its record as `findStoredPackage` does. */
export function verifiedStoredPackage(storeDir: string, stored: StoredCut): BuiltPackage {
  const record = readRecord(storeDir, `${stored.fileName}.json`);
  if (!record) throw corrupt(recordPathOf(storeDir, stored.fileName), 'not a complete prep-push package record');
  return verifyRecord(storeDir, record);
}

/** The stored package of a cut, verified against its record, or null when that cut was never built. */
export async function findStoredPackage(storeDir: string, cutId: string): Promise<BuiltPackage | null> {
  const record = latestRecordPerCut(storeDir).get(cutId);
  return record ? verifyRecord(storeDir, record) : null;
}
