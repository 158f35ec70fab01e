// Every path in the state dir, in one place: the ledger's journal and lock, the package store, the
// run reports, the extracted sites, the notices and the servers' remembered capabilities. Read-only
// commands check it exists first.
import { stat } from 'node:fs/promises';
import path from 'node:path';

export function journalPath(stateDir: string): string {
  return path.join(stateDir, 'journal.jsonl');
}

export function lockPath(stateDir: string): string {
  return path.join(stateDir, 'lock');
}

export function packageStoreDir(stateDir: string): string {
  return path.join(stateDir, 'packages');
}

/** One JSON report per run (`reports/<cut>-<command>-<started>.json`). */
export function reportsDir(stateDir: string): string {
  return path.join(stateDir, 'reports');
}

/** Stored packages extracted for site mode, one folder per cut. */
export function sitesDir(stateDir: string): string {
  return path.join(stateDir, 'sites');
}

/** What each site-mode difusor's server was found to do, so a cut does not probe it again. */
export function capabilitiesPath(stateDir: string): string {
  return path.join(stateDir, 'capabilities.json');
}

/** The notice releases written for blocked difusores, one folder per difusor. */
export function noticesDir(stateDir: string): string {
  return path.join(stateDir, 'notices');
}

/** Whether the state dir exists (read-only commands must not create an empty one). */
export async function stateDirExists(stateDir: string): Promise<boolean> {
  try {
    return (await stat(stateDir)).isDirectory();
  } catch {
    return false;
  }
}
