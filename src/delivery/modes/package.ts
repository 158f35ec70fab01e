// The package strategy: the package (full, or the delta the difusor's prep-apply can take), its
// .sha256 and .sig, then LATEST, each uploaded atomically into remote_dir.
import { posix } from 'node:path';
import { APPLIED_FILE_NAME, choosePackageFor, packageFilesToUpload } from '../package-choice.js';
import type { SftpSession } from '../transport.js';
import { LATEST_FILE_NAME, shouldReplaceLatest, sweepStaleTemps, uploadAtomically } from '../upload.js';
import type { DeliveryStrategy, StrategyContext, StrategyOutcome } from './strategy.js';

export const packageStrategy: DeliveryStrategy = {
  name: 'package',
  async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
    const { delivery, within, setStep, pendingTemps } = context;
    const { difusor, pkg } = delivery;
    const { remoteDir } = difusor;
    setStep(`removing stale temporary files in ${remoteDir}`);
    await within(sweepStaleTemps(live, remoteDir));
    // The full package, or the delta from the cut this difusor's prep-apply APPLIED (package-choice.ts).
    setStep(`reading ${APPLIED_FILE_NAME}`);
    const applied = delivery.extras?.delta ? await within(live.readSmallFile(posix.join(remoteDir, APPLIED_FILE_NAME))) : null;
    const send = choosePackageFor(difusor.id, applied, { pkg, sha256Text: delivery.sha256Text }, delivery.extras);
    for (const file of packageFilesToUpload(send)) {
      setStep(file.isPackage ? `uploading ${file.finalName} (${file.expectedBytes} bytes)` : `uploading ${file.finalName}`);
      if (file.isPackage) context.onPackageBytes(0);
      const onProgress = file.isPackage ? (bytesSoFar: number) => context.onPackageBytes(bytesSoFar) : undefined;
      await within(
        uploadAtomically(live, file.source, { remoteDir, finalName: file.finalName, expectedBytes: file.expectedBytes }, pendingTemps, onProgress),
      );
      context.onPackageBytes(undefined);
    }
    const latest = `${send.fileName}\n`;
    setStep(`updating ${LATEST_FILE_NAME}`);
    const current = await within(live.readSmallFile(posix.join(remoteDir, LATEST_FILE_NAME)));
    if (shouldReplaceLatest(current, pkg.cutId, delivery.latestMustName)) {
      await within(
        uploadAtomically(
          live,
          { data: latest },
          { remoteDir, finalName: LATEST_FILE_NAME, expectedBytes: Buffer.byteLength(latest) },
          pendingTemps,
        ),
      );
    }
    return { sentBytes: send.bytes };
  },
};
