// The pure plan of recycling: turning an old release that pruning would remove anyway into the new
// one by applying only the difference between the two manifests, so unchanged files cost nothing.
import { posix } from 'node:path';
import { foldersOf, sortShallowFirst, type PlanFile } from './plan.js';

export interface RecyclePlan {
  /**
   * The old release's deleted and changed files (one in the way of a new folder too), removed
   * first. Its files are hard links shared with the releases still kept: a changed file must be a
   * new inode under the old name, never a write through the old one.
   */
  remove: string[];
  /** Topmost folders of the old release the new one lacks (each removed with what it holds), next. */
  removeDirs: string[];
  /**
   * Then the names of new files the old manifest does not list, unlinked if present (a file or link
   * put there by hand): with `remove`, no name is written before it was unlinked, whatever the tree held.
   */
  clear: string[];
  /** Folders the new release adds, shallowest first (each after its parent). */
  makeDirs: string[];
  /** Files left where they are: same path, same size and SHA-256. */
  kept: number;
  /** Files to link or upload into the recycled tree; their paths are free once `remove` is done. */
  place: PlanFile[];
}

const sameContent = (a: PlanFile, b: PlanFile): boolean => a.sha256 === b.sha256 && a.size === b.size;

/** Plans the turn of `old` (the recycled release's manifest files) into `next`. */
export function planRecycle(old: readonly PlanFile[], next: readonly PlanFile[]): RecyclePlan {
  const oldByPath = new Map(old.map((f) => [f.path, f]));
  const nextByPath = new Map(next.map((f) => [f.path, f]));
  const oldDirs = foldersOf(old);
  const nextDirs = foldersOf(next);

  const remove: string[] = [];
  for (const f of old) {
    const wanted = nextByPath.get(f.path);
    // A new folder of the same name as an old file is covered too: that path is no file in `next`.
    if (wanted === undefined || !sameContent(f, wanted)) remove.push(f.path);
  }
  const place: PlanFile[] = [];
  const clear: string[] = [];
  let kept = 0;
  for (const f of next) {
    const had = oldByPath.get(f.path);
    if (had !== undefined && sameContent(had, f)) kept += 1;
    else {
      place.push(f);
      if (had === undefined) clear.push(f.path);
    }
  }
  const dropped = [...oldDirs].filter((d) => !nextDirs.has(d));
  const droppedSet = new Set(dropped);
  // A dropped folder inside another dropped folder goes with its parent.
  const removeDirs = sortShallowFirst(dropped.filter((d) => !droppedSet.has(posix.dirname(d))));
  const makeDirs = sortShallowFirst([...nextDirs].filter((d) => !oldDirs.has(d)));
  return { remove, removeDirs, clear, makeDirs, kept, place };
}
