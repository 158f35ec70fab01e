// `retract CUT_ID --reason TEXT`: withdraw a cut published by mistake. Journaled; from then on the
// cut is no longer the newest and counts for nobody, and the next cut or push moves LATEST back.
import type { Clock } from '../core/clock.js';
import { cutFromId } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import { openJournal, readJournal } from '../ledger/journal.js';
import { acquireLock } from '../ledger/lock.js';
import { applyEvent, cutLatestMustName, deriveLedgerState, isWithdrawn } from '../ledger/rules.js';
import { stateDirExists } from '../core/state-dir.js';
import type { Registry } from '../registry/types.js';

export interface Retraction {
  cut: string;
  reason: string;
  /** It had been withdrawn before (nothing new was recorded). */
  alreadyWithdrawn: boolean;
  /** The cut LATEST must name from now on (null: no cut left). */
  latestNow: string | null;
}

export async function retract(registry: Registry, stateDir: string, cutId: string, reason: string, clock: Clock): Promise<Retraction> {
  cutFromId(cutId, registry.timezone); // a cut id's shape, or a usage error naming it
  if (reason.trim() === '') {
    throw new PrepPushError('usage', 'retract: --reason must say why', { hint: 'e.g. --reason "wrong year in --cut"' });
  }
  if (!(await stateDirExists(stateDir))) {
    throw new PrepPushError('usage', `retract: cut ${cutId} is not in the ledger: the state dir ${stateDir} does not exist`, {
      hint: 'pass --state-dir / --config for the ledger you mean',
    });
  }
  const lock = await acquireLock(stateDir, { command: 'retract', timeZone: registry.timezone });
  try {
    const before = deriveLedgerState((await readJournal(stateDir)).events);
    if (!before.cuts.includes(cutId)) {
      throw new PrepPushError('usage', `retract: cut ${cutId} is not in the ledger`, {
        hint: before.cuts.length ? `recent cuts: ${before.cuts.slice(-5).join(', ')}` : 'no cut has been recorded yet',
      });
    }
    if (isWithdrawn(before, cutId)) {
      return { cut: cutId, reason: before.withdrawn[cutId].reason, alreadyWithdrawn: true, latestNow: cutLatestMustName(before) };
    }
    const event = { type: 'retract' as const, at: new Date(clock.now()).toISOString(), cut: cutId, reason: reason.trim() };
    const journal = await openJournal(stateDir);
    try {
      await journal.append(event);
    } finally {
      await journal.close();
    }
    return { cut: cutId, reason: event.reason, alreadyWithdrawn: false, latestNow: cutLatestMustName(applyEvent(before, event)) };
  } finally {
    await lock.release();
  }
}
