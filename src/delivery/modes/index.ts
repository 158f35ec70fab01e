// The one chooser: which strategies a difusor gets, by its `delivery` and the purpose of the run
// (a cut's results, or the notice of a block). Chosen once here; the delivery loop receives them.
import { readFile } from 'node:fs/promises';
import { PrepPushError } from '../../core/errors.js';
import type { NoticeRelease } from '../../notice/release.js';
import type { BuiltPackage } from '../../package/types.js';
import type { DeliveryMode, Difusor } from '../../registry/types.js';
import { noticePackageStrategy, type NoticePackageInput } from './notice-package.js';
import { noticeSiteStrategy } from './notice-site.js';
import { packageStrategy, type PackageInput } from './package.js';
import { siteStrategy } from './site.js';
import type { DeliveryStrategy, SitePlan } from './strategy.js';

export function usesSite(mode: DeliveryMode | undefined): boolean {
  return mode === 'site' || mode === 'both';
}

/** What a run delivers as results: the package (and, for site-mode difusores, the extracted site). */
export interface ResultsInput extends PackageInput {
  /** The site to publish, when any target's `delivery` is site or both. */
  site?: SitePlan;
}

/** The results strategies of a difusor's `delivery`, in the order they run on one connection. */
export function resultStrategies(difusor: Pick<Difusor, 'id' | 'delivery'>, input: ResultsInput): DeliveryStrategy[] {
  const mode = difusor.delivery;
  const strategies: DeliveryStrategy[] = [];
  if (mode !== 'site') strategies.push(packageStrategy(input));
  if (usesSite(mode)) {
    if (input.site === undefined) {
      throw new PrepPushError('io', `internal error: ${difusor.id} is in site mode but the run prepared no site`);
    }
    strategies.push(siteStrategy(input.site, input.pkg.bytes));
  }
  return strategies;
}

/**
 * The notice's strategy: site and both get a site release; package gets a signed notice package
 * for its kit's prep-apply. `both` gets the site release only: in that mode prep-push itself
 * switches `current`, the web root the contract configures, so the notice is what the public sees
 * without any kit; a notice package as well would only move LATEST off the results packages.
 */
export function noticeStrategies(
  difusor: Pick<Difusor, 'delivery'>,
  notice: { release: NoticeRelease; keepReleases: number; signedPackage: () => NoticePackageInput },
): DeliveryStrategy[] {
  if (usesSite(difusor.delivery)) return [noticeSiteStrategy(notice.release, notice.keepReleases)];
  return [noticePackageStrategy(notice.signedPackage())];
}

/** The package's `.sha256` text, read once per run: a store that cannot be read stops the run before anything is sent. */
export async function readPackageSha256(pkg: BuiltPackage): Promise<string> {
  try {
    return await readFile(pkg.sha256File, 'utf8');
  } catch (error) {
    throw new PrepPushError('io', `cannot read ${pkg.sha256File}: ${(error as Error).message}`, {
      hint: 'rebuild the package with `prep-push build`',
      cause: error,
    });
  }
}
