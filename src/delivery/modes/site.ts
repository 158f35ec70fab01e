// The site strategy: publishes the cut's publication folder as a release and switches `current`.
import { traceMark } from '../../core/trace.js';
import type { SftpSession } from '../../sftp/session.js';
import type { DeliveryStrategy, SitePlan, StrategyContext, StrategyOutcome } from './strategy.js';

/** `bytesNeeded`: the cut's package size, the measure of the site's bytes a full disk is judged by. */
export function siteStrategy(site: SitePlan, bytesNeeded: number): DeliveryStrategy {
  return {
    name: 'site',
    bytesNeeded,
    async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
      const { difusor, within, setStep } = context;
      // Imported here: a push with no site-mode difusor never loads the release code (start-up time).
      const { publishRelease } = await import('../../publish/release.js');
      const publish = await within(
        publishRelease(live, difusor.remoteDir, site.release, {
          keepReleases: site.keepReleases,
          allowRollback: site.allowRollback,
          allowOlder: site.allowOlder,
          isTrusted: (release, sha256) => site.isTrusted(difusor.id, release, sha256),
          isReusable: (release, path) => site.isReusable(difusor.id, release, path),
          capabilities: site.capabilities?.of({
            id: difusor.id,
            host: difusor.host,
            port: difusor.port,
            username: difusor.username,
            remoteDir: difusor.remoteDir,
            hostKeys: difusor.hostKeys?.map((k) => k.fingerprint) ?? [difusor.hostKey],
          }),
          onStep: (step) => {
            traceMark(`${difusor.id}: ${step}`);
            setStep(step);
          },
        }),
      );
      return { publish };
    },
  };
}
