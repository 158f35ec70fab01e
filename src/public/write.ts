// Keeps difusores.json and difusores.html in `public_list.dir` true: rewritten (each atomically:
// temp, fsync, rename) when their content would change or a file is missing; left alone otherwise.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LedgerState } from '../ledger/types.js';
import { syncStoreDir, writeStoreFileAtomically } from '../package/store-files.js';
import type { Registry } from '../registry/types.js';
import { publicListOf, renderPublicHtml, renderPublicJson, type PublicList } from './list.js';

export const PUBLIC_JSON = 'difusores.json';
export const PUBLIC_HTML = 'difusores.html';

export type PublicListResult =
  | { written: boolean; dir: string; error: null }
  /** The list could not be written: a warning, never a change of the run's outcome. */
  | { written: false; dir: string; error: string };

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

/**
 * Brings the public list up to date. `now` becomes `updated` only when something changed, so a run
 * that changes nothing leaves both files byte for byte as they were.
 */
export async function syncPublicList(registry: Registry, ledger: LedgerState, now: string): Promise<PublicListResult | null> {
  if (!registry.publicList) return null;
  const dir = registry.publicList.dir;
  const jsonFile = path.join(dir, PUBLIC_JSON);
  const htmlFile = path.join(dir, PUBLIC_HTML);
  try {
    const [json, html] = await Promise.all([readText(jsonFile), readText(htmlFile)]);
    const previous = updatedOf(json);
    if (previous !== null) {
      const same = publicListOf(registry, ledger, previous);
      if (json === renderPublicJson(same) && html === renderPublicHtml(same, registry.timezone)) return { written: false, dir, error: null };
    }
    const list = publicListOf(registry, ledger, now);
    await mkdir(dir, { recursive: true });
    // The page first, then the data: each replaced atomically, so a reader sees an old or a new file, never half.
    writeStoreFileAtomically(dir, PUBLIC_HTML, renderPublicHtml(list, registry.timezone));
    writeStoreFileAtomically(dir, PUBLIC_JSON, renderPublicJson(list));
    syncStoreDir(dir);
    return { written: true, dir, error: null };
  } catch (error) {
    // writeStoreFileAtomically wraps the system error; its code is what a person can act on.
    const cause = (error as Error & { cause?: NodeJS.ErrnoException }).cause;
    const code = cause?.code ?? (error as NodeJS.ErrnoException).code;
    return {
      written: false,
      dir,
      error: `could not write the public list in ${dir}${code ? ` (${code})` : ''}; make the folder writable by the user running prep-push — the next run writes it`,
    };
  }
}
