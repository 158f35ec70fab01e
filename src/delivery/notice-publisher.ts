// Places the notice on a blocked difusor's portal: the chooser's notice strategy (a site release,
// or a signed package for the kit's prep-apply) delivered like any cut — host key pinned, one
// deadline, retries, temporary files swept, failures coded.
import { readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { buildNoticePackage } from '../notice/package.js';
import type { NoticePublisher } from '../notice/release.js';
import type { Registry } from '../registry/types.js';
import type { SftpTransport } from '../sftp/session.js';
import { loadSigningKey } from '../signing/load-signing-key.js';
import { deliverToDifusor } from './deliver-one.js';
import { noticeStrategies, usesSite } from './modes/index.js';
import type { NoticePackageInput } from './modes/notice-package.js';

export function noticePublisherFor(
  registry: Registry,
  deps: { transport: SftpTransport; env: NodeJS.ProcessEnv; clock: Clock },
): NoticePublisher {
  return {
    async publish(difusor, release) {
      let signed: NoticePackageInput | undefined;
      if (!usesSite(difusor.delivery)) {
        // prep-apply never applies an unsigned package, so without a key there is nothing it would show.
        if (!registry.signing) {
          throw new PrepPushError(
            'registry',
            `${difusor.id} takes packages (delivery: package): its notice goes as a signed package, and the registry has no signing_key; set signing_key (an ed25519 key) and give ${difusor.id} the kit (prep-push kit ${difusor.id}), or call them to show the notice by hand`,
          );
        }
        const pkg = buildNoticePackage(release, registry.package.name, await loadSigningKey(registry.signing, deps.env));
        signed = { pkg, sha256Text: readFileSync(pkg.sha256File, 'utf8'), sigText: readFileSync(pkg.sigFile as string, 'utf8') };
      }
      const strategies = noticeStrategies(difusor, {
        release,
        keepReleases: registry.publish?.keepReleases ?? 0,
        signedPackage: () => signed as NoticePackageInput,
      });
      const result = await deliverToDifusor({ difusor, settings: registry.push, strategies }, deps);
      if (result.error) throw new Error(`${result.error.code}: ${result.error.message}`);
    },
  };
}
