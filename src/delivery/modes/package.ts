// The package strategy: the package (full, or the delta the difusor's prep-apply can take), its
// .sha256 and .sig, then LATEST, each uploaded atomically into remote_dir. The upload steps are
// shared with the notice package (notice-package.ts), which differs only in when LATEST may move.
import { posix } from 'node:path';
import { APPLIED_FILE_NAME, choosePackageFor, packageFilesToUpload, type PackageToSend } from './package-choice.js';
import type { SftpSession } from '../../sftp/transport.js';
import { traceMark } from '../../core/trace.js';
import { LATEST_FILE_NAME, shouldReplaceLatest, sweepStaleTemps, uploadAtomically } from '../upload.js';
import type { DeliveryStrategy, StrategyContext, StrategyOutcome } from './strategy.js';

export const packageStrategy: DeliveryStrategy = {
  name: 'package',
  async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
    const { delivery, within, setStep } = context;
    const { difusor, pkg } = delivery;
    const { remoteDir } = difusor;
    setStep(`removing stale temporary files in ${remoteDir}`);
    await within(sweepStaleTemps(live, remoteDir));
    // The full package, or the delta from the cut this difusor's prep-apply APPLIED (package-choice.ts).
    setStep(`reading ${APPLIED_FILE_NAME}`);
    const applied = delivery.extras?.delta ? await within(live.readSmallFile(posix.join(remoteDir, APPLIED_FILE_NAME))) : null;
    const send = choosePackageFor(difusor.id, applied, { pkg, sha256Text: delivery.sha256Text }, delivery.extras);
    traceMark(`${difusor.id}: uploading the package`);
    await uploadPackageFiles(live, context, send);
    traceMark(`${difusor.id}: package files in place`);
    const current = await readLatest(live, context);
    if (shouldReplaceLatest(current, pkg.cutId, delivery.latestMustName)) await writeLatest(live, context, send.fileName);
    return { sentBytes: send.bytes };
  },
};

/** Uploads the package, its .sha256 and .sig, in the contract's order, each atomically. */
export async function uploadPackageFiles(live: SftpSession, context: StrategyContext, send: PackageToSend): Promise<void> {
  const { within, setStep, pendingTemps } = context;
  const { remoteDir } = context.delivery.difusor;
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

/** What `LATEST` holds now (null: no such file). */
export async function readLatest(live: SftpSession, context: StrategyContext): Promise<string | null> {
  context.setStep(`reading ${LATEST_FILE_NAME}`);
  return context.within(live.readSmallFile(posix.join(context.delivery.difusor.remoteDir, LATEST_FILE_NAME)));
}

/** Points `LATEST` at `fileName`, atomically; called only once the package's files are in place. */
export async function writeLatest(live: SftpSession, context: StrategyContext, fileName: string): Promise<void> {
  const latest = `${fileName}\n`;
  context.setStep(`updating ${LATEST_FILE_NAME}`);
  await context.within(
    uploadAtomically(
      live,
      { data: latest },
      { remoteDir: context.delivery.difusor.remoteDir, finalName: LATEST_FILE_NAME, expectedBytes: Buffer.byteLength(latest) },
      context.pendingTemps,
    ),
  );
}
