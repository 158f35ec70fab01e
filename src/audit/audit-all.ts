// Audits several difusores at once: each in its own deadline, a bounded number of sites and of
// requests overall, every result handed to `onResult` as soon as it is known.
import pLimit from 'p-limit';
import type { Clock } from '../core/clock.js';
import type { Difusor } from '../registry/types.js';
import type { AuditSettings } from '../registry/types.js';
import { auditSite, type SiteAuditResult } from './audit-site.js';
import type { StoredManifests } from './stored-manifest.js';

export interface AuditTarget {
  difusor: Difusor & { url: string };
  expectedCut: string | null;
}

export interface AuditAllDeps {
  clock: Clock;
  random: () => number;
  manifests: StoredManifests;
  extraCa?: Buffer;
  /** Sites audited at once. */
  sites: number;
  onResult?: (result: SiteAuditResult) => void | Promise<void>;
}

/** The auditor of one run: shares the overall request limit between every site it audits. */
export function makeSiteAuditor(settings: AuditSettings, institute: string, deps: Omit<AuditAllDeps, 'sites' | 'onResult'>) {
  const overall = pLimit(settings.maxRequests);
  return async (target: AuditTarget): Promise<SiteAuditResult> => {
    const cut = target.expectedCut;
    // Read while the site's own MANIFEST.json is fetched (see auditSite).
    const copies =
      cut === null
        ? Promise.resolve({ expected: null, previous: null })
        : Promise.all([deps.manifests.manifestOf(cut), deps.manifests.previousOf(cut)]).then(([expected, previous]) => ({ expected, previous }));
    return auditSite(
      { id: target.difusor.id, url: target.difusor.url, expectedCut: cut, institute, copies },
      { sample: settings.sample, timeoutS: settings.timeoutS, concurrency: settings.concurrency, extraCa: deps.extraCa },
      { clock: deps.clock, random: deps.random, overall },
    );
  };
}

export async function auditAll(
  targets: AuditTarget[],
  settings: AuditSettings,
  institute: string,
  deps: AuditAllDeps,
): Promise<SiteAuditResult[]> {
  const audit = makeSiteAuditor(settings, institute, deps);
  const sites = pLimit(Math.max(1, deps.sites));
  return Promise.all(
    targets.map((target) =>
      sites(async () => {
        const result = await audit(target);
        await deps.onResult?.(result);
        return result;
      }),
    ),
  );
}
