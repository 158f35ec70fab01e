// Delta packages: `<name>.from-<base_cut>.tar.gz`, holding only the files that are new or changed
// since a base cut plus the complete MANIFEST.json (+ .sig) of the new cut, so a difusor whose
// prep-apply holds the base release rebuilds the new one from hard links and a few bytes.
//
// The store stays bounded: each full package keeps its MANIFEST.json beside it
// (`<package>.manifest.json`) only while it can still be a base; deltas are built against the
// DELTA_BASES cuts before the new one, and deltas and manifests of cuts older than the newest
// DELTA_KEEP_CUTS are pruned. Full packages are never pruned here: they are the institute's record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hash as hashOnce } from 'node:crypto';
import type { Cut } from '../core/cut.js';
import { isPrepPushError } from '../core/errors.js';
import type { SshSigner } from '../signing/sshsig.js';
import type { ManifestFile } from './manifest.js';
import { ParallelGzipWriter } from './parallel-gzip.js';
import { MANIFEST_SIGNATURE_NAME, packageSignatureText, SIGNATURE_SUFFIX } from './sign-package.js';
import { MANIFEST_NAME, readSourceFiles, sourceChangedError, type SourceFileReader } from './source-walk.js';
import { sha256Line } from './store.js';
import { PendingStoreFile, storeIoError, writeStoreFileAtomically } from './store-files.js';
import { encodeTarHeader, TAR_END, tarPadding } from './tar-format.js';
import type { BuiltPackage } from './types.js';
import { fixedTarFields } from './write-tar-gz.js';

/** How many earlier cuts each new cut gets a delta against. */
export const DELTA_BASES = 3;
/** Deltas (and base manifests) of older cuts than the newest this many are removed. */
export const DELTA_KEEP_CUTS = DELTA_BASES + 1;

const MANIFEST_SUFFIX = '.manifest.json';
const DELTA_NAME = /^(.*)\.from-(\d{8}_\d{4})\.(tar\.gz|zip)(\.sha256|\.sig)?$/;

export interface DeltaPackage {
  baseCutId: string;
  cutId: string;
  /** Absolute path in the store. */
  file: string;
  fileName: string;
  sha256File: string;
  sha256: string;
  sigFile?: string;
  bytes: number;
  /** Files carried (MANIFEST.json and its .sig not counted). */
  fileCount: number;
}

/** `PREP_20240602_2040.tar.gz` + `20240602_2020` → `PREP_20240602_2040.from-20240602_2020.tar.gz`. */
export function deltaFileName(fullFileName: string, baseCutId: string): string {
  const match = /^(.*)\.(tar\.gz|zip)$/.exec(fullFileName);
  if (!match) throw new Error(`not a package file name: ${fullFileName}`);
  return `${match[1]}.from-${baseCutId}.${match[2]}`;
}

/** The new and changed entries of `next` against `base` (pure). */
export function changedFiles(base: readonly ManifestFile[], next: readonly ManifestFile[]): ManifestFile[] {
  const before = new Map(base.map((f) => [f.path, f.sha256]));
  return next.filter((f) => before.get(f.path) !== f.sha256);
}

export function manifestCopyPath(pkg: Pick<BuiltPackage, 'file'>): string {
  return `${pkg.file}${MANIFEST_SUFFIX}`;
}

/** Keeps a package's MANIFEST.json in the store, so later cuts can compute deltas against it. */
export function keepManifest(storeDir: string, pkg: BuiltPackage, manifest: Buffer): void {
  writeStoreFileAtomically(storeDir, path.basename(manifestCopyPath(pkg)), manifest);
}

function readManifestFiles(file: string): ManifestFile[] | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { files?: ManifestFile[] };
    return Array.isArray(parsed.files) ? parsed.files : null;
  } catch {
    return null;
  }
}

export interface BuildDeltasInput {
  storeDir: string;
  sourceDir: string;
  cut: Cut;
  /** The new cut's full package, already in the store. */
  pkg: BuiltPackage;
  /** Its MANIFEST.json bytes and signature, exactly as inside the full package. */
  manifest: Buffer;
  manifestSignature?: Buffer;
  /** Earlier packages in the store, oldest first. */
  stored: BuiltPackage[];
  signer?: SshSigner;
}

/** Builds the deltas of a new cut against its recent bases (tar.gz only), then prunes old ones. */
export async function buildDeltaPackages(input: BuildDeltasInput): Promise<DeltaPackage[]> {
  if (input.pkg.format !== 'tar.gz') return [];
  const next = (JSON.parse(input.manifest.toString('utf8')) as { files: ManifestFile[] }).files;
  const bases = input.stored.filter((p) => p.cutId < input.pkg.cutId && p.format === 'tar.gz').slice(-DELTA_BASES);
  const built: DeltaPackage[] = [];
  for (const base of bases) {
    const baseFiles = readManifestFiles(manifestCopyPath(base));
    if (!baseFiles) continue;
    const source = readSourceFiles(input.sourceDir);
    try {
      built.push(await writeDelta(input, source, base.cutId, changedFiles(baseFiles, next)));
    } finally {
      source.close();
    }
  }
  pruneDeltas(input.storeDir, [...input.stored.map((p) => p.cutId), input.pkg.cutId]);
  return built;
}

async function writeDelta(input: BuildDeltasInput, source: SourceFileReader, baseCutId: string, files: ManifestFile[]): Promise<DeltaPackage> {
  const fileName = deltaFileName(input.pkg.fileName, baseCutId);
  const archive = new PendingStoreFile(input.storeDir, fileName);
  const gzip = new ParallelGzipWriter((bytes) => archive.write(bytes));
  const fixed = fixedTarFields(input.cut);
  const append = async (data: Buffer) => {
    const wait = gzip.append(data);
    if (wait) await wait;
  };
  const appendFile = async (relPath: string, data: Buffer) => {
    await append(encodeTarHeader({ ...fixed, path: relPath, type: 'file', size: data.length, mode: 0o644 }));
    await append(data);
    await append(Buffer.alloc(tarPadding(data.length)));
  };
  let sha256: string;
  try {
    const dirsWritten = new Set<string>();
    for (const file of files) {
      // Each folder on the way, once, so prep-apply creates new folders 0755.
      const parts = file.path.split('/');
      for (let i = 1; i < parts.length; i += 1) {
        const dir = parts.slice(0, i).join('/');
        if (dirsWritten.has(dir)) continue;
        dirsWritten.add(dir);
        await append(encodeTarHeader({ ...fixed, path: `${dir}/`, type: 'directory', size: 0, mode: 0o755 }));
      }
      // Opened as the full package's files were (never through a symlink), and read no further
      // than the manifest's size.
      const data = source.read(file.path, file.size);
      // The delta must carry exactly what the signed manifest says, or prep-apply would refuse it.
      if (data.length !== file.size || hashOnce('sha256', data) !== file.sha256) throw sourceChangedError(path.join(input.sourceDir, ...parts));
      await appendFile(file.path, data);
    }
    await appendFile(MANIFEST_NAME, input.manifest);
    if (input.manifestSignature) await appendFile(MANIFEST_SIGNATURE_NAME, input.manifestSignature);
    await append(TAR_END);
    await gzip.end();
    sha256 = archive.commit();
  } catch (error) {
    archive.discard();
    throw isPrepPushError(error) ? error : storeIoError('build', archive.finalPath, error);
  }
  const delta: DeltaPackage = {
    baseCutId,
    cutId: input.pkg.cutId,
    file: archive.finalPath,
    fileName,
    sha256File: `${archive.finalPath}.sha256`,
    sha256,
    bytes: archive.bytes,
    fileCount: files.length,
  };
  if (input.signer) delta.sigFile = writeStoreFileAtomically(input.storeDir, `${fileName}${SIGNATURE_SUFFIX}`, packageSignatureText(input.signer, sha256));
  // The .sha256 last: a delta with its .sha256 is complete (findDelta looks for it).
  writeStoreFileAtomically(input.storeDir, `${fileName}.sha256`, sha256Line(sha256, fileName));
  return delta;
}

/** The stored delta of `pkg` against `baseCutId`, when one was built and is complete. */
export function findDelta(storeDir: string, pkg: BuiltPackage, baseCutId: string): DeltaPackage | null {
  const fileName = deltaFileName(pkg.fileName, baseCutId);
  const file = path.join(storeDir, fileName);
  let line: string;
  let bytes: number;
  try {
    line = fs.readFileSync(`${file}.sha256`, 'utf8');
    bytes = fs.statSync(file).size;
  } catch {
    return null;
  }
  const sha256 = line.slice(0, 64);
  if (!/^[0-9a-f]{64}$/.test(sha256) || line !== sha256Line(sha256, fileName)) return null;
  const delta: DeltaPackage = { baseCutId, cutId: pkg.cutId, file, fileName, sha256File: `${file}.sha256`, sha256, bytes, fileCount: 0 };
  if (fs.existsSync(`${file}${SIGNATURE_SUFFIX}`)) delta.sigFile = `${file}${SIGNATURE_SUFFIX}`;
  return delta;
}

/** Removes deltas whose cut, and manifest copies whose package, is older than the newest DELTA_KEEP_CUTS cuts. */
export function pruneDeltas(storeDir: string, cutIds: string[]): void {
  const keep = new Set([...new Set(cutIds)].sort().slice(-DELTA_KEEP_CUTS));
  for (const name of fs.readdirSync(storeDir)) {
    if (name.startsWith('.')) continue;
    const delta = DELTA_NAME.exec(name);
    const manifest = name.endsWith(MANIFEST_SUFFIX);
    if (!delta && !manifest) continue;
    const cutId = (delta ? delta[1] : name.slice(0, -MANIFEST_SUFFIX.length)).match(/\d{8}_\d{4}/g)?.pop();
    if (cutId !== undefined && !keep.has(cutId)) fs.rmSync(path.join(storeDir, name), { force: true });
  }
}
