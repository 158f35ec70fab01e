// The notice site strategy: a blocked site-mode difusor (`delivery: site` or `both`) gets its notice
// as a release (index.html and its MANIFEST.json, no results) through the same release publisher as
// a cut, inside the same deadline, retries and error codes as any delivery.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { NoticeRelease } from '../../notice/release.js';
import type { SftpSession } from '../../sftp/session.js';
import type { DeliveryStrategy, StrategyContext, StrategyOutcome } from './strategy.js';

export function noticeSiteStrategy(release: NoticeRelease, keepReleases: number): DeliveryStrategy {
  return {
    name: 'notice-site',
    bytesNeeded: 0,
    async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
      const { difusor, within, setStep } = context;
      const manifest = await readFile(path.join(release.sourceDir, 'MANIFEST.json'));
      const { publishRelease } = await import('../../publish/release.js');
      const publish = await within(
        publishRelease(
          live,
          difusor.remoteDir,
          { name: release.name, sourceDir: release.sourceDir, manifest },
          // The notice replaces whatever is current (a newer cut included), and links nothing.
          { keepReleases, allowRollback: true, isTrusted: () => false, onStep: setStep },
        ),
      );
      return { publish };
    },
  };
}
