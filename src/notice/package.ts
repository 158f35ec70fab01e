// The notice as a signed package, for difusores whose kit's prep-apply applies packages: a small
// tar.gz holding index.html, json/main.json, the notice's MANIFEST.json and MANIFEST.json.sig, with its .sha256
// and .sig, written beside the notice's folder in the state dir.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PrepPushError } from '../core/errors.js';
import { packageFileName } from '../package/build-package.js';
import { MANIFEST_SIGNATURE_NAME } from '../package/sign-package.js';
import { MANIFEST_NAME } from '../package/source-scan.js';
import { sha256Line } from '../package/store.js';
import { writeStoreFileAtomically } from '../package/store-files.js';
import { encodeTarHeader, TAR_END, tarPadding } from '../package/tar-format.js';
import type { BuiltPackage } from '../package/types.js';
import { fixedTarFields } from '../package/write-tar-gz.js';
import { signBytes, type SshSigner } from '../signing/sshsig.js';
import { NOTICE_MARK } from '../publish/layout.js';
import type { NoticeRelease } from './release.js';

/**
 * `PREP2024_MICH_{cut}` + cut → `PREP2024_MICH_20240602_2020-aviso.tar.gz`. Always tar.gz (every
 * kit has tar and gzip). It never equals a real package's name: those end in `<cut part>.<ext>` or
 * `.from-<cut>.<ext>`, and validate refuses a package.name ending in `-aviso`, so prep-apply can
 * tell a notice by its name (and checks the signed manifest's marker too).
 */
export function noticePackageFileName(nameTemplate: string, cutId: string): string {
  return packageFileName(nameTemplate, cutId, 'tar.gz').replace(/\.tar\.gz$/, `${NOTICE_MARK}.tar.gz`);
}

/** Where a difusor's notice package is written: beside its notice folder (`notices/<id>.package/`). */
export function noticePackageDir(release: NoticeRelease): string {
  return `${release.sourceDir}.package`;
}

/** `a/b/c.json` → `['a', 'a/b']`. */
function parentFolders(file: string): string[] {
  const parts = file.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Builds the notice package of `release` afresh. The manifest inside is the notice's MANIFEST.json
 * byte for byte (its cut id is the one in the name, and it carries the `notice` marker), signed
 * like a cut's. Deterministic for the same notice and key: times are the cut's, as in packages.
 */
export function buildNoticePackage(release: NoticeRelease, nameTemplate: string, signer: SshSigner): BuiltPackage {
  const cut = release.manifest.cut;
  if (!/^\d{8}_\d{4}$/.test(cut.id)) {
    throw new PrepPushError('usage', 'no cut has been built yet, so the notice package has no name; it is placed at the first cut');
  }
  const fileName = noticePackageFileName(nameTemplate, cut.id);
  const manifest = readFileSync(path.join(release.sourceDir, MANIFEST_NAME));
  const entries = [
    ...release.manifest.files.map((f) => ({ path: f.path, data: readFileSync(path.join(release.sourceDir, f.path)) })),
    { path: MANIFEST_NAME, data: manifest },
    { path: MANIFEST_SIGNATURE_NAME, data: Buffer.from(signBytes(signer, manifest)) },
  ];
  const fixed = fixedTarFields({ id: cut.id, time: cut.time, epochMs: Date.parse(cut.time) });
  // Folders first (json/ for json/main.json), 0755 like a cut's, so no umask decides them.
  const folders = [...new Set(entries.flatMap((e) => parentFolders(e.path)))].sort();
  const tar = [
    ...folders.map((folder) => encodeTarHeader({ ...fixed, path: `${folder}/`, type: 'directory', size: 0, mode: 0o755 })),
    ...entries.flatMap((e) => [
      encodeTarHeader({ ...fixed, path: e.path, type: 'file', size: e.data.length, mode: 0o644 }),
      e.data,
      Buffer.alloc(tarPadding(e.data.length)),
    ]),
  ];
  const archive = gzipSync(Buffer.concat([...tar, TAR_END]));
  const sha256 = createHash('sha256').update(archive).digest('hex');

  const dir = noticePackageDir(release);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = writeStoreFileAtomically(dir, fileName, archive);
  return {
    cutId: cut.id,
    cutTime: cut.time,
    format: 'tar.gz',
    file,
    fileName,
    sha256File: writeStoreFileAtomically(dir, `${fileName}.sha256`, sha256Line(sha256, fileName)),
    sha256,
    bytes: archive.length,
    fileCount: release.manifest.files.length,
    sigFile: writeStoreFileAtomically(dir, `${fileName}.sig`, signBytes(signer, archive)),
  };
}
