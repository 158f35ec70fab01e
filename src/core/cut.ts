// The cut: the instant a PREP publication was cut, and its id (YYYYMMDD_HHmm in the registry's
// timezone), which names the package and keys every ledger record.
import { PrepPushError } from './errors.js';

export interface Cut {
  /** `YYYYMMDD_HHmm` in the registry's timezone, e.g. `20240602_2020`. */
  id: string;
  /** The same instant as ISO 8601 with the timezone's offset, e.g. `2024-06-02T20:20:00-06:00`. */
  time: string;
  /** Milliseconds since the epoch; used for fixed mtimes inside the package. */
  epochMs: number;
  /** `cut --drill`: a drill (simulacro); its MANIFEST.json says `"drill": true`. Absent: an election cut. */
  drill?: boolean;
}

const CUT_ID_PATTERN = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})$/;
// ISO 8601 with an explicit offset or Z; a bare local time would depend on the machine's TZ.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;

export function isCutId(text: string): boolean {
  return CUT_ID_PATTERN.test(text);
}

interface ZonedParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
  offsetMinutes: number;
}

function zonedParts(epochMs: number, timeZone: string): ZonedParts {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const parts = Object.fromEntries(format.formatToParts(new Date(epochMs)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  const offsetMinutes = Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60000);
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
    second: parts.second,
    offsetMinutes,
  };
}

function formatOffset(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Throws a usage error when the timezone is not one Intl knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new PrepPushError('usage', `unknown timezone "${timeZone}"`, {
      hint: 'use an IANA name such as America/Mexico_City',
    });
  }
}

/**
 * The cut for an instant. Seconds are dropped: a cut is named to the minute, and its time (used for
 * the package's mtimes) is that minute, so two builds of the same cut are byte-identical.
 */
export function cutAt(epochMs: number, timeZone: string): Cut {
  const minuteMs = Math.floor(epochMs / 60000) * 60000;
  const p = zonedParts(minuteMs, timeZone);
  return {
    id: `${p.year}${p.month}${p.day}_${p.hour}${p.minute}`,
    time: `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:00${formatOffset(p.offsetMinutes)}`,
    epochMs: minuteMs,
  };
}

/** Why a date and clock time do not exist (`February has no day 30`), or null when they do. */
function impossibleDateReason(y: number, mo: number, d: number, h: number, mi: number, sec = 0): string | null {
  if (mo < 1 || mo > 12) return `there is no month ${mo}`;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > daysInMonth) return `${MONTH_NAMES[mo - 1]} ${y} has no day ${d}`;
  if (h > 23 || mi > 59 || sec > 59) return `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')} is not a time of day`;
  return null;
}

const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Parses `--cut`: an ISO 8601 time with an offset, or a cut id (`20240602_2020`, read in the
 * registry's timezone); `undefined` means now, read from the clock given. A date that does not
 * exist (Feb 30) is named as such, apart from text that is no time at all.
 */
export function parseCutTime(text: string | undefined, timeZone: string, now: () => number): Cut {
  if (text === undefined) return cutAt(now(), timeZone);
  if (isCutId(text)) return cutFromId(text, timeZone);
  if (!ISO_WITH_ZONE.test(text)) {
    throw new PrepPushError('usage', `--cut: "${text}" is neither an ISO 8601 time with an offset nor a cut id`, {
      hint: 'write it like 2024-06-02T20:20:00-06:00 or 20240602_2020 (or omit --cut to use now)',
    });
  }
  const [y, mo, d, h, mi, sec] = text.split(/[-T:.Z+]/).slice(0, 6).map(Number);
  const impossible = impossibleDateReason(y, mo, d, h, mi, Number.isNaN(sec) ? 0 : sec);
  if (impossible !== null) {
    throw new PrepPushError('usage', `--cut: "${text}" is not a real date: ${impossible}`, { hint: 'check the date and the hour' });
  }
  return cutAt(Date.parse(text), timeZone);
}

/** Rebuilds a Cut from its id (for `push --cut ID`), interpreting the id in the registry's timezone. */
export function cutFromId(id: string, timeZone: string): Cut {
  const m = CUT_ID_PATTERN.exec(id);
  if (!m) {
    throw new PrepPushError('usage', `--cut: "${id}" is not a cut id`, {
      hint: 'a cut id looks like 20240602_2020 (YYYYMMDD_HHmm); `prep-push status` lists delivered cuts',
    });
  }
  const [, y, mo, d, h, mi] = m;
  const impossible = impossibleDateReason(+y, +mo, +d, +h, +mi);
  if (impossible !== null) {
    throw new PrepPushError('usage', `--cut: "${id}" is not a real date: ${impossible}`, { hint: 'check the date and the hour' });
  }
  const naiveUtc = Date.UTC(+y, +mo - 1, +d, +h, +mi);
  // The zone's offset at that wall time; two passes settle DST edges.
  let guess = naiveUtc;
  for (let i = 0; i < 2; i += 1) guess = naiveUtc - zonedParts(guess, timeZone).offsetMinutes * 60000;
  const cut = cutAt(guess, timeZone);
  if (cut.id !== id) {
    throw new PrepPushError('usage', `--cut: "${id}" does not exist in ${timeZone} (the clocks skip that hour)`, {
      hint: 'check the date and the hour',
    });
  }
  return cut;
}

/**
 * An instant as the operator reads every time: ISO 8601 to the second in the registry's timezone,
 * with its offset (`2026-11-25T14:31:01-06:00`), never UTC with `Z`.
 */
export function formatLocalTime(instant: string | number, timeZone: string): string {
  const epochMs = typeof instant === 'number' ? instant : Date.parse(instant);
  if (Number.isNaN(epochMs)) return String(instant);
  const p = zonedParts(Math.floor(epochMs / 1000) * 1000, timeZone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${formatOffset(p.offsetMinutes)}`;
}
