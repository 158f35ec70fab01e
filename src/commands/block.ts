// `block ID --reason TEXT` and `unblock ID`: manual decisions, journaled with time and reason.
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { assertKnownIds } from '../cut/plan.js';
import { openJournal, readJournal } from '../ledger/journal.js';
import { acquireLock } from '../ledger/lock.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { Registry } from '../registry/types.js';
import type { LedgerEvent } from '../ledger/types.js';
import { followUpRun, type FollowUpDeps, type FollowUpReport } from '../cut/follow-up.js';

/** What block/unblock need beyond the clock for notifications, notices and the public list. */
export type BlockFollowUpOptions = Omit<FollowUpDeps, 'clock'>;

export interface BlockChange {
  id: string;
  action: 'block' | 'unblock';
  /** What the difusor was before: for the operator's confirmation line. */
  wasBlocked: boolean;
  previousMisses: number;
  reason: string | null;
  follow_up?: FollowUpReport;
}

export async function block(
  registry: Registry,
  stateDir: string,
  id: string,
  reason: string,
  clock: Clock,
  options: BlockFollowUpOptions = { env: {} },
): Promise<BlockChange> {
  if (reason.trim() === '') {
    throw new PrepPushError('usage', 'block: --reason must say why', { hint: 'e.g. --reason "their server is down for maintenance"' });
  }
  return changeBlock(registry, stateDir, id, 'block', reason.trim(), clock, options);
}

export async function unblock(
  registry: Registry,
  stateDir: string,
  id: string,
  clock: Clock,
  options: BlockFollowUpOptions = { env: {} },
): Promise<BlockChange> {
  return changeBlock(registry, stateDir, id, 'unblock', null, clock, options);
}

async function changeBlock(
  registry: Registry,
  stateDir: string,
  id: string,
  action: 'block' | 'unblock',
  reason: string | null,
  clock: Clock,
  options: BlockFollowUpOptions,
): Promise<BlockChange> {
  assertKnownIds([id], registry.difusores, action);
  const lock = await acquireLock(stateDir, { command: action, timeZone: registry.timezone });
  try {
    const { events } = await readJournal(stateDir);
    const before = deriveLedgerState(events).difusores[id];
    const journal = await openJournal(stateDir);
    let followUp: FollowUpReport;
    try {
      const at = new Date(clock.now()).toISOString();
      const event: LedgerEvent =
        action === 'block' ? { type: 'block', at, id, reason: reason ?? '', by: 'manual' } : { type: 'unblock', at, id };
      await journal.append(event);
      followUp = await followUpRun(
        { registry, stateDir, journal, events: [...events, event], before: deriveLedgerState(events), runEvents: [event], cut: null },
        { ...options, clock },
      );
    } finally {
      await journal.close();
    }
    return {
      id,
      action,
      wasBlocked: Boolean(before?.blocked),
      previousMisses: before?.consecutiveMisses ?? 0,
      reason,
      follow_up: followUp,
    };
  } finally {
    await lock.release();
  }
}
