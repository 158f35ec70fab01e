// What each difusor's server was found to do (symlinks, whether a rename replaces one), remembered
// in the state dir between runs so a cut does not probe it again. The probe is ~20 round trips one
// after another: 1.1 s a difusor at 50 ms RTT, every cut (issue 25, docs/benchmarks.md figure 10a).
//
// An entry is used only while everything it was learnt under is unchanged: the registry's host, port,
// user, remote_dir and pinned keys, and the extensions the server advertises (a server upgraded or
// replaced advertises others). A publish that fails after recalling an entry forgets it, so the next
// attempt probes again: a wrong memory costs one failed attempt, never a wrong `current` (the switch
// is checked with READLINK).
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../core/atomic-write.js';
import { capabilitiesPath } from '../core/state-dir.js';
import type { CapabilityMemory, PublishCapabilities } from './capabilities.js';

/** What the registry says about where a difusor is; an entry learnt elsewhere is not used. */
export interface DifusorAddress {
  id: string;
  host: string;
  port: number;
  username: string;
  remoteDir: string;
  hostKeys: readonly string[];
}

interface Entry {
  where: string;
  extensions: string;
  caps: PublishCapabilities;
}

/** The memory of every difusor, loaded once per run and written back once (`save`). */
export interface CapabilityStore {
  of(difusor: DifusorAddress): CapabilityMemory;
  /** Writes the file when an entry changed; a failure to write only means probing again next run. */
  save(): Promise<void>;
}

const whereOf = (d: DifusorAddress): string => JSON.stringify([d.host, d.port, d.username, d.remoteDir, [...d.hostKeys].sort()]);
const extensionsOf = (extensions: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(extensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function isEntry(value: unknown): value is Entry {
  const v = value as Partial<Entry> | null;
  const caps = v?.caps as Partial<PublishCapabilities> | undefined;
  return (
    typeof v?.where === 'string' &&
    typeof v.extensions === 'string' &&
    ['hardlink', 'posixRename', 'symlink', 'renameReplacesSymlink'].every((k) => typeof caps?.[k as keyof PublishCapabilities] === 'boolean')
  );
}

/** Entries by difusor id from the file's text; anything unreadable is dropped (then probed again). */
export function parseCapabilityFile(text: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return entries;
  }
  if (parsed === null || typeof parsed !== 'object') return entries;
  for (const [id, entry] of Object.entries(parsed as Record<string, unknown>)) if (isEntry(entry)) entries.set(id, entry);
  return entries;
}

/** A store over entries in memory; `write` receives the file's new text when something changed. */
export function capabilityStoreOf(entries: Map<string, Entry>, write: (text: string) => Promise<void>): CapabilityStore {
  let changed = false;
  return {
    of(difusor) {
      const where = whereOf(difusor);
      return {
        recall(extensions) {
          const entry = entries.get(difusor.id);
          return entry !== undefined && entry.where === where && entry.extensions === extensionsOf(extensions) ? { ...entry.caps } : null;
        },
        remember(extensions, caps) {
          entries.set(difusor.id, { where, extensions: extensionsOf(extensions), caps: { ...caps } });
          changed = true;
        },
        forget() {
          changed = entries.delete(difusor.id) || changed;
        },
      };
    },
    async save() {
      if (!changed) return;
      changed = false;
      await write(`${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`).catch(() => undefined);
    },
  };
}

/** The store of the state dir's `capabilities.json` (absent or unreadable: empty). */
export async function loadCapabilityStore(stateDir: string): Promise<CapabilityStore> {
  const file = capabilitiesPath(stateDir);
  const text = await readFile(file, 'utf8').catch(() => '{}');
  return capabilityStoreOf(parseCapabilityFile(text), (content) => writeFileAtomically(file, content, 0o600));
}
