// Which blocked difusores still need the notice placed on their portal: a pure fold over the journal.
// A block asks for a notice; `notice_placed` satisfies it until the next unblock; failures keep asking.
import type { LedgerEvent } from '../ledger/types.js';
import type { Difusor } from '../registry/types.js';

export interface NoticeDue {
  difusor: Difusor;
  /** When the block that asks for it was recorded (ISO 8601). */
  since: string;
  /** The ledger's reason (internal: never shown to the public). */
  reason: string;
  /** Who blocked it: the public reason's default depends on it. */
  by: 'auto' | 'manual';
  /** `block --public-reason`; null: the default for its cause. */
  publicReason: string | null;
  /** Failed placements since that block (for messages). */
  failures: number;
}

interface BlockView {
  since: string;
  reason: string;
  by: 'auto' | 'manual';
  publicReason: string | null;
  placed: boolean;
  failures: number;
}

/** Per difusor id, the block in force and whether its notice is in place. */
export function noticeViews(events: readonly LedgerEvent[]): Map<string, BlockView> {
  const views = new Map<string, BlockView>();
  for (const event of events) {
    if (event.type === 'block') {
      const current = views.get(event.id);
      // A second block while blocked only updates the reasons; a notice already placed stays placed.
      const publicReason = event.publicReason ?? null;
      if (current) Object.assign(current, { reason: event.reason, by: event.by, publicReason });
      else views.set(event.id, { since: event.at, reason: event.reason, by: event.by, publicReason, placed: false, failures: 0 });
    } else if (event.type === 'unblock') {
      views.delete(event.id);
    } else if (event.type === 'notice_placed') {
      const current = views.get(event.id);
      if (current) current.placed = true;
    } else if (event.type === 'notice_failed') {
      const current = views.get(event.id);
      if (current) current.failures += 1;
    }
  }
  return views;
}

/** The enabled, blocked difusores whose notice is not in place yet, in registry order. */
export function noticesDue(difusores: readonly Difusor[], events: readonly LedgerEvent[]): NoticeDue[] {
  const views = noticeViews(events);
  return difusores.flatMap((difusor) => {
    const view = views.get(difusor.id);
    if (!difusor.enabled || view === undefined || view.placed) return [];
    return [{ difusor, since: view.since, reason: view.reason, by: view.by, publicReason: view.publicReason, failures: view.failures }];
  });
}
