// Whether a cut's time is safe to publish: one typo at 3 a.m. (the wrong year) must not freeze every
// difusor's LATEST on a far-future cut. Pure: the clock's reading and the ledger are passed in.
import type { Cut } from '../core/cut.js';
import { formatLocalTime } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import { isWithdrawn } from '../ledger/rules.js';
import type { LedgerState } from '../ledger/types.js';
import { DEFAULT_MAX_FUTURE_MINUTES } from '../registry/schema.js';

export interface CutTimeCheck {
  cut: Cut;
  nowMs: number;
  timeZone: string;
  /** From the registry; default 10. */
  maxFutureMinutes?: number;
  allowFuture: boolean;
  allowOlder: boolean;
}

/** How far apart two instants are, in the largest unit that reads well. */
export function describeGap(ms: number): string {
  const minutes = Math.round(ms / 60000);
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}

/**
 * Throws a usage error (exit 2, before anything is built or sent) when the cut is too far ahead of
 * the clock (unless allowFuture), older than the newest cut in the ledger (unless allowOlder), or
 * a cut that was withdrawn.
 */
export function checkCutTime(check: CutTimeCheck, ledger: LedgerState): void {
  const { cut, nowMs, timeZone } = check;
  const maxFutureMinutes = check.maxFutureMinutes ?? DEFAULT_MAX_FUTURE_MINUTES;
  const ahead = cut.epochMs - nowMs;
  if (!check.allowFuture && ahead > maxFutureMinutes * 60000) {
    throw new PrepPushError(
      'usage',
      `--cut: cut ${cut.id} (${cut.time}) is ${describeGap(ahead)} ahead of this machine's clock ` +
        `(now ${formatLocalTime(nowMs, timeZone)}; max_future_minutes is ${maxFutureMinutes}); nothing was built or pushed`,
      { hint: 'check the year, date and hour of --cut (and this machine\'s clock); if that time is really meant, add --allow-future' },
    );
  }
  if (isWithdrawn(ledger, cut.id)) {
    const w = ledger.withdrawn[cut.id];
    throw new PrepPushError(
      'usage',
      `--cut: cut ${cut.id} was withdrawn at ${formatLocalTime(w.at, timeZone)} (${w.reason}); nothing was built or pushed`,
      { hint: 'cut a new time instead (omit --cut to use now)' },
    );
  }
  const newest = ledger.latestCut;
  if (!check.allowOlder && newest !== null && cut.id < newest) {
    throw new PrepPushError(
      'usage',
      `--cut: cut ${cut.id} is older than the newest cut in the ledger, ${newest}; nothing was built or pushed`,
      {
        hint: `check the time of --cut; to deliver this older cut anyway add --allow-older (LATEST keeps naming ${newest}), or withdraw ${newest} with \`prep-push retract ${newest} --reason TEXT\` if it was a mistake`,
      },
    );
  }
}
