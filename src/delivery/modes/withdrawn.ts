// After `retract`, a kit difusor's prep-apply must learn which cuts were withdrawn, from the
// institute's signature alone: `WITHDRAWN` (one cut id a line, every withdrawn cut) and
// `WITHDRAWN.sig` (SSHSIG, namespace prep-push) go with every package delivery, before LATEST.
// Packages stay as they were built; nothing unsigned moves a difusor's `current` back.
import { uploadAtomically } from '../../sftp/atomic-upload.js';
import type { SftpSession } from '../../sftp/session.js';
import type { StrategyContext } from './strategy.js';

export const WITHDRAWN_FILE_NAME = 'WITHDRAWN';

export interface SignedWithdrawnList {
  /** `<cut id>\n` for every withdrawn cut, ascending. */
  text: string;
  /** The armored SSH signature of `text`. */
  sigText: string;
}

/** The list's text: every withdrawn cut id, ascending, one a line. Empty when none was withdrawn. */
export function withdrawnListText(withdrawn: Iterable<string>): string {
  return [...withdrawn]
    .sort()
    .map((cut) => `${cut}\n`)
    .join('');
}

/** Uploads WITHDRAWN.sig, then WITHDRAWN, each atomically (prep-apply checks the pair before it trusts the list). */
export async function uploadWithdrawnList(live: SftpSession, context: StrategyContext, list: SignedWithdrawnList): Promise<void> {
  const { remoteDir } = context.difusor;
  for (const [finalName, data] of [
    [`${WITHDRAWN_FILE_NAME}.sig`, list.sigText],
    [WITHDRAWN_FILE_NAME, list.text],
  ] as const) {
    context.setStep(`uploading ${finalName}`);
    await context.within(uploadAtomically(live, { data }, { remoteDir, finalName, expectedBytes: Buffer.byteLength(data) }, context.pendingTemps));
  }
}
