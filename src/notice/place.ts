// Where a notice reaches a blocked difusor's portal: published as a site release (index.html and its
// MANIFEST.json, no results) over the same connection helper and release publisher as site mode.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PrepPushError } from '../core/errors.js';
import { usesSite } from '../delivery/modes/strategy.js';
import type { SftpTransport } from '../delivery/transport.js';
import { publishRelease } from '../publish/release.js';
import type { Registry } from '../registry/types.js';
import type { NoticePublisher } from './release.js';

/**
 * Places notices on difusores that publish the site (`delivery: site` or `both`). A difusor that
 * only takes packages runs its own prep-apply; its notice would have to travel as a signed package,
 * which is not built yet, so placing one fails with that reason (the run retries it each cut, and
 * `status` lists it as not placed).
 */
export function siteNoticePublisher(registry: Registry, transport: SftpTransport, env: NodeJS.ProcessEnv): NoticePublisher {
  return {
    async publish(difusor, release) {
      if (!usesSite(difusor.delivery)) {
        throw new PrepPushError(
          'usage',
          `${difusor.id} takes packages (delivery: package): prep-push places notices only on difusores in site mode`,
          { hint: `call the difusor and ask them to show the notice, or set delivery: site (or both) for ${difusor.id}` },
        );
      }
      const session = await transport.connect(difusor, { env, connectTimeoutMs: registry.push.connectTimeoutS * 1000 });
      try {
        const manifest = await readFile(path.join(release.sourceDir, 'MANIFEST.json'));
        await publishRelease(
          session,
          difusor.remoteDir,
          { name: release.name, sourceDir: release.sourceDir, manifest },
          // The notice replaces whatever is current (a newer cut included), and links nothing.
          { keepReleases: registry.publish?.keepReleases ?? 0, allowRollback: true, isTrusted: () => false },
        );
      } finally {
        await session.close();
      }
    },
  };
}
