// `audit [ID,...] [--sample N|all]`: checks each difusor's public site against the newest cut the
// ledger shows delivered to it, and journals every result. Never counts as a miss.
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { assertKnownIds } from '../cut/plan.js';
import { packageStoreDir } from '../core/state-dir.js';
import { auditAll, type AuditTarget } from '../audit/audit-all.js';
import type { SiteAuditResult } from '../audit/audit-site.js';
import { exitCodeOfAudit } from '../audit/model.js';
import { auditSettingsOf, readExtraCa } from '../audit/settings.js';
import { StoredManifests } from '../audit/stored-manifest.js';
import { openJournal, readJournal } from '../ledger/journal.js';
import { acquireLock } from '../ledger/lock.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { LedgerEvent, LedgerState } from '../ledger/types.js';
import type { NotifyChannel } from '../notify/channel.js';
import { followUpRun, type FollowUpReport } from '../cut/follow-up.js';
import type { Difusor, Registry } from '../registry/types.js';

export interface AuditRequest {
  /** Explicit ids (blocked or disabled ones included); default: every enabled, non-blocked difusor with a url. */
  ids?: string[];
  /** Overrides `audit.sample`. */
  sample?: number | 'all';
}

export interface AuditDeps {
  clock: Clock;
  /** Which unchanged files are sampled; default Math.random. */
  random?: () => number;
  onResult?: (result: SiteAuditResult) => void;
  /** For the notification channels' secrets ($VAR in the registry); default: none. */
  env?: NodeJS.ProcessEnv;
  /** Replaces the registry's channels (tests). */
  channels?: NotifyChannel[];
  /** Once aborted, notifications stay queued for the next run. */
  signal?: AbortSignal;
}

export interface AuditReport {
  results: SiteAuditResult[];
  /** Difusores left out because they have no url (only when no ids were given). */
  without_url: string[];
  warnings: string[];
  exit_code: 0 | 1;
  /** `audit_failed` notifications (once per change to a failing outcome) and the public list. */
  follow_up?: FollowUpReport;
}

/** Who `audit` checks: the ids asked for (each must have a url), else every enabled, non-blocked difusor with one. */
export function auditTargets(registry: Registry, ledger: LedgerState, ids: string[] | undefined): { targets: AuditTarget[]; withoutUrl: string[] } {
  const withUrl = (d: Difusor): d is Difusor & { url: string } => d.url !== undefined;
  const expected = (d: Difusor) => ledger.difusores[d.id]?.lastDeliveredCut ?? null;
  if (ids !== undefined) {
    assertKnownIds(ids, registry.difusores, 'audit');
    const chosen = ids.map((id) => registry.difusores.find((d) => d.id === id) as Difusor);
    const missing = chosen.filter((d) => !withUrl(d)).map((d) => d.id);
    if (missing.length > 0) {
      throw new PrepPushError('usage', `audit: ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no url in the registry`, {
        hint: 'add `url: https://…/` (the public address of its PREP publication) to the difusor',
      });
    }
    return { targets: chosen.filter(withUrl).map((difusor) => ({ difusor, expectedCut: expected(difusor) })), withoutUrl: [] };
  }
  const active = registry.difusores.filter((d) => d.enabled && !ledger.difusores[d.id]?.blocked);
  return {
    targets: active.filter(withUrl).map((difusor) => ({ difusor, expectedCut: expected(difusor) })),
    withoutUrl: active.filter((d) => !withUrl(d)).map((d) => d.id),
  };
}

export async function audit(registry: Registry, stateDir: string, request: AuditRequest, deps: AuditDeps): Promise<AuditReport> {
  const settings = { ...auditSettingsOf(registry), ...(request.sample === undefined ? {} : { sample: request.sample }) };
  const lock = await acquireLock(stateDir, { command: 'audit' });
  try {
    const { events, warnings } = await readJournal(stateDir);
    const { targets, withoutUrl } = auditTargets(registry, deriveLedgerState(events), request.ids);
    const extraCa = await readExtraCa(settings);
    const journal = await openJournal(stateDir);
    const appended: LedgerEvent[] = [];
    try {
      const results = await auditAll(targets, settings, registry.institute, {
        clock: deps.clock,
        random: deps.random ?? Math.random,
        manifests: new StoredManifests(packageStoreDir(stateDir)),
        extraCa,
        sites: registry.push.concurrency,
        onResult: async (result) => {
          const event: LedgerEvent = {
            type: 'audit',
            at: new Date(deps.clock.now()).toISOString(),
            id: result.id,
            outcome: result.outcome,
            servedCut: result.served_cut,
            expectedCut: result.expected_cut,
            problems: result.problems,
            ...(result.altered.length > 0 ? { altered: result.altered } : {}),
            via: 'audit',
            countsAsMiss: false,
          };
          await journal.append(event);
          appended.push(event);
          deps.onResult?.(result);
        },
      });
      // An audit changes no outcome: only its notifications (and the public list) follow. Nothing
      // here changes the exit code; problems come back as warnings.
      const followUp = await followUpRun(
        { registry, stateDir, journal, events: [...events, ...appended], before: deriveLedgerState(events), runEvents: appended, cut: null },
        { clock: deps.clock, env: deps.env ?? {}, channels: deps.channels, signal: deps.signal },
      );
      return {
        results,
        without_url: withoutUrl,
        warnings: [...warnings, ...journal.warnings, ...followUp.warnings],
        exit_code: exitCodeOfAudit(results),
        follow_up: followUp,
      };
    } finally {
      await journal.close();
    }
  } finally {
    await lock.release();
  }
}
