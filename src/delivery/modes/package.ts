// The package strategy: the package (full, or the delta the difusor's prep-apply can take), its
// .sha256 and .sig, then LATEST, each uploaded atomically into remote_dir. The upload steps are
// shared with the notice package (notice-package.ts), which differs only in when LATEST may move.
import { posix } from 'node:path';
import { traceMark } from '../../core/trace.js';
import type { BuiltPackage } from '../../package/types.js';
import { sweepStaleTemps, uploadAtomically } from '../../sftp/atomic-upload.js';
import { type SftpSession, ONE_LINE_FILE_MAX_BYTES } from '../../sftp/session.js';
import { readLatest, shouldReplaceLatest, writeLatest } from './latest.js';
import { uploadWithdrawnList, type SignedWithdrawnList } from './withdrawn.js';
import { APPLIED_FILE_NAME, choosePackageFor, packageFilesToUpload, type PackageExtras, type PackageToSend } from './package-choice.js';
import type { DeliveryStrategy, StrategyContext, StrategyOutcome } from './strategy.js';

/** What the package strategy sends: the cut's package, as built and stored. */
export interface PackageInput {
  pkg: BuiltPackage;
  /** Content of `pkg.sha256File`, read once for every difusor. */
  sha256Text: string;
  /** The cut LATEST must name (see shouldReplaceLatest). */
  latestMustName?: string | null;
  /** Signature and deltas (package-choice.ts); absent: the full package, unsigned. */
  extras?: PackageExtras;
  /** After a `retract`: the signed list of withdrawn cuts, uploaded before LATEST (withdrawn.ts). */
  withdrawn?: SignedWithdrawnList;
}

export function packageStrategy(input: PackageInput): DeliveryStrategy {
  const { pkg } = input;
  return {
    name: 'package',
    bytesNeeded: pkg.bytes,
    async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
      const { difusor, within, setStep } = context;
      const { remoteDir } = difusor;
      setStep(`removing stale temporary files in ${remoteDir}`);
      await within(sweepStaleTemps(live, remoteDir));
      // The full package, or the delta from the cut this difusor's prep-apply APPLIED (package-choice.ts).
      setStep(`reading ${APPLIED_FILE_NAME}`);
      const applied = input.extras?.delta ? await within(live.readSmallFile(posix.join(remoteDir, APPLIED_FILE_NAME), ONE_LINE_FILE_MAX_BYTES)) : null;
      const send = choosePackageFor(difusor.id, applied, { pkg, sha256Text: input.sha256Text }, input.extras);
      traceMark(`${difusor.id}: uploading the package`);
      await uploadPackageFiles(live, context, send);
      traceMark(`${difusor.id}: package files in place`);
      if (input.withdrawn) await uploadWithdrawnList(live, context, input.withdrawn);
      const current = await readLatest(live, context);
      if (shouldReplaceLatest(current, pkg.cutId, input.latestMustName)) await writeLatest(live, context, send.fileName);
      return { sentBytes: send.bytes };
    },
  };
}

/** Uploads the package, its .sha256 and .sig, in the contract's order, each atomically. */
export async function uploadPackageFiles(live: SftpSession, context: StrategyContext, send: PackageToSend): Promise<void> {
  const { within, setStep, pendingTemps } = context;
  const { remoteDir } = context.difusor;
  for (const file of packageFilesToUpload(send)) {
    setStep(file.isPackage ? `uploading ${file.finalName} (${file.expectedBytes} bytes)` : `uploading ${file.finalName}`);
    if (file.isPackage) context.onPackageBytes(0);
    const onProgress = file.isPackage ? (bytesSoFar: number) => context.onPackageBytes(bytesSoFar) : undefined;
    await within(
      uploadAtomically(live, file.source, { remoteDir, finalName: file.finalName, expectedBytes: file.expectedBytes }, pendingTemps, onProgress),
    );
    context.onPackageBytes(undefined);
  }
}
