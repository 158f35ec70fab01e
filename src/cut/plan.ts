// Which difusores a cut or push targets, and why the others are skipped: pure, from the registry
// and the ledger, so the rules can be read (and tested) in one place.
import { formatLocalTime } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import type { LedgerEvent, LedgerState } from '../ledger/types.js';
import type { Difusor } from '../registry/types.js';

export type SkipReason = 'blocked' | 'disabled' | 'not-selected' | 'already-delivered';

export interface PlannedSkip {
  id: string;
  reason: SkipReason;
  /** For people: e.g. the block reason. */
  detail: string;
}

export interface DeliveryPlanTargets {
  targets: Difusor[];
  /** Blocked and disabled difusores get a recorded `skipped` outcome; the others are only reported. */
  skipped: PlannedSkip[];
}

export interface TargetSelection {
  /** `--only ID,...`: restrict to these ids (each must exist in the registry). */
  only?: string[];
  /** `push --failed`: only difusores that do not have this cut yet. */
  missingCut?: string;
  /** The registry's timezone, for times in messages (default: UTC as recorded). */
  timeZone?: string;
}

/** Throws a usage error naming every id of `--only` (or block/unblock) the registry does not have. */
export function assertKnownIds(ids: string[], difusores: Difusor[], flag: string): void {
  const known = new Set(difusores.map((d) => d.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new PrepPushError('usage', `${flag}: unknown difusor id${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, {
      hint: `known ids: ${[...known].join(', ')}`,
    });
  }
}

/**
 * The difusores that have received `cut` (a `delivered` outcome for it), from the journal. One that
 * also had a newer cut withdrawn since (`retract`) holds it only once it was delivered again: until
 * then its LATEST still names the withdrawn cut.
 */
export function difusoresHoldingCut(events: LedgerEvent[], cut: string): Set<string> {
  const holding = new Set<string>();
  const received = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type === 'outcome' && e.outcome === 'delivered') {
      if (!received.has(e.id)) received.set(e.id, new Set());
      received.get(e.id)!.add(e.cut);
      if (e.cut === cut) holding.add(e.id);
    } else if (e.type === 'retract' && e.cut > cut) {
      for (const [id, cuts] of received) if (cuts.has(e.cut)) holding.delete(id);
    }
  }
  return holding;
}

export function planTargets(
  difusores: Difusor[],
  ledger: LedgerState,
  selection: TargetSelection,
  holdingCut: Set<string> = new Set(),
): DeliveryPlanTargets {
  if (selection.only) assertKnownIds(selection.only, difusores, '--only');
  const only = selection.only ? new Set(selection.only) : null;
  const targets: Difusor[] = [];
  const skipped: PlannedSkip[] = [];
  for (const d of difusores) {
    if (only && !only.has(d.id)) {
      skipped.push({ id: d.id, reason: 'not-selected', detail: 'not in --only' });
      continue;
    }
    if (!d.enabled) {
      skipped.push({ id: d.id, reason: 'disabled', detail: 'enabled: false in the registry' });
      continue;
    }
    const blocked = ledger.difusores[d.id]?.blocked;
    if (blocked) {
      skipped.push({
        id: d.id,
        reason: 'blocked',
        detail: `blocked since ${selection.timeZone ? formatLocalTime(blocked.at, selection.timeZone) : blocked.at} (${blocked.reason}); run \`prep-push unblock ${d.id}\` to resume`,
      });
      continue;
    }
    if (selection.missingCut !== undefined && holdingCut.has(d.id)) {
      skipped.push({ id: d.id, reason: 'already-delivered', detail: `already has ${selection.missingCut}` });
      continue;
    }
    targets.push(d);
  }
  return { targets, skipped };
}
