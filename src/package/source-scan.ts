// Lists a publication folder without reading it (`cut --dry-run`), refusing what the package would
// refuse: symlinks (never followed: a link could pull in files from outside the folder, and what a
// difusor receives must be exactly what sits in the folder), devices, pipes, a top-level
// MANIFEST.json, a folder without files. The build itself reads through ./source-walk.ts.
import { SourceWalk } from './source-walk.js';

export { MANIFEST_NAME, sourceChangedError, sourceReadError } from './source-walk.js';

export interface SourceEntry {
  /** POSIX path relative to the source folder; no trailing slash. */
  relPath: string;
  type: 'file' | 'directory';
}

export interface SourceListing {
  /** Files and folders in package order: by relative path in byte order, each folder before its contents. */
  entries: SourceEntry[];
  fileCount: number;
}

/** Walks `sourceDir` and returns its entries in package order, or throws a 'source' error. */
export function scanSource(sourceDir: string): SourceListing {
  const walk = new SourceWalk(sourceDir, { openFiles: false });
  const entries: SourceEntry[] = [];
  for (const step of walk.steps()) entries.push({ relPath: step.relPath, type: step.type });
  return { entries, fileCount: walk.fileCount };
}
