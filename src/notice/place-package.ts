// A notice on a package-mode difusor (`delivery: package`): a signed notice package delivered like
// a cut's package (package, .sha256, .sig, then LATEST; host key pinned, one deadline, retries,
// temporary files swept), which the kit's prep-apply applies as release `<cut>-aviso`.
import { readFileSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { noticePackageStrategy } from '../delivery/modes/notice-package.js';
import type { SftpTransport } from '../sftp/transport.js';
import { deliverToDifusor } from '../delivery/upload.js';
import type { Difusor, Registry } from '../registry/types.js';
import { loadSigningKey } from '../signing/load-signing-key.js';
import { buildNoticePackage } from './package.js';
import type { NoticeRelease } from './release.js';

export async function placePackageNotice(
  registry: Registry,
  deps: { transport: SftpTransport; env: NodeJS.ProcessEnv; clock: Clock },
  difusor: Difusor,
  release: NoticeRelease,
): Promise<void> {
  // prep-apply never applies an unsigned package, so without a key there is nothing it would show.
  if (!registry.signing) {
    throw new PrepPushError(
      'registry',
      `${difusor.id} takes packages (delivery: package): its notice goes as a signed package, and the registry has no signing_key; set signing_key (an ed25519 key) and give ${difusor.id} the kit (prep-push kit ${difusor.id}), or call them to show the notice by hand`,
    );
  }
  const signer = await loadSigningKey(registry.signing, deps.env);
  const pkg = buildNoticePackage(release, registry.package.name, signer);
  const result = await deliverToDifusor(
    {
      difusor,
      pkg,
      sha256Text: readFileSync(pkg.sha256File, 'utf8'),
      settings: registry.push,
      extras: { sigText: readFileSync(pkg.sigFile as string, 'utf8') },
      strategies: [noticePackageStrategy],
    },
    deps,
  );
  if (result.error) throw new Error(`${result.error.code}: ${result.error.message}`);
}
