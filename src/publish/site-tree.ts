// The institute's side of site mode: each cut's publication folder, extracted once from its stored
// package into the state dir (`sites/<cut_id>-<sha256 prefix>/`), and kept for a few cuts.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PrepPushError } from '../core/errors.js';
import { extractTarGz } from '../package/extract-tar-gz.js';
import type { BuiltPackage } from '../package/types.js';
import { MANIFEST_NAME } from './layout.js';
import type { LocalRelease } from './release.js';
import { sitesDir as sitesDirOf } from '../core/state-dir.js';

const MANIFEST_SIG_NAME = `${MANIFEST_NAME}.sig`;
/** Extracted cuts kept besides the one being published: re-pushes of recent cuts skip extraction. */
const KEEP_EXTRACTED = 3;

function treeNameOf(pkg: BuiltPackage): string {
  return `${pkg.cutId}-${pkg.sha256.slice(0, 12)}`;
}

/**
 * The release of `pkg` as a local folder plus its manifest, extracting the stored package the
 * first time. Rejects with PrepPushError('io') when the package cannot be read or extracted.
 */
export async function siteReleaseOf(stateDir: string, pkg: BuiltPackage): Promise<LocalRelease> {
  const sitesDir = sitesDirOf(stateDir);
  const dir = join(sitesDir, treeNameOf(pkg));
  const exists = await stat(join(dir, MANIFEST_NAME)).then(
    () => true,
    () => false,
  );
  if (!exists) {
    if (pkg.format !== 'tar.gz') {
      throw new PrepPushError('usage', `site mode publishes from tar.gz packages; ${pkg.fileName} is ${pkg.format}`, {
        hint: 'set package.format: tar.gz in the registry (difusores still receive the same files)',
      });
    }
    const work = join(sitesDir, `.extract-${randomBytes(6).toString('hex')}`);
    try {
      await extractTarGz(pkg.file, work);
      await rm(dir, { recursive: true, force: true });
      await rename(work, dir);
    } catch (error) {
      await rm(work, { recursive: true, force: true }).catch(() => {});
      if (error instanceof PrepPushError) throw error;
      throw new PrepPushError('io', `cannot extract ${pkg.file} into ${sitesDir}: ${(error as Error).message}`, { cause: error });
    }
    await pruneExtracted(sitesDir, treeNameOf(pkg));
  }
  const manifest = await readFile(join(dir, MANIFEST_NAME));
  // A signed package carries MANIFEST.json.sig; the release holds it too (uploaded every time).
  const signed = await stat(join(dir, MANIFEST_SIG_NAME)).then(
    () => true,
    () => false,
  );
  return { name: pkg.cutId, sourceDir: dir, manifest, ...(signed ? { extraFiles: [MANIFEST_SIG_NAME] } : {}) };
}

/**
 * Keeps the KEEP_EXTRACTED newest extracted cuts besides `keepName`. The older ones are renamed to a
 * `.`-name at once (from then on no run takes them for an extracted cut, whatever happens to the
 * removal) and removed in the background with any `.`-leftovers: removing a 20,000-file tree takes
 * ~0.25 s, which would otherwise delay every site-mode cut's first connect. A run that ends first
 * leaves `.pruned-*` folders, which the next prune removes.
 */
async function pruneExtracted(sitesDir: string, keepName: string): Promise<void> {
  const names = (await readdir(sitesDir).catch(() => [] as string[])).sort();
  const trees = names.filter((n) => !n.startsWith('.') && n !== keepName);
  const doomed = trees.slice(0, Math.max(0, trees.length - KEEP_EXTRACTED));
  const aside = await Promise.all(
    doomed.map(async (n) => {
      const hidden = `.pruned-${n}-${randomBytes(4).toString('hex')}`;
      return rename(join(sitesDir, n), join(sitesDir, hidden)).then(
        () => hidden,
        () => null,
      );
    }),
  );
  const removable = [...aside.filter((n): n is string => n !== null), ...names.filter((n) => n.startsWith('.'))];
  void Promise.all(removable.map((n) => rm(join(sitesDir, n), { recursive: true, force: true }).catch(() => {})));
}

/** SHA-256 of each extracted cut's MANIFEST.json still in the state dir, by release name. */
export async function extractedManifestHashes(stateDir: string): Promise<Map<string, string>> {
  const sitesDir = sitesDirOf(stateDir);
  const out = new Map<string, string>();
  for (const name of await readdir(sitesDir).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue;
    const data = await readFile(join(sitesDir, name, MANIFEST_NAME)).catch(() => null);
    if (data) out.set(createHash('sha256').update(data).digest('hex'), name.replace(/-[0-9a-f]{12}$/, ''));
  }
  return out;
}
