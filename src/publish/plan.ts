// The pure plan of one release: from the new release's manifest and the manifests of releases the
// difusor already holds, which files are hard-linked, which uploaded, which folders made.
import { posix } from 'node:path';

export interface PlanFile {
  path: string;
  size: number;
  sha256: string;
}

/** A release already on the difusor whose manifest we trust, as a source of hard links. */
export interface LinkBase {
  release: string;
  files: readonly PlanFile[];
}

export interface ReleasePlan {
  /** Folders to create inside the staging release, each after its parent. */
  dirs: string[];
  /** Files reused from a release on the difusor: `from` is `<release>/<path>` under releases/. */
  link: Array<{ path: string; from: string; size: number }>;
  upload: Array<{ path: string; size: number }>;
}

const identity = (f: Pick<PlanFile, 'size' | 'sha256'>): string => `${f.sha256}:${f.size}`;

/**
 * Plans a release. A file is linked when a base holds one with the same SHA-256 and size (the
 * first base wins, so list the current release first; same path preferred within it), else uploaded.
 * With `canLink` false every file is uploaded. Deleted files need nothing: they are simply absent.
 */
export function planRelease(files: readonly PlanFile[], bases: readonly LinkBase[], canLink: boolean): ReleasePlan {
  const samePath = new Map<string, string>();
  const byContent = new Map<string, string>();
  if (canLink) {
    for (const base of [...bases].reverse()) {
      for (const f of base.files) {
        byContent.set(identity(f), `${base.release}/${f.path}`);
      }
    }
    const first = bases[0];
    if (first) for (const f of first.files) samePath.set(`${f.path}\0${identity(f)}`, `${first.release}/${f.path}`);
  }
  const plan: ReleasePlan = { dirs: sortShallowFirst(foldersOf(files)), link: [], upload: [] };
  for (const f of files) {
    const from = samePath.get(`${f.path}\0${identity(f)}`) ?? byContent.get(identity(f));
    if (from !== undefined) plan.link.push({ path: f.path, from, size: f.size });
    else plan.upload.push({ path: f.path, size: f.size });
  }
  return plan;
}

/** Every folder holding a file of `files`, at any depth. */
export function foldersOf(files: readonly PlanFile[]): Set<string> {
  const dirs = new Set<string>();
  for (const f of files) {
    for (let dir = posix.dirname(f.path); dir !== '.' && !dirs.has(dir); dir = posix.dirname(dir)) dirs.add(dir);
  }
  return dirs;
}

/** Shallow first (then by name): a folder's parent always exists when it is created. */
export function sortShallowFirst(dirs: Iterable<string>): string[] {
  return [...dirs].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function depth(path: string): number {
  return path.split('/').length;
}

/** Folders of a plan grouped by depth: each group can be created all at once. */
export function dirsByDepth(dirs: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (const dir of dirs) {
    const d = depth(dir) - 1;
    (groups[d] ??= []).push(dir);
  }
  return groups.filter((g) => g !== undefined);
}

/** The files of a MANIFEST.json, checked enough to plan from (a damaged one is no base). */
export function parseManifestFiles(text: string): PlanFile[] | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  const files = (data as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) return null;
  const out: PlanFile[] = [];
  for (const f of files) {
    const { path, size, sha256 } = (f ?? {}) as Record<string, unknown>;
    if (typeof path !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string') return null;
    if (!isSafeRelativePath(path)) return null;
    out.push({ path, size, sha256 });
  }
  return out;
}

/** A manifest path may never leave its release (`..`, absolute, empty segments). */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
