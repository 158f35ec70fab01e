// The calls' publication window (registry `publication: {from, until}`): results may not be published
// before `from` (IEEM forbids it), so `cut` and `push` refuse then unless the run is a drill; after
// `until` a cut still goes out, with a warning. Pure: the clock's reading is passed in.
import { formatLocalTime } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import type { PublicationWindow } from '../registry/types.js';
import { describeGap } from './time-guard.js';

export interface WindowCheck {
  publication: PublicationWindow | undefined;
  nowMs: number;
  timeZone: string;
  command: 'cut' | 'push';
  /** `--drill`: a drill (simulacro) may run before the window opens. */
  drill: boolean;
}

/**
 * Throws a usage error (exit 2, before anything is built or sent) before `publication.from` unless
 * `drill`; returns a warning after `publication.until` (for a cut), else null.
 */
export function checkPublicationWindow(check: WindowCheck): string | null {
  const { publication, nowMs, timeZone, command } = check;
  if (publication === undefined) return null;
  if (publication.from !== undefined && !check.drill) {
    const from = Date.parse(publication.from);
    if (nowMs < from) {
      throw new PrepPushError(
        'usage',
        `${command}: the publication window opens at ${formatLocalTime(from, timeZone)} (publication.from), ` +
          `${describeGap(from - nowMs)} from now (${formatLocalTime(nowMs, timeZone)}); results may not be published before then; nothing was built or pushed`,
        {
          hint: `for a drill (simulacro) add --drill: it is recorded as a drill and its MANIFEST.json says "drill": true; if the window is wrong, fix publication.from in the registry`,
        },
      );
    }
  }
  if (publication.until !== undefined && command === 'cut') {
    const until = Date.parse(publication.until);
    if (nowMs > until) {
      return `the publication window closed at ${formatLocalTime(until, timeZone)} (publication.until); this cut is delivered anyway (the last delivered cut stays published, nothing is removed)`;
    }
  }
  return null;
}
