// Lists a publication folder for packaging, refusing anything that is not a plain file or folder.
// Symlinks are refused rather than followed: a link could pull in files from outside the folder,
// and what a difusor receives must be exactly what sits in the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrepPushError } from '../core/errors.js';

export const MANIFEST_NAME = 'MANIFEST.json';

export interface SourceEntry {
  /** POSIX path relative to the source folder; no trailing slash. */
  relPath: string;
  absPath: string;
  type: 'file' | 'directory';
}

export interface SourceListing {
  /** Files and folders, sorted by relative path in byte order (each folder before its contents). */
  entries: SourceEntry[];
  fileCount: number;
}

function sourceError(message: string, hint: string, cause?: unknown): PrepPushError {
  return new PrepPushError('source', message, { hint, cause });
}

function describeKind(stats: fs.Stats | fs.Dirent): string {
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file or folder';
}

function readFolder(absDir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(absDir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw sourceError(
      `cannot read folder ${absDir} in the source (${code ?? String(error)})`,
      'make the folder readable by the user running prep-push',
      error,
    );
  }
}

// A UTF-16 surrogate: the only code units whose string order differs from UTF-8 byte order.
const SURROGATE = /[\ud800-\udfff]/;

function sortByPathBytes(entries: SourceEntry[]): SourceEntry[] {
  // Without astral characters, JS string order is UTF-8 byte order: no key buffers (one per entry,
  // 30,000 on a PREP site) to allocate and collect.
  if (!entries.some((entry) => SURROGATE.test(entry.relPath))) {
    return entries.sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  }
  // UTF-16 order (JS string comparison) differs from UTF-8 byte order for astral characters.
  const keyed = entries.map((entry) => ({ entry, key: Buffer.from(entry.relPath, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.entry);
}

/** Walks `sourceDir` and returns its entries in package order, or throws a 'source' error. */
export function scanSource(sourceDir: string): SourceListing {
  const root = path.resolve(sourceDir);
  let rootStats: fs.Stats;
  try {
    rootStats = fs.statSync(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw sourceError(
      code === 'ENOENT' ? `source folder ${root} does not exist` : `cannot read source folder ${root} (${code})`,
      'pass --source the folder the PREP publication is written to',
      error,
    );
  }
  if (!rootStats.isDirectory()) {
    throw sourceError(`source ${root} is not a folder`, 'pass --source the folder that holds the publication');
  }

  const entries: SourceEntry[] = [];
  // Every entry that cannot be packaged, so one run names them all (two symlinks: both).
  const refused: Array<{ absPath: string; message: string; hint: string }> = [];
  let fileCount = 0;
  const pending: string[] = [''];
  while (pending.length > 0) {
    const relDir = pending.pop() as string;
    const absDir = relDir === '' ? root : `${root === '/' ? '' : root}/${relDir}`;
    for (const dirent of readFolder(absDir)) {
      const relPath = relDir === '' ? dirent.name : `${relDir}/${dirent.name}`;
      // Names from readdir hold no '/' and are never '.' or '..': plain concatenation is the join.
      const absPath = `${absDir === '/' ? '' : absDir}/${dirent.name}`;
      if (relDir === '' && dirent.name === MANIFEST_NAME) {
        throw sourceError(
          `source ${absPath} is named ${MANIFEST_NAME}, which the package adds itself`,
          `rename or remove ${absPath}; prep-push writes ${MANIFEST_NAME} at the top of every package`,
        );
      }
      // Some filesystems do not report the type in readdir; ask lstat then (never stat: no following).
      const kind = dirent.isFile() || dirent.isDirectory() || dirent.isSymbolicLink() ? dirent : lstatOf(absPath);
      if (kind.isSymbolicLink()) {
        refused.push({
          absPath,
          message: `source contains a symlink: ${absPath}`,
          hint: 'symlinks are not followed; replace it with the file (or folder) it points to',
        });
        continue;
      }
      if (kind.isDirectory()) {
        entries.push({ relPath, absPath, type: 'directory' });
        pending.push(relPath);
      } else if (kind.isFile()) {
        entries.push({ relPath, absPath, type: 'file' });
        fileCount += 1;
      } else {
        refused.push({
          absPath,
          message: `source contains ${describeKind(kind)}: ${absPath}`,
          hint: 'only regular files and folders can be packaged; remove it from the source folder',
        });
      }
    }
  }
  if (refused.length === 1) throw sourceError(refused[0].message, refused[0].hint);
  if (refused.length > 1) {
    refused.sort((a, b) => (a.absPath < b.absPath ? -1 : 1));
    const hints = [...new Set(refused.map((r) => r.hint))];
    throw new PrepPushError('source', `source contains ${refused.length} entries that cannot be packaged (listed above)`, {
      details: refused.map((r) => r.message),
      hint: hints.join('; '),
    });
  }
  if (fileCount === 0) {
    throw sourceError(
      `source folder ${root} holds no files`,
      'check that the PREP publication has been written before running the cut',
    );
  }
  return { entries: sortByPathBytes(entries), fileCount };
}

function lstatOf(absPath: string): fs.Stats {
  try {
    return fs.lstatSync(absPath);
  } catch (error) {
    throw sourceError(`cannot inspect ${absPath} in the source`, 'make it readable by prep-push', error);
  }
}

export interface OpenSourceFile {
  fd: number;
  size: number;
}

/**
 * Opens a listed file for reading without following a symlink swapped in since the scan, and
 * without waiting on a named pipe swapped in (O_NONBLOCK, which regular files ignore): such a pipe
 * then fails `sizeOfListedFile`, or reads as empty and is caught there too.
 */
export function openListedFile(absPath: string): number {
  try {
    return fs.openSync(absPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw sourceError(
        `source contains a symlink: ${absPath}`,
        'symlinks are not followed; replace it with the file it points to',
        error,
      );
    }
    throw sourceReadError(absPath, error);
  }
}

/** The size of a file opened by `openListedFile`, once it is checked to be still a regular file. */
export function sizeOfListedFile(fd: number, absPath: string): number {
  const stats = fs.fstatSync(fd);
  if (!stats.isFile()) {
    throw sourceError(
      `source entry ${absPath} is no longer a regular file`,
      'do not change the source folder while a cut is being packaged',
    );
  }
  return stats.size;
}

/** `openListedFile` and `sizeOfListedFile` in one; the caller closes `fd`. */
export function openSourceFile(absPath: string): OpenSourceFile {
  const fd = openListedFile(absPath);
  try {
    return { fd, size: sizeOfListedFile(fd, absPath) };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

export function sourceReadError(absPath: string, error: unknown): PrepPushError {
  const code = (error as NodeJS.ErrnoException).code;
  return sourceError(
    `cannot read ${absPath} in the source (${code ?? String(error)})`,
    'make the file readable by the user running prep-push',
    error,
  );
}

export function sourceChangedError(absPath: string): PrepPushError {
  return sourceError(
    `source file ${absPath} shrank while it was being packaged`,
    'do not change the source folder while a cut is being packaged; run the cut again',
  );
}
