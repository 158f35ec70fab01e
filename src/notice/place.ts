// Where a notice reaches a blocked difusor's portal, by its `delivery`: site and both get a site
// release (place-site.ts); package gets a signed notice package for its kit's prep-apply
// (place-package.ts).
import type { Clock } from '../core/clock.js';
import { usesSite } from '../delivery/modes/strategy.js';
import type { SftpTransport } from '../sftp/transport.js';
import type { Registry } from '../registry/types.js';
import { placePackageNotice } from './place-package.js';
import { placeSiteNotice } from './place-site.js';
import type { NoticePublisher } from './release.js';

/**
 * The publisher a run places notices with. `both` gets the site release only: in that mode
 * prep-push itself switches `current`, the web root the contract configures, so the notice is what
 * the public sees without any kit; a notice package as well would only move LATEST off the results
 * packages that difusor keeps.
 */
export function noticePublisherFor(
  registry: Registry,
  deps: { transport: SftpTransport; env: NodeJS.ProcessEnv; clock: Clock },
): NoticePublisher {
  return {
    async publish(difusor, release) {
      if (usesSite(difusor.delivery)) await placeSiteNotice(registry, deps, difusor, release);
      else await placePackageNotice(registry, deps, difusor, release);
    },
  };
}
