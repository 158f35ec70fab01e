// One cut id, one content: what a build does when the store already holds a package of its cut.
// Two contents under one cut id is what made the kit difusor keep the first one while site-mode
// difusores served the second, and `audit` then accuse the kit difusor of tampering (#23).
// Pure: the stored record and the new build are passed in.
import type { Cut } from '../core/cut.js';
import { PrepPushError } from '../core/errors.js';
import type { StoredCut } from './store.js';

export interface NewBuild {
  fileName: string;
  sha256: string;
  sourceSha256: string;
}

export type StoreDecision =
  /** Nothing of this cut is stored, or the same content under another name or format: store it. */
  | { action: 'store' }
  /** The very same package is stored: keep it untouched, drop the new copy. */
  | { action: 'reuse' }
  | { action: 'refuse'; error: PrepPushError };

/** `2024-06-02T20:20:00-06:00` → that offset in minutes (-360); 0 for `Z` or no offset. */
function offsetMinutesOf(isoTime: string): number {
  const match = /([+-])(\d\d):(\d\d)$/.exec(isoTime);
  return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

/** An instant as local ISO 8601 at the offset `like` carries (the cut's zone, where the operator reads it). */
function isoAtOffsetOf(ms: number, like: string, withSeconds: boolean): string {
  const offset = offsetMinutesOf(like);
  const local = new Date(ms + offset * 60000).toISOString().slice(0, withSeconds ? 19 : 16);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

function refusal(cut: Cut, stored: StoredCut, what: string): StoreDecision {
  const nextMinute = isoAtOffsetOf(cut.epochMs + 60000, cut.time, false);
  return {
    action: 'refuse',
    error: new PrepPushError(
      'source',
      `cut ${cut.id} is already stored ${what}: ${stored.fileName} (cut time ${stored.cutTime}, ` +
        `built ${isoAtOffsetOf(stored.builtMs, cut.time, true)}, SHA-256 ${stored.sha256}); ` +
        'a cut id names one content, so nothing was stored or pushed',
      {
        hint:
          `publish this content as a later cut (\`--cut ${nextMinute}\`, or run again once the minute has passed); ` +
          `if cut ${cut.id} itself was the mistake, withdraw it first (\`prep-push retract ${cut.id} --reason TEXT\`), then cut a later minute`,
      },
    ),
  };
}

/** Whether a build of `cut` that gave `built` is stored, reused or refused, given what the store holds. */
export function decideAgainstStored(cut: Cut, stored: StoredCut | null, built: NewBuild): StoreDecision {
  if (stored === null) return { action: 'store' };
  const sameBytes = stored.fileName === built.fileName && stored.sha256 === built.sha256;
  if (sameBytes) return { action: 'reuse' };
  // A record from before source digests were kept is compared by its bytes alone.
  const sameSource = stored.sourceSha256 === undefined ? stored.sha256 === built.sha256 : stored.sourceSha256 === built.sourceSha256;
  if (!sameSource) return refusal(cut, stored, 'from a different source');
  // The same files under another name or format: the new file sits beside the old, which stays.
  if (stored.fileName !== built.fileName) return { action: 'store' };
  // Same files, same name, other bytes: the institute's name or the signing key changed since.
  // Replacing a package difusores may hold under that name would make their copies disagree.
  return refusal(cut, stored, "from the same files but as other bytes (the registry's institute or signing key changed since)");
}
