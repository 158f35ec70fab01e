// A notice on a site-mode difusor (`delivery: site` or `both`): published as a release (index.html
// and its MANIFEST.json, no results) with the same connection helper and release publisher as site mode.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SftpTransport } from '../sftp/transport.js';
import { publishRelease } from '../publish/release.js';
import type { Difusor, Registry } from '../registry/types.js';
import type { NoticeRelease } from './release.js';

export async function placeSiteNotice(
  registry: Registry,
  deps: { transport: SftpTransport; env: NodeJS.ProcessEnv },
  difusor: Difusor,
  release: NoticeRelease,
): Promise<void> {
  const session = await deps.transport.connect(difusor, { env: deps.env, connectTimeoutMs: registry.push.connectTimeoutS * 1000 });
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
}
