// `block ID --reason TEXT [--public-reason TEXT]` and `unblock ID`: manual decisions, journaled with
// time and reason (internal) and, for a block, what the notice tells the public.
import type { Clock } from '../core/clock.js';
import { PrepPushError } from '../core/errors.js';
import { assertKnownIds } from '../cut/plan.js';
import { openJournal, readJournal } from '../ledger/journal.js';
import { acquireLock } from '../ledger/lock.js';
import { deriveLedgerState } from '../ledger/rules.js';
import type { Registry } from '../registry/types.js';
import type { LedgerEvent } from '../ledger/types.js';
import { followUpRun, type FollowUpDeps, type FollowUpReport } from '../cut/follow-up.js';
import { publicReasonOf } from '../words/notice.js';
import type { NotifyChannelName } from '../ledger/notification.js';

function notifyChannelsOf(registry: Registry): NotifyChannelName[] {
  const n = registry.notify;
  return n ? (['email', 'webhook', 'command'] as const).filter((c) => n[c] !== undefined) : [];
}

/** What block/unblock need beyond the clock for notifications, notices and the public list. */
export type BlockFollowUpOptions = Omit<FollowUpDeps, 'clock'> & {
  /** `block --public-reason`: what the notice tells the public (the `reason` stays internal). */
  publicReason?: string;
};

export interface BlockChange {
  id: string;
  action: 'block' | 'unblock';
  /** What the difusor was before: for the operator's confirmation line. */
  wasBlocked: boolean;
  previousMisses: number;
  /** The internal reason (ledger, report, the institute's e-mail). */
  reason: string | null;
  /** For a block: what the notice shows the public, and whether it is the default for a manual block. */
  publicReason?: { text: string; isDefault: boolean };
  /** The notification channels the registry configures (what the follow-up's counts are about). */
  channels: NotifyChannelName[];
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
  if (options.publicReason !== undefined && options.publicReason.trim() === '') {
    throw new PrepPushError('usage', 'block: --public-reason is empty', {
      hint: 'write what the public should read, in Spanish (e.g. --public-reason "Su sitio publicó cifras distintas a las del PREP oficial."), or leave it out for the default text',
    });
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
      const publicReason = options.publicReason?.trim();
      const event: LedgerEvent =
        action === 'block'
          ? { type: 'block', at, id, reason: reason ?? '', by: 'manual', ...(publicReason ? { publicReason } : {}) }
          : { type: 'unblock', at, id };
      await journal.append(event);
      followUp = await followUpRun(
        { registry, stateDir, journal, events: [...events, event], before: deriveLedgerState(events), runEvents: [event], cut: null },
        { ...options, clock },
      );
    } finally {
      await journal.close();
    }
    const publicText = options.publicReason?.trim();
    return {
      id,
      action,
      wasBlocked: Boolean(before?.blocked),
      previousMisses: before?.consecutiveMisses ?? 0,
      reason,
      ...(action === 'block'
        ? { publicReason: { text: publicReasonOf({ by: 'manual', reason: reason ?? '', publicReason: publicText }), isDefault: !publicText } }
        : {}),
      channels: notifyChannelsOf(registry),
      follow_up: followUp,
    };
  } finally {
    await lock.release();
  }
}
