// Where things live in the state dir: the package store, the journal, the lock, the run reports.
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PrepPushError } from './errors.js';
import type { RunReport } from '../cut/report.js';

export function packageStoreDir(stateDir: string): string {
  return path.join(stateDir, 'packages');
}

/** Whether the state dir exists (read-only commands must not create an empty one). */
export async function stateDirExists(stateDir: string): Promise<boolean> {
  try {
    return (await stat(stateDir)).isDirectory();
  } catch {
    return false;
  }
}

export function reportsDir(stateDir: string): string {
  return path.join(stateDir, 'reports');
}

/** Keeps every run's report as `reports/<cut>-<command>-<started>.json` (written atomically). */
export async function writeRunReport(stateDir: string, report: RunReport): Promise<string> {
  const dir = reportsDir(stateDir);
  const stamp = report.started_at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = path.join(dir, `${report.cut.id}-${report.command}-${stamp}.json`);
  const temp = `${file}.tmp-${process.pid}`;
  try {
    await mkdir(dir, { recursive: true });
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(report, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    return file;
  } catch (cause) {
    await rm(temp, { force: true });
    throw new PrepPushError('io', `could not write the run report ${file}: ${(cause as Error).message}`, {
      hint: 'check that the state dir is writable and the disk is not full',
      cause,
    });
  }
}
