// `status`: every difusor's state from the ledger, read without the lock (the journal is append-only).
import { readJournal } from '../ledger/journal.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { Registry } from '../registry/types.js';

export interface DifusorStatus {
  id: string;
  name: string;
  state: 'active' | 'blocked' | 'disabled';
  consecutive_misses: number;
  last_delivered_cut: string | null;
  blocked_reason: string | null;
  last_error: { cut: string; code: string; message: string; at: string } | null;
  /** Site mode: the release its `current` names, as the last publish that reached it left it. */
  current_release: string | null;
}

export interface StatusReport {
  latest_cut: string | null;
  difusores: DifusorStatus[];
  warnings: string[];
}

export async function status(registry: Registry, stateDir: string): Promise<StatusReport> {
  const { events, warnings } = await readJournal(stateDir);
  const ledger = deriveLedgerState(events);
  return {
    latest_cut: ledger.latestCut,
    warnings,
    difusores: registry.difusores.map((d) => {
      const s = ledger.difusores[d.id];
      const state = !d.enabled ? 'disabled' : s?.blocked ? 'blocked' : 'active';
      return {
        id: d.id,
        name: d.name,
        state,
        consecutive_misses: s?.consecutiveMisses ?? 0,
        last_delivered_cut: s?.lastDeliveredCut ?? null,
        blocked_reason: s?.blocked?.reason ?? null,
        last_error: s?.lastError ?? null,
        current_release: s?.currentRelease ?? null,
      };
    }),
  };
}
