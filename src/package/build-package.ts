// Builds the diffusion package of a cut into the store: archive, `.sha256` line and store record,
// each written under a temporary name and renamed into place. A cut id names one content: a cut
// already stored is kept when the new build gives the same package, and refused when its source
// differs (./one-content.ts), before the new archive takes its place.
import * as path from 'node:path';
import type { Cut } from '../core/cut.js';
import { isPrepPushError, PrepPushError } from '../core/errors.js';
import type { PackageFormat } from '../registry/types.js';
import type { ParallelGzipOptions } from './parallel-gzip.js';
import { traceMark } from '../core/trace.js';
import { filesDigestOf } from './manifest.js';
import { decideAgainstStored } from './one-content.js';
import { SourceWalk, type SourceWalkOptions } from './source-walk.js';
import { recordStoredPackage, storedCutOf, verifiedStoredPackage, type StoredCut } from './store.js';
import { ensureStoreDir, PendingStoreFile, removeCreatedStoreDir, storeIoError, syncStoreDir } from './store-files.js';
import type { BuiltPackage } from './types.js';
import { writeTarGz } from './write-tar-gz.js';
import type { SshSigner } from '../signing/sshsig.js';
import { PackageSigning } from './sign-package.js';
import { listStoredPackages } from './store.js';

export interface BuildPackageInput {
  sourceDir: string;
  cut: Cut;
  institute: string;
  /** Registry's `package.name`, e.g. `PREP2024_MICH_{cut}`. */
  nameTemplate: string;
  format: PackageFormat;
  storeDir: string;
  /** Tuning for tests and the benchmark; the defaults are what production uses. */
  gzip?: ParallelGzipOptions;
  /** The registry's signing_key, loaded: adds `<package>.sig` and MANIFEST.json.sig. */
  signer?: SshSigner;
  /** package.delta: also build deltas against recent cuts (src/package/delta.ts). */
  delta?: boolean;
  /** Test seam: called while the source is walked (see SourceWalkOptions.afterListing). */
  afterListing?: SourceWalkOptions['afterListing'];
}

/** `PREP2024_MICH_{cut}` + cut → `PREP2024_MICH_20240602_2020.tar.gz`. */
export function packageFileName(nameTemplate: string, cutId: string, format: PackageFormat): string {
  const base = nameTemplate.split('{cut}').join(cutId);
  if (base === '' || base.startsWith('.') || /[/\\\0\n]/.test(base)) {
    throw new PrepPushError('registry', `package.name: "${nameTemplate}" does not give a usable file name`, {
      hint: 'use letters, digits, "_" and "-" plus {cut}, e.g. PREP2024_MICH_{cut}',
    });
  }
  return `${base}.${format}`;
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export async function buildPackage(input: BuildPackageInput): Promise<BuiltPackage> {
  const fileName = packageFileName(input.nameTemplate, input.cut.id, input.format);
  const sourceDir = path.resolve(input.sourceDir);
  const storeDir = path.resolve(input.storeDir);
  if (isInside(sourceDir, storeDir)) {
    throw new PrepPushError('source', `the package store ${storeDir} is inside the source folder ${sourceDir}`, {
      hint: 'keep the state dir outside the publication folder, or packages would end up inside packages',
    });
  }

  const source = new SourceWalk(sourceDir, input.afterListing ? { afterListing: input.afterListing } : {});
  let archive: PendingStoreFile;
  let createdStore: string | undefined;
  try {
    createdStore = ensureStoreDir(storeDir);
    archive = new PendingStoreFile(storeDir, fileName);
  } catch (error) {
    source.close();
    throw error;
  }
  const signing = new PackageSigning(input.signer);
  let sha256: string;
  let sourceSha256: string;
  try {
    const write = (bytes: Buffer) => archive.write(bytes);
    if (input.format === 'zip') {
      // Loaded only for zip, as the deltas below: every module is start-up time of `cut`.
      const { writeZip } = await import('./write-zip.js');
      await writeZip(source, input.cut, input.institute, write, signing.afterManifest);
    } else {
      await writeTarGz(source, input.cut, input.institute, write, input.gzip, signing.afterManifest);
    }
    traceMark(`package: ${source.fileCount} files read and compressed`);
    sha256 = archive.finish();
    sourceSha256 = filesDigestOf(signing.manifest as Buffer);
    const stored = storedCutOf(storeDir, input.cut.id);
    const decision = decideAgainstStored(input.cut, stored, { fileName, sha256, sourceSha256 });
    if (decision.action === 'refuse') throw decision.error;
    if (decision.action === 'reuse' && stored) {
      const kept = keptPackage(storeDir, stored);
      if (kept) {
        archive.discard();
        return kept;
      }
    }
    archive.commit();
  } catch (error) {
    source.close();
    archive.discard();
    // A refused build leaves no trace in the state dir.
    removeCreatedStoreDir(storeDir, createdStore);
    throw isPrepPushError(error) ? error : storeIoError('build', archive.finalPath, error);
  }

  const built: BuiltPackage = {
    cutId: input.cut.id,
    cutTime: input.cut.time,
    format: input.format,
    file: archive.finalPath,
    fileName,
    sha256File: `${archive.finalPath}.sha256`,
    sha256,
    bytes: archive.bytes,
    fileCount: source.fileCount,
    sourceSha256,
  };
  const sigFile = signing.writeSignature(storeDir, fileName, sha256);
  if (sigFile !== undefined) built.sigFile = sigFile;
  // Deltas are an optimisation: a damaged older record must not stop the full package.
  const earlier = input.delta ? await listStoredPackages(storeDir).catch(() => []) : [];
  recordStoredPackage(storeDir, built);
  if (input.delta && signing.manifest) {
    const { buildDeltaPackages, keepManifest } = await import('./delta.js');
    keepManifest(storeDir, built, signing.manifest);
    await buildDeltaPackages({
      storeDir,
      sourceDir,
      cut: input.cut,
      pkg: built,
      manifest: signing.manifest,
      manifestSignature: signing.manifestSignature,
      stored: earlier.filter((p) => p.cutId !== built.cutId),
      signer: input.signer,
    });
  }
  syncStoreDir(storeDir);
  traceMark('package: stored');
  return built;
}

/** The stored package of the cut, when it is intact (else the identical new build replaces it). */
function keptPackage(storeDir: string, stored: StoredCut): BuiltPackage | null {
  try {
    return verifiedStoredPackage(storeDir, stored);
  } catch {
    return null;
  }
}
