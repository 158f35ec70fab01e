// Package mode with signatures and deltas: which package a difusor gets (the full one, or the delta
// from the cut its prep-apply says it APPLIED), and the files to upload for it, in the contract's
// order — package, .sha256, .sig — before LATEST. The choice is pure; reading files is at the edge.
import { readFileSync } from 'node:fs';
import type { DeltaPackage } from '../../package/delta.js';
import type { BuiltPackage } from '../../package/types.js';
import type { LedgerState } from '../../ledger/types.js';
import type { AtomicUploadSource } from '../../sftp/atomic-upload.js';

/** The file prep-apply writes in REMOTE_DIR: the cut id it applied, on one line. */
export const APPLIED_FILE_NAME = 'APPLIED';

/** What a delivery can send besides the full package (absent: the full package, unsigned, as before). */
export interface PackageExtras {
  /** `<package>.sig` content, when the package is signed. */
  sigText?: string;
  /** Present when package.delta is on. */
  delta?: {
    /** The newest cut the ledger shows delivered to this difusor. */
    lastDeliveredCut(difusorId: string): string | null;
    /** The stored delta of the package being delivered against a base cut, or null. */
    find(baseCutId: string): DeltaPackage | null;
  };
}

/** The package a difusor receives this time, with the texts of its `.sha256` and `.sig`. */
export interface PackageToSend {
  kind: 'full' | 'delta';
  file: string;
  fileName: string;
  bytes: number;
  sha256Text: string;
  sigText?: string;
  baseCutId?: string;
}

/** The cut id in APPLIED's first line, or null when it holds none (absent, empty, garbage). */
export function appliedCutOf(appliedText: string | null): string | null {
  const line = appliedText?.split('\n')[0]?.trim() ?? '';
  return /^\d{8}_\d{4}$/.test(line) ? line : null;
}

/**
 * The delta's base, or null for a full package. A delta only when APPLIED names a cut that is
 * the last one delivered to this difusor (so its prep-apply did apply what we sent) and a delta
 * from it is in the store; anything else — no prep-apply, a failed apply, a base pruned from the
 * store — gets the full package, with nobody acting.
 */
export function chooseDeltaBase(appliedCut: string | null, lastDeliveredCut: string | null, newCutId: string, deltaExists: (base: string) => boolean): string | null {
  if (appliedCut === null || appliedCut !== lastDeliveredCut || appliedCut >= newCutId) return null;
  return deltaExists(appliedCut) ? appliedCut : null;
}

/** The package to send to one difusor, from the text of its APPLIED (null: no such file). */
export function choosePackageFor(
  difusorId: string,
  appliedText: string | null,
  full: { pkg: BuiltPackage; sha256Text: string },
  extras: PackageExtras | undefined,
): PackageToSend {
  const fullToSend: PackageToSend = { kind: 'full', file: full.pkg.file, fileName: full.pkg.fileName, bytes: full.pkg.bytes, sha256Text: full.sha256Text };
  if (extras?.sigText !== undefined) fullToSend.sigText = extras.sigText;
  const delta = extras?.delta;
  if (!delta) return fullToSend;
  const found = new Map<string, DeltaPackage | null>();
  const lookup = (base: string) => {
    if (!found.has(base)) found.set(base, delta.find(base));
    return found.get(base) ?? null;
  };
  const base = chooseDeltaBase(appliedCutOf(appliedText), delta.lastDeliveredCut(difusorId), full.pkg.cutId, (b) => lookup(b) !== null);
  const chosen = base === null ? null : lookup(base);
  if (!chosen) return fullToSend;
  const toSend: PackageToSend = {
    kind: 'delta',
    file: chosen.file,
    fileName: chosen.fileName,
    bytes: chosen.bytes,
    sha256Text: readFileSync(chosen.sha256File, 'utf8'),
    baseCutId: chosen.baseCutId,
  };
  if (chosen.sigFile !== undefined) toSend.sigText = readFileSync(chosen.sigFile, 'utf8');
  return toSend;
}

/** The uploads for a package, in the contract's order: package, `.sha256`, `.sig` (LATEST comes after). */
export function packageFilesToUpload(send: PackageToSend): Array<{ source: AtomicUploadSource; finalName: string; expectedBytes: number; isPackage: boolean }> {
  const files = [
    { source: { localFile: send.file }, finalName: send.fileName, expectedBytes: send.bytes, isPackage: true },
    { source: { data: send.sha256Text }, finalName: `${send.fileName}.sha256`, expectedBytes: Buffer.byteLength(send.sha256Text), isPackage: false },
  ];
  if (send.sigText !== undefined) {
    files.push({ source: { data: send.sigText }, finalName: `${send.fileName}.sig`, expectedBytes: Buffer.byteLength(send.sigText), isPackage: false });
  }
  return files;
}

/**
 * What run.ts hands the delivery: the package's signature and, with package.delta, the delta lookup.
 * The delta code (archive writer, signing) is imported only when package.delta is on: a push
 * without deltas does not load it before its first connection.
 */
export async function packageExtrasFor(pkg: BuiltPackage, storeDir: string, delta: boolean, ledger: LedgerState): Promise<PackageExtras> {
  const extras: PackageExtras = {};
  if (pkg.sigFile !== undefined) extras.sigText = readFileSync(pkg.sigFile, 'utf8');
  if (delta) {
    const { findDelta } = await import('../../package/delta.js');
    extras.delta = {
      lastDeliveredCut: (id) => ledger.difusores[id]?.lastDeliveredCut ?? null,
      find: (base) => findDelta(storeDir, pkg, base),
    };
  }
  return extras;
}
