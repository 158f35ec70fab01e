// The release layout on a difusor (releases/<name>/, current -> releases/<name>) and how prep-push publishes into it.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';

export const RELEASES_DIR = 'releases';
export const CURRENT_LINK = 'current';
export const MANIFEST_NAME = 'MANIFEST.json';

/** Every name prep-push works under begins with `.`: web servers and `prep-apply` ignore them. */
export const WORK_PREFIX = '.';
/** The temporary link beside `current`, renamed over it: `.current.prep-push-<12 hex>`. */
export const TEMP_LINK_PATTERN = /^\.current\.prep-push-[0-9a-f]{12}$/;

function tag(): string {
  return randomBytes(6).toString('hex');
}

export function stagingNameFor(release: string): string {
  return `.staging-${release}.prep-push-${tag()}`;
}

export function probeName(): string {
  return `.probe.prep-push-${tag()}`;
}

export function pruningNameFor(release: string): string {
  return `.pruning-${release}.prep-push-${tag()}`;
}

export function tempLinkName(): string {
  return `.current.prep-push-${tag()}`;
}

/** `releases/<name>`: what `current` holds (relative, so the tree can move or be chrooted). */
export function linkTargetOf(release: string): string {
  return `${RELEASES_DIR}/${release}`;
}

/**
 * The release a `current` link names, from what the server's readlink answered: OpenSSH gives
 * the link's own text (`releases/<name>`), ProFTPD an absolute path joined with the link's folder.
 * Null when it does not name something inside `releases/`.
 */
export function releaseOfLinkTarget(target: string): string | null {
  const parts = posix.normalize(target).split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length < 2 || parts[parts.length - 2] !== RELEASES_DIR) return null;
  const name = parts[parts.length - 1];
  return name.startsWith(WORK_PREFIX) ? null : name;
}

const CUT_ID = /^\d{8}_\d{4}/;

/**
 * What marks a notice's names: release `<cut>-aviso` (site mode and prep-apply alike), package
 * `<package of the cut>-aviso.tar.gz`. Orderings compare the cut id in front of it, so for one cut
 * the notice and the results replace each other, and an older cut is still a rollback.
 */
export const NOTICE_MARK = '-aviso';

/** A notice release (`<cut>-aviso`) holds no results: never a source of links for a results release. */
export function isNoticeRelease(name: string): boolean {
  return name.endsWith(NOTICE_MARK);
}

/**
 * Whether publishing `next` while `current` is live moves the site back in time. Release names
 * begin with their cut id (`20240602_2020`, or a notice's `20240602_2020-aviso`); names without one
 * are never called older.
 */
export function isRollback(current: string | null, next: string): boolean {
  if (current === null) return false;
  const a = CUT_ID.exec(current)?.[0];
  const b = CUT_ID.exec(next)?.[0];
  return a !== undefined && b !== undefined && b < a;
}

/** What a publish does with `current`: move it to the new release, leave it, or refuse the publish. */
export type CurrentMove = 'switch' | 'keep' | 'refuse';

/**
 * `--allow-rollback` moves `current` back; `cut --allow-older` publishes the older release but
 * leaves `current` on the newer cut it names (as LATEST does in package mode); otherwise a
 * publish older than `current` is refused, so the site never goes back in time on its own.
 */
export function currentMoveFor(current: string | null, next: string, allow: { rollback: boolean; older: boolean }): CurrentMove {
  if (!isRollback(current, next) || allow.rollback) return 'switch';
  return allow.older ? 'keep' : 'refuse';
}

/**
 * Which releases pruning removes: every release but the newest `keep` (by name, which orders cut
 * ids in time) and never the current one nor the one just published. 0 keeps all.
 */
export function releasesToPrune(releases: readonly string[], keep: number, protect: ReadonlyArray<string | null>): string[] {
  if (keep <= 0) return [];
  const names = releases.filter((n) => !n.startsWith(WORK_PREFIX)).sort();
  const kept = new Set(names.slice(-keep));
  return names.filter((n) => !kept.has(n) && !protect.includes(n));
}
