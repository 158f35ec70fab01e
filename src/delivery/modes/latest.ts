// LATEST: the one-line file naming the newest package a difusor holds, replaced atomically and last.
import { posix } from 'node:path';
import { uploadAtomically } from '../../sftp/atomic-upload.js';
import { type SftpSession, ONE_LINE_FILE_MAX_BYTES } from '../../sftp/session.js';
import type { StrategyContext } from './strategy.js';

export const LATEST_FILE_NAME = 'LATEST';

const CUT_ID_IN_NAME = /\d{8}_\d{4}/g;

/**
 * LATEST names the newest package a difusor holds, so re-pushing an older cut by hand (say, one it
 * missed, for its archive) must not move it backwards. Names without a recognisable cut id are
 * replaced, as are equal cuts (a re-push of the same cut is idempotent).
 */
export function shouldReplaceLatest(currentLatest: string | null, newCutId: string, latestMustName?: string | null): boolean {
  // The last cut-id-shaped run is the {cut} (a template may hold other digits before it).
  // A delta's name ends with `.from-<base cut>`: the base is not the cut it brings.
  const current = currentLatest?.replace(/\.from-\d{8}_\d{4}/, '').match(CUT_ID_IN_NAME)?.pop();
  // After `retract`, the cut LATEST must name is older than what it names: the one move back.
  return current === undefined || current <= newCutId || newCutId === latestMustName;
}

/** What `LATEST` holds now (null: no such file). */
export async function readLatest(live: SftpSession, context: StrategyContext): Promise<string | null> {
  context.setStep(`reading ${LATEST_FILE_NAME}`);
  return context.within(live.readSmallFile(posix.join(context.difusor.remoteDir, LATEST_FILE_NAME), ONE_LINE_FILE_MAX_BYTES));
}

/** Points `LATEST` at `fileName`, atomically; called only once the package's files are in place. */
export async function writeLatest(live: SftpSession, context: StrategyContext, fileName: string): Promise<void> {
  const latest = `${fileName}\n`;
  context.setStep(`updating ${LATEST_FILE_NAME}`);
  await context.within(
    uploadAtomically(
      live,
      { data: latest },
      { remoteDir: context.difusor.remoteDir, finalName: LATEST_FILE_NAME, expectedBytes: Buffer.byteLength(latest) },
      context.pendingTemps,
    ),
  );
}
