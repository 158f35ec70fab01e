// The package strategy: the package, its .sha256, then LATEST, each uploaded atomically into remote_dir.
import { posix } from 'node:path';
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
    setStep(`uploading ${pkg.fileName} (${pkg.bytes} bytes)`);
    context.onPackageBytes(0);
    await within(
      uploadAtomically(
        live,
        { localFile: pkg.file },
        { remoteDir, finalName: pkg.fileName, expectedBytes: pkg.bytes },
        pendingTemps,
        (bytesSoFar) => context.onPackageBytes(bytesSoFar),
      ),
    );
    context.onPackageBytes(undefined);
    const sha256Name = `${pkg.fileName}.sha256`;
    setStep(`uploading ${sha256Name}`);
    await within(
      uploadAtomically(
        live,
        { data: delivery.sha256Text },
        { remoteDir, finalName: sha256Name, expectedBytes: Buffer.byteLength(delivery.sha256Text) },
        pendingTemps,
      ),
    );
    const latest = `${pkg.fileName}\n`;
    setStep(`updating ${LATEST_FILE_NAME}`);
    const current = await within(live.readSmallFile(posix.join(remoteDir, LATEST_FILE_NAME)));
    if (shouldReplaceLatest(current, pkg.cutId)) {
      await within(
        uploadAtomically(
          live,
          { data: latest },
          { remoteDir, finalName: LATEST_FILE_NAME, expectedBytes: Buffer.byteLength(latest) },
          pendingTemps,
        ),
      );
    }
    return {};
  },
};
