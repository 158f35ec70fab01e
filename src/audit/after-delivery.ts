// `cut --audit` / `push --audit`: the auditor the run calls right after each delivery, and what its
// result means there (the delivery stays `delivered`; under audit.counts_as_miss it may be a miss).
import type { Clock } from '../core/clock.js';
import { packageStoreDir } from '../core/state-dir.js';
import type { Registry } from '../registry/types.js';
import { makeSiteAuditor } from './audit-all.js';
import type { SiteAuditResult } from './audit-site.js';
import { auditSettingsOf, readExtraCa } from './settings.js';
import { StoredManifests } from './stored-manifest.js';

/** What a run's result carries after its audit (the contract's `audit: {outcome, problems}`, plus context). */
export interface DeliveryAuditSummary {
  outcome: SiteAuditResult['outcome'];
  problems: string[];
  served_cut: string | null;
  expected_cut: string | null;
  counts_as_miss: boolean;
}

export interface DeliveryAuditor {
  /** audit.counts_as_miss: deliveries to difusores with a url count only once their audit allows. */
  countsAsMiss: boolean;
  /** Whether this difusor is audited (it has a url). */
  audits(id: string): boolean;
  audit(id: string, expectedCut: string): Promise<SiteAuditResult>;
}

export async function makeDeliveryAuditor(registry: Registry, stateDir: string, deps: { clock: Clock; random?: () => number }): Promise<DeliveryAuditor> {
  const settings = auditSettingsOf(registry);
  const auditSite = makeSiteAuditor(settings, registry.institute, {
    clock: deps.clock,
    random: deps.random ?? Math.random,
    manifests: new StoredManifests(packageStoreDir(stateDir)),
    extraCa: await readExtraCa(settings),
  });
  const urls = new Map(registry.difusores.filter((d) => d.url !== undefined).map((d) => [d.id, d]));
  return {
    countsAsMiss: settings.countsAsMiss,
    audits: (id) => urls.has(id),
    audit: (id, expectedCut) => {
      const difusor = urls.get(id);
      if (!difusor?.url) throw new Error(`${id} has no url`);
      return auditSite({ difusor: { ...difusor, url: difusor.url }, expectedCut });
    },
  };
}
