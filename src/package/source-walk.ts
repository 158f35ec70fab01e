// Reads a publication folder in package order without ever leaving it: every folder is opened
// relative to its parent's open descriptor and every file relative to its folder's, both with
// O_NOFOLLOW, so a folder or file swapped for a symlink at any moment (between listing and reading,
// or in a renameat2(RENAME_EXCHANGE) loop) fails the open (ELOOP) instead of being followed.
//
// Node has no openat(2); `/proc/<pid>/fd/<fd>/<name>` is the same lookup: the kernel resolves the
// magic link to the folder the descriptor holds, whatever path now leads there, and looks `name` up
// inside it. (`/proc/<pid>` rather than `/proc/self` saves resolving the `self` link on each of the
// ~40,000 lookups of a PREP site; it is used only once checked to hold this process's descriptors,
// as another PID namespace's /proc would not.) Where /proc is missing (not Linux) paths from the
// source folder are used instead: symlinks at rest are still refused, a swap during the build is not.
//
// Listing and reading are one pass (each folder is listed right before its entries are read), in
// the package's order: entries sorted by path in UTF-8 byte order, each folder before its contents.
// Within a folder that is the order of the names with "/" appended to each subfolder's contents
// (`S1`, `S1-b/…`, `S1/…`), so no listing of the whole tree is ever held.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrepPushError } from '../core/errors.js';

export const MANIFEST_NAME = 'MANIFEST.json';

export function sourceError(message: string, hint: string, cause?: unknown): PrepPushError {
  return new PrepPushError('source', message, { hint, cause });
}

/** One step of the walk. The walk reuses the object: read it before asking for the next step. */
export interface WalkStep {
  /** 'directory': the folder's own entry (its contents come later, in package order). */
  type: 'file' | 'directory';
  /** POSIX path relative to the source folder; no trailing slash. */
  relPath: string;
  /** A file open for reading (O_NOFOLLOW | O_NONBLOCK) until the next step; -1 for a folder or when not opened. */
  fd: number;
}

export interface SourceWalkOptions {
  /** Open every file (default); false only lists (`cut --dry-run`). */
  openFiles?: boolean;
  /** Test seam: called after a folder is listed and before any of its entries is opened. */
  afterListing?: (relDir: string) => void;
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const FOLDER_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
// O_NONBLOCK: a named pipe swapped in since the listing does not block the open (regular files ignore it).
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

const FILE = 0;
const FOLDER_ENTRY = 1;
const FOLDER_CONTENTS = 2;

interface Item {
  /** Sort key inside the folder: the name, or the name + "/" for a folder's contents. */
  key: string;
  name: string;
  kind: typeof FILE | typeof FOLDER_ENTRY | typeof FOLDER_CONTENTS;
}

interface Frame {
  fd: number;
  /** `relDir/`, or '' at the top. */
  prefix: string;
  items: Item[];
  next: number;
}

interface Refusal {
  absPath: string;
  message: string;
  hint: string;
}

// A UTF-16 surrogate: the only code units whose string order differs from UTF-8 byte order.
const SURROGATE = /[\ud800-\udfff]/;

function sortByKeyBytes(items: Item[]): Item[] {
  // Without astral characters, JS string order is UTF-8 byte order.
  if (!items.some((item) => SURROGATE.test(item.key))) {
    return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  const keyed = items.map((item) => ({ item, bytes: Buffer.from(item.key, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return keyed.map((k) => k.item);
}

function describeKind(stats: fs.Stats | fs.Dirent): string {
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file or folder';
}

/**
 * The prefix that turns a descriptor of this process into a path: `/proc/<pid>/fd/` when
 * `/proc/<pid>` is this process (as `/proc/self` says: another PID namespace's /proc would show
 * someone else there), else `/proc/self/fd/`, checked against `fd`; undefined without a usable /proc.
 */
function procFdPrefix(fd: number): string | undefined {
  try {
    const held = fs.fstatSync(fd);
    const seen = fs.statSync(`/proc/self/fd/${fd}`);
    if (seen.dev !== held.dev || seen.ino !== held.ino) return undefined;
  } catch {
    return undefined;
  }
  try {
    const self = fs.statSync('/proc/self');
    const byPid = fs.statSync(`/proc/${process.pid}`);
    if (self.dev === byPid.dev && self.ino === byPid.ino) return `/proc/${process.pid}/fd/`;
  } catch {
    // /proc/self it is
  }
  return '/proc/self/fd/';
}

/** The source folder, opened; walk it once with `steps()`. */
export class SourceWalk {
  readonly root: string;
  /** Files walked so far (all of them once `steps()` has finished). */
  fileCount = 0;
  private readonly rootFd: number;
  /** `/proc/<pid>/fd/`, or undefined where /proc cannot be used. */
  private readonly fdPath: string | undefined;
  private readonly refused: Refusal[] = [];
  private closed = false;

  constructor(
    sourceDir: string,
    private readonly options: SourceWalkOptions = {},
  ) {
    this.root = path.resolve(sourceDir);
    this.rootFd = openRoot(this.root);
    this.fdPath = procFdPrefix(this.rootFd);
  }

  /** The absolute path of an entry, for messages. */
  absPathOf(relPath: string): string {
    return relPath === '' ? this.root : `${this.root === '/' ? '' : this.root}/${relPath}`;
  }

  /** Every folder and file in package order; throws a 'source' error for anything that cannot be packaged. */
  *steps(): Generator<WalkStep, void, void> {
    const step: WalkStep = { type: 'directory', relPath: '', fd: -1 };
    const openFiles = this.options.openFiles !== false;
    const stack: Frame[] = [];
    try {
      stack.push({ fd: this.rootFd, prefix: '', items: this.list(this.rootFd, ''), next: 0 });
      while (stack.length > 0) {
        const frame = stack[stack.length - 1];
        if (frame.next === frame.items.length) {
          stack.pop();
          if (frame.fd !== this.rootFd) fs.closeSync(frame.fd);
          continue;
        }
        const item = frame.items[frame.next++];
        const relPath = frame.prefix + item.name;
        if (item.kind === FOLDER_CONTENTS) {
          const fd = this.openFolder(frame.fd, item.name, relPath);
          try {
            stack.push({ fd, prefix: `${relPath}/`, items: this.list(fd, relPath), next: 0 });
          } catch (error) {
            fs.closeSync(fd);
            throw error;
          }
          continue;
        }
        step.relPath = relPath;
        if (item.kind === FOLDER_ENTRY) {
          step.type = 'directory';
          step.fd = -1;
          yield step;
          continue;
        }
        this.fileCount += 1;
        step.type = 'file';
        // Once something is refused the package will not be made: list on, to name every refusal.
        if (!openFiles || this.refused.length > 0) {
          step.fd = -1;
          yield step;
          continue;
        }
        const fd = this.openFile(frame.fd, item.name, relPath);
        step.fd = fd;
        try {
          yield step;
        } finally {
          fs.closeSync(fd);
        }
      }
    } finally {
      for (const frame of stack) if (frame.fd !== this.rootFd) fs.closeSync(frame.fd);
      this.close();
    }
    this.throwRefusals();
    if (this.fileCount === 0) {
      throw sourceError(`source folder ${this.root} holds no files`, 'check that the PREP publication has been written before running the cut');
    }
  }

  /** `name` inside the folder open as `dirFd`, as a path the kernel resolves there. */
  private pathIn(dirFd: number, name: string, relPath: string): string {
    return this.fdPath !== undefined ? `${this.fdPath}${dirFd}/${name}` : this.absPathOf(relPath);
  }

  /** The entries of an open folder, sorted into package order; refusals are noted, not listed. */
  private list(fd: number, relDir: string): Item[] {
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(this.fdPath !== undefined ? `${this.fdPath}${fd}` : this.absPathOf(relDir), { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw sourceError(
        `cannot read folder ${this.absPathOf(relDir)} in the source (${code ?? String(error)})`,
        'make the folder readable by the user running prep-push',
        error,
      );
    }
    const items: Item[] = [];
    const prefix = relDir === '' ? '' : `${relDir}/`;
    for (const dirent of dirents) {
      const name = dirent.name;
      if (relDir === '' && name === MANIFEST_NAME) {
        throw sourceError(
          `source ${this.absPathOf(name)} is named ${MANIFEST_NAME}, which the package adds itself`,
          `rename or remove ${this.absPathOf(name)}; prep-push writes ${MANIFEST_NAME} at the top of every package`,
        );
      }
      // Some filesystems do not report the type in readdir; ask lstat then (never stat: no following).
      const kind = dirent.isFile() || dirent.isDirectory() || dirent.isSymbolicLink() ? dirent : this.lstatIn(fd, name, prefix + name);
      if (kind.isFile()) {
        items.push({ key: name, name, kind: FILE });
      } else if (kind.isDirectory()) {
        items.push({ key: name, name, kind: FOLDER_ENTRY }, { key: `${name}/`, name, kind: FOLDER_CONTENTS });
      } else if (kind.isSymbolicLink()) {
        this.refused.push({
          absPath: this.absPathOf(prefix + name),
          message: `source contains a symlink: ${this.absPathOf(prefix + name)}`,
          hint: 'symlinks are not followed; replace it with the file (or folder) it points to',
        });
      } else {
        this.refused.push({
          absPath: this.absPathOf(prefix + name),
          message: `source contains ${describeKind(kind)}: ${this.absPathOf(prefix + name)}`,
          hint: 'only regular files and folders can be packaged; remove it from the source folder',
        });
      }
    }
    this.options.afterListing?.(relDir);
    return sortByKeyBytes(items);
  }

  private lstatIn(dirFd: number, name: string, relPath: string): fs.Stats {
    try {
      return fs.lstatSync(this.pathIn(dirFd, name, relPath));
    } catch (error) {
      throw sourceError(`cannot inspect ${this.absPathOf(relPath)} in the source`, 'make it readable by prep-push', error);
    }
  }

  private openFolder(parentFd: number, name: string, relPath: string): number {
    const inside = this.pathIn(parentFd, name, relPath);
    try {
      return fs.openSync(inside, FOLDER_FLAGS);
    } catch (error) {
      // O_DIRECTORY | O_NOFOLLOW on a symlink fails with ENOTDIR, not ELOOP: say which it is.
      const code = (error as NodeJS.ErrnoException).code;
      const isLink = code === 'ENOTDIR' && fs.lstatSync(inside, { throwIfNoEntry: false })?.isSymbolicLink();
      throw openError(this.absPathOf(relPath), isLink ? Object.assign(error as Error, { code: 'ELOOP' }) : error, 'folder');
    }
  }

  private openFile(dirFd: number, name: string, relPath: string): number {
    try {
      return fs.openSync(this.pathIn(dirFd, name, relPath), FILE_FLAGS);
    } catch (error) {
      throw openError(this.absPathOf(relPath), error, 'file');
    }
  }

  /** One file by its relative path, opened as `steps()` would open it; see `readSourceFiles`. */
  readOne(relPath: string, maxBytes: number): Buffer {
    const parts = relPath.split('/');
    let dirFd = this.rootFd;
    try {
      for (let i = 0; i < parts.length - 1; i += 1) {
        const fd = this.openFolder(dirFd, parts[i], parts.slice(0, i + 1).join('/'));
        if (dirFd !== this.rootFd) fs.closeSync(dirFd);
        dirFd = fd;
      }
      const fd = this.openFile(dirFd, parts[parts.length - 1], relPath);
      try {
        const absPath = this.absPathOf(relPath);
        const size = sizeOfOpenFile(fd, absPath);
        const data = Buffer.allocUnsafe(Math.min(size, maxBytes + 1));
        let filled = 0;
        while (filled < data.length) {
          let n: number;
          try {
            n = fs.readSync(fd, data, filled, data.length - filled, filled);
          } catch (error) {
            throw sourceReadError(absPath, error);
          }
          if (n === 0) break;
          filled += n;
        }
        return data.subarray(0, filled);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      if (dirFd !== this.rootFd) fs.closeSync(dirFd);
    }
  }

  /** Closes the source folder (`steps()` does it when it ends). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.rootFd);
  }

  private throwRefusals(): void {
    const refused = this.refused;
    if (refused.length === 1) throw sourceError(refused[0].message, refused[0].hint);
    if (refused.length > 1) {
      refused.sort((a, b) => (a.absPath < b.absPath ? -1 : 1));
      const hints = [...new Set(refused.map((r) => r.hint))];
      throw new PrepPushError('source', `source contains ${refused.length} entries that cannot be packaged (listed above)`, {
        details: refused.map((r) => r.message),
        hint: hints.join('; '),
      });
    }
  }
}

function openRoot(root: string): number {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw sourceError(
      code === 'ENOENT' ? `source folder ${root} does not exist` : `cannot read source folder ${root} (${code})`,
      'pass --source the folder the PREP publication is written to',
      error,
    );
  }
  if (!stats.isDirectory()) {
    throw sourceError(`source ${root} is not a folder`, 'pass --source the folder that holds the publication');
  }
  // The folder named by --source, symlinks on the way included (the operator chose the path); from
  // here on only what lies inside the folder this opens is read.
  try {
    return fs.openSync(root, O_RDONLY | O_DIRECTORY);
  } catch (error) {
    throw sourceError(`cannot read source folder ${root} (${(error as NodeJS.ErrnoException).code})`, 'make the folder readable by the user running prep-push', error);
  }
}

const CHANGED_HINT = 'do not change the source folder while a cut is being packaged; run the cut again';

function openError(absPath: string, error: unknown, what: 'file' | 'folder'): PrepPushError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') {
    return sourceError(`source contains a symlink: ${absPath}`, `symlinks are not followed; ${CHANGED_HINT}`, error);
  }
  if (code === 'ENOTDIR' && what === 'folder') {
    return sourceError(`source entry ${absPath} is no longer a folder`, CHANGED_HINT, error);
  }
  if (code === 'ENOENT') {
    return sourceError(`source ${what} ${absPath} disappeared while it was being packaged`, CHANGED_HINT, error);
  }
  return sourceError(`cannot read ${absPath} in the source (${code ?? String(error)})`, `make the ${what} readable by the user running prep-push`, error);
}

/**
 * Reads one file of the source by its relative path, folder by folder as the walk does (never
 * following a symlink), and at most `maxBytes` + 1 bytes: for the delta packages, which take a few
 * files again after the full package is written. A file that changed since shows in its size or hash.
 */
export interface SourceFileReader {
  read(relPath: string, maxBytes: number): Buffer;
  close(): void;
}

export function readSourceFiles(sourceDir: string): SourceFileReader {
  const walk = new SourceWalk(sourceDir);
  return { read: (relPath, maxBytes) => walk.readOne(relPath, maxBytes), close: () => walk.close() };
}

/** The size of a file the walk opened, once it is checked to be still a regular file. */
export function sizeOfOpenFile(fd: number, absPath: string): number {
  const stats = fs.fstatSync(fd);
  if (!stats.isFile()) {
    throw sourceError(`source entry ${absPath} is no longer a regular file`, CHANGED_HINT);
  }
  return stats.size;
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
  return sourceError(`source file ${absPath} shrank while it was being packaged`, CHANGED_HINT);
}
