// The notice package strategy: a blocked package-mode difusor gets its notice as a signed package
// (`<package>-aviso.tar.gz`, built by src/notice/package.ts) that its prep-apply applies like any
// other. Same uploads as the package strategy; what differs is around LATEST: a package LATEST
// names (or may have named) is never touched again, and a notice older than what LATEST names would
// be refused by prep-apply, so it is not sent.
import { posix } from 'node:path';
import { DeliveryError } from '../../sftp/classify.js';
import { type SftpSession, ONE_LINE_FILE_MAX_BYTES } from '../../sftp/session.js';
import type { BuiltPackage } from '../../package/types.js';
import { sweepStaleTemps } from '../../sftp/atomic-upload.js';
import { readLatest, shouldReplaceLatest, writeLatest } from './latest.js';
import { uploadPackageFiles } from './package.js';
import type { DeliveryStrategy, StrategyContext, StrategyOutcome } from './strategy.js';

/** The notice package as built and signed (notice/package.ts), with its .sha256 and .sig texts. */
export interface NoticePackageInput {
  pkg: BuiltPackage;
  sha256Text: string;
  sigText: string;
}

export function noticePackageStrategy(input: NoticePackageInput): DeliveryStrategy {
  const { pkg, sha256Text, sigText } = input;
  return {
    name: 'notice-package',
    bytesNeeded: pkg.bytes,
    async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
      const { difusor, within, setStep } = context;
      setStep(`removing stale temporary files in ${difusor.remoteDir}`);
      await within(sweepStaleTemps(live, difusor.remoteDir));
      const current = (await readLatest(live, context))?.split('\n')[0]?.trim() ?? null;
      // An earlier run placed it and was killed before journaling that: it is in place, and final.
      if (current === pkg.fileName) return { sentBytes: 0 };
      if (!shouldReplaceLatest(current, pkg.cutId)) {
        throw new DeliveryError('ROLLBACK_REFUSED', `LATEST names ${current}, newer than the notice's cut ${pkg.cutId}`, {
          hint: "prep-apply would refuse an older cut; the notice is placed with the next cut's id",
        });
      }
      // Unblocked and blocked again before a new cut: the same name, maybe other bytes (a new reason).
      // A package LATEST may have named is never modified, so that notice waits for the next cut's name.
      setStep(`reading ${pkg.fileName}.sha256`);
      const theirs = await within(live.readSmallFile(posix.join(difusor.remoteDir, `${pkg.fileName}.sha256`), ONE_LINE_FILE_MAX_BYTES));
      if (theirs !== null && theirs !== sha256Text) {
        throw new DeliveryError('VERIFY_FAILED', `${pkg.fileName} is already there with other content (an earlier notice for cut ${pkg.cutId})`, {
          hint: 'a package once named by LATEST is never modified; the notice goes with the next cut',
        });
      }
      await uploadPackageFiles(live, context, { kind: 'full', file: pkg.file, fileName: pkg.fileName, bytes: pkg.bytes, sha256Text, sigText });
      await writeLatest(live, context, pkg.fileName);
      return { sentBytes: pkg.bytes };
    },
  };
}
