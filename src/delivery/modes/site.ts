// The site strategy: publishes the cut's publication folder as a release and switches `current`.
import { DeliveryError } from '../../sftp/classify.js';
import { traceMark } from '../../core/trace.js';
import type { SftpSession } from '../../sftp/transport.js';
import type { DeliveryStrategy, StrategyContext, StrategyOutcome } from './strategy.js';

export const siteStrategy: DeliveryStrategy = {
  name: 'site',
  async deliver(live: SftpSession, context: StrategyContext): Promise<StrategyOutcome> {
    const { delivery, within, setStep } = context;
    const { site, difusor } = delivery;
    if (site === undefined) {
      throw new DeliveryError('SFTP_ERROR', `internal error: ${difusor.id} is in site mode but the run prepared no site`);
    }
    // Imported here: a push with no site-mode difusor never loads the release code (start-up time).
    const { publishRelease } = await import('../../publish/release.js');
    const publish = await within(
      publishRelease(live, difusor.remoteDir, site.release, {
        keepReleases: site.keepReleases,
        allowRollback: site.allowRollback,
        allowOlder: site.allowOlder,
        isTrusted: (release, sha256) => site.isTrusted(difusor.id, release, sha256),
        onStep: (step) => {
          traceMark(`${difusor.id}: ${step}`);
          setStep(step);
        },
      }),
    );
    return { publish };
  },
};
