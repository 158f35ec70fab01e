// Keeps difusores.json, difusores.html and logos/ in `public_list.dir` true: rewritten (each file
// atomically: temp, fsync, rename) when their content would change or a file is missing; left alone
// otherwise. Logos are read again here (judged by content, at most 256 KB, no symlink followed): one
// that changed into something unfit since `validate` is left out, with a warning.
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LedgerState } from '../ledger/types.js';
import { syncStoreDir, writeStoreFileAtomically } from '../package/store-files.js';
import { LOGO_EXTENSION, readLogo } from '../registry/logo.js';
import type { Registry } from '../registry/types.js';
import { listedDifusores, publicListOf, renderPublicHtml, renderPublicJson, type PublicList } from './list.js';

export const PUBLIC_JSON = 'difusores.json';
export const PUBLIC_HTML = 'difusores.html';
export const PUBLIC_LOGOS = 'logos';

export type PublicListResult =
  | { written: boolean; dir: string; error: null; warnings?: string[] }
  /** The list could not be written: a warning, never a change of the run's outcome. */
  | { written: false; dir: string; error: string; warnings?: string[] };

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** The `updated` of the list on disk, when it is a list this code wrote. */
function updatedOf(json: string | null): string | null {
  if (json === null) return null;
  try {
    const value = JSON.parse(json) as Partial<PublicList>;
    return typeof value.updated === 'string' ? value.updated : null;
  } catch {
    return null;
  }
}

/** A logo as the list publishes it: `logos/<id>.<ext>` and its bytes. */
interface PublishedLogo {
  id: string;
  path: string;
  bytes: Buffer;
}

/** The logos of the listed difusores that are fit to publish, and a warning for each that is not. */
async function logosToPublish(registry: Registry, ledger: LedgerState): Promise<{ logos: PublishedLogo[]; warnings: string[] }> {
  const logos: PublishedLogo[] = [];
  const warnings: string[] = [];
  for (const d of listedDifusores(registry, ledger)) {
    if (d.logo === undefined) continue;
    const verdict = await readLogo(d.logo);
    if (verdict.ok) logos.push({ id: d.id, path: `${PUBLIC_LOGOS}/${d.id}.${LOGO_EXTENSION[verdict.type]}`, bytes: verdict.bytes });
    else warnings.push(`the public list shows ${d.id} without its logo: logo ${verdict.problem}`);
  }
  return { logos, warnings };
}

/** Names in logos/ that are not one of these (a difusor removed, blocked under `remove`, or a new type). */
async function staleLogos(dir: string, logos: readonly PublishedLogo[]): Promise<string[]> {
  const wanted = new Set(logos.map((l) => path.basename(l.path)));
  const present = await readdir(path.join(dir, PUBLIC_LOGOS)).catch(() => [] as string[]);
  return present.filter((name) => !wanted.has(name) && !name.startsWith('.'));
}

async function logosInPlace(dir: string, logos: readonly PublishedLogo[]): Promise<boolean> {
  for (const logo of logos) {
    const onDisk = await readFile(path.join(dir, logo.path)).catch(() => null);
    if (onDisk === null || !onDisk.equals(logo.bytes)) return false;
  }
  return (await staleLogos(dir, logos)).length === 0;
}

/**
 * Brings the public list up to date. `now` becomes `updated` only when something changed, so a run
 * that changes nothing leaves every file byte for byte as it was.
 */
export async function syncPublicList(registry: Registry, ledger: LedgerState, now: string): Promise<PublicListResult | null> {
  if (!registry.publicList) return null;
  const { dir } = registry.publicList;
  const blocked = registry.publicList.blocked ?? 'suspend';
  const jsonFile = path.join(dir, PUBLIC_JSON);
  const htmlFile = path.join(dir, PUBLIC_HTML);
  const { logos, warnings } = await logosToPublish(registry, ledger);
  const logoPaths = new Map(logos.map((l) => [l.id, l.path]));
  const withWarnings = (result: PublicListResult): PublicListResult => (warnings.length ? { ...result, warnings } : result);
  try {
    const [json, html] = await Promise.all([readText(jsonFile), readText(htmlFile)]);
    const previous = updatedOf(json);
    if (previous !== null) {
      const same = publicListOf(registry, ledger, previous, logoPaths);
      if (json === renderPublicJson(same) && html === renderPublicHtml(same, registry, blocked) && (await logosInPlace(dir, logos))) {
        return withWarnings({ written: false, dir, error: null });
      }
    }
    const list = publicListOf(registry, ledger, now, logoPaths);
    await mkdir(dir, { recursive: true });
    // Logos first, then the page, then the data: each replaced atomically, so a reader sees an old
    // or a new file, never half, and the page never names a logo that is not there yet.
    if (logos.length > 0) {
      const logosDir = path.join(dir, PUBLIC_LOGOS);
      await mkdir(logosDir, { recursive: true });
      for (const logo of logos) writeStoreFileAtomically(logosDir, path.basename(logo.path), logo.bytes);
      syncStoreDir(logosDir);
    }
    writeStoreFileAtomically(dir, PUBLIC_HTML, renderPublicHtml(list, registry, blocked));
    writeStoreFileAtomically(dir, PUBLIC_JSON, renderPublicJson(list));
    syncStoreDir(dir);
    for (const name of await staleLogos(dir, logos)) await rm(path.join(dir, PUBLIC_LOGOS, name), { force: true });
    return withWarnings({ written: true, dir, error: null });
  } catch (error) {
    // writeStoreFileAtomically wraps the system error; its code is what a person can act on.
    const cause = (error as Error & { cause?: NodeJS.ErrnoException }).cause;
    const code = cause?.code ?? (error as NodeJS.ErrnoException).code;
    return withWarnings({
      written: false,
      dir,
      error: `could not write the public list in ${dir}${code ? ` (${code})` : ''}; make the folder writable by the user running prep-push — the next run writes it`,
    });
  }
}
