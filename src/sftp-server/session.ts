// One SFTP session: answers each request from the local root, and injects the configured faults.
import { constants as fsConstants } from 'node:fs';
import { link, lstat, mkdir, readlink, realpath, symlink, open, readdir, rename, rmdir, stat, statfs, unlink, utimes, chmod, type FileHandle } from 'node:fs/promises';

import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';

import { attributesOf, longnameOf, normaliseRemotePath, statusOfError, toLocalPath, type SftpAttributes } from './local-root.js';
import { sendExtendedReply, statvfsReplyBody } from './openssh-extensions.js';
import type { SftpFaults, SftpQuirks } from './types.js';

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;

/** Extensions this server implements, advertised in VERSION with OpenSSH's version strings. */
export const SUPPORTED_EXTENSIONS: Record<string, string> = {
  'posix-rename@openssh.com': '1',
  'statvfs@openssh.com': '2',
  'fsync@openssh.com': '1',
  'hardlink@openssh.com': '1',
};

/** The extensions a server with these quirks advertises. */
export function extensionsOffered(quirks: SftpQuirks | undefined): Record<string, string> {
  const without = new Set(quirks?.withoutExtensions ?? []);
  return Object.fromEntries(Object.entries(SUPPORTED_EXTENSIONS).filter(([name]) => !without.has(name)));
}

/** OpenSSH's sftp-server never answers a READ with more than this. */
const MAX_READ_LENGTH = 256 * 1024;
const READDIR_BATCH = 100;

/** State of one TCP connection, shared by its SFTP sessions (link faults belong to the link). */
export interface ConnectionState {
  /** File data bytes received in WRITE requests on this connection. */
  bytesReceived: number;
  /** Whether stallAfterBytes / dropAfterBytes apply to this connection. */
  linkFaulty: boolean;
  /** Once set, nothing on this connection is answered any more. */
  stalled: boolean;
  /** When the throttle lets the next acknowledgement go (epoch ms). */
  throttledUntil: number;
  /** Destroys the TCP connection. */
  drop(): void;
}

/** State of the whole server, shared by every connection (the disk is shared). */
export interface ServerState {
  bytesWritten: number;
  /** Bytes counted against failWritesAfterBytes, reserved before the write completes. */
  bytesCommitted: number;
  diskFull: boolean;
  /** fsync@openssh.com requests served (files flushed to disk at the client's request). */
  fsyncs: number;
}

export interface SessionContext {
  root: string;
  faults: SftpFaults;
  connection: ConnectionState;
  server: ServerState;
  quirks?: SftpQuirks;
}

type OpenHandle =
  | { kind: 'file'; file: FileHandle }
  | { kind: 'dir'; localPath: string; pending: Promise<string[]> | null };

/** Wires every SFTP request of `sftp` to the local root. Returns when the handlers are in place. */
export function serveSftpSession(sftp: SFTPWrapper, context: SessionContext): void {
  const { root, faults, connection, server } = context;
  const quirks = context.quirks ?? {};
  const offered = extensionsOffered(quirks);
  /** ProFTPD resolves a rename's destination when it is a symlink (to where it points). */
  const renameTarget = async (to: string): Promise<string> => {
    if (!quirks.renameFollowsSymlinks) return to;
    const isLink = await lstat(to).then((s) => s.isSymbolicLink(), () => false);
    return isLink ? realpath(to) : to;
  };
  const handles = new Map<number, OpenHandle>();
  let nextHandle = 1;
  const local = (remotePath: string): string => toLocalPath(root, remotePath);

  // Requests still being worked on or waiting out their latency: the channel closes after them.
  let inFlight = 0;
  let clientFinished = false;
  const settle = (): void => {
    inFlight -= 1;
    if (clientFinished && inFlight === 0) sftp.end();
  };

  /** Sends a reply after the configured latency, unless the connection has stalled meanwhile. */
  const reply = (send: () => void, extraDelayMs = 0): void => {
    if (connection.stalled) return;
    const delay = (faults.latencyMs ?? 0) + extraDelayMs;
    if (delay <= 0) {
      send();
      return;
    }
    inFlight += 1;
    setTimeout(() => {
      if (!connection.stalled) send();
      settle();
    }, delay);
  };
  const ok = (id: number): void => reply(() => sftp.status(id, STATUS_CODE.OK));
  const fail = (id: number, error: unknown): void => {
    const { code, message } = statusOfError(error);
    reply(() => sftp.status(id, code, message));
  };
  const denied = (id: number): void => reply(() => sftp.status(id, STATUS_CODE.PERMISSION_DENIED, 'Permission denied'));
  const noSuchHandle = (id: number): void => reply(() => sftp.status(id, STATUS_CODE.FAILURE, 'Invalid handle'));
  const sendAttrs = (id: number, attrs: SftpAttributes): void => reply(() => sftp.attrs(id, attrs));

  /** Runs a request's work; a thrown fs error becomes its status reply. Ignores requests once stalled. */
  const handle = (id: number, work: () => Promise<void>): void => {
    if (connection.stalled) return;
    inFlight += 1;
    work()
      .catch((error: unknown) => fail(id, error))
      .finally(settle);
  };

  const newHandle = (entry: OpenHandle): Buffer => {
    const number = nextHandle++;
    handles.set(number, entry);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(number);
    return buffer;
  };
  const lookup = (buffer: Buffer): OpenHandle | undefined =>
    buffer.length === 4 ? handles.get(buffer.readUInt32BE(0)) : undefined;

  sftp.on('REALPATH', (id, path) =>
    handle(id, async () => {
      const resolved = normaliseRemotePath(path);
      reply(() => sftp.name(id, [{ filename: resolved, longname: resolved, attrs: {} as Attributes }]));
    }),
  );

  sftp.on('STAT', (id, path) => handle(id, async () => sendAttrs(id, attributesOf(await stat(local(path))))));
  sftp.on('LSTAT', (id, path) =>
    handle(id, async () => {
      const stats = await lstat(local(path));
      // ProFTPD: a live symlink is answered as what it names; a dangling one as a link.
      const answered = quirks.lstatFollowsSymlinks && stats.isSymbolicLink() ? await stat(local(path)).catch(() => stats) : stats;
      sendAttrs(id, attributesOf(answered));
    }),
  );
  sftp.on('FSTAT', (id, buffer) =>
    handle(id, async () => {
      const entry = lookup(buffer);
      if (entry?.kind !== 'file') return noSuchHandle(id);
      sendAttrs(id, attributesOf(await entry.file.stat()));
    }),
  );

  sftp.on('OPEN', (id, path, flags, attrs) =>
    handle(id, async () => {
      const writes = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
      if (writes && faults.readOnly) return denied(id);
      const file = await open(local(path), openFlagsOf(flags), typeof attrs?.mode === 'number' ? attrs.mode & 0o7777 : 0o666);
      const buffer = newHandle({ kind: 'file', file });
      reply(() => sftp.handle(id, buffer));
    }),
  );

  sftp.on('READ', (id, buffer, offset, length) =>
    handle(id, async () => {
      const entry = lookup(buffer);
      if (entry?.kind !== 'file') return noSuchHandle(id);
      const data = Buffer.alloc(Math.min(length, MAX_READ_LENGTH, quirks.maxReadBytes ?? Infinity));
      const { bytesRead } = await entry.file.read(data, 0, data.length, offset);
      if (bytesRead === 0) return reply(() => sftp.status(id, STATUS_CODE.EOF));
      reply(() => sftp.data(id, data.subarray(0, bytesRead)));
    }),
  );

  sftp.on('WRITE', (id, buffer, offset, data) => {
    if (connection.stalled) return;
    connection.bytesReceived += data.length;
    if (connection.linkFaulty && faults.dropAfterBytes !== undefined && connection.bytesReceived > faults.dropAfterBytes) {
      connection.drop();
      return;
    }
    if (connection.linkFaulty && faults.stallAfterBytes !== undefined && connection.bytesReceived > faults.stallAfterBytes) {
      connection.stalled = true;
      return;
    }
    handle(id, async () => {
      const entry = lookup(buffer);
      if (entry?.kind !== 'file') return noSuchHandle(id);
      if (faults.readOnly) return denied(id);
      if (faults.failWritesAfterBytes !== undefined && server.bytesCommitted + data.length > faults.failWritesAfterBytes) {
        server.diskFull = true;
        const message = faults.failWritesMessage ?? 'Failure';
        return reply(() => sftp.status(id, STATUS_CODE.FAILURE, message));
      }
      server.bytesCommitted += data.length;
      await entry.file.write(data, 0, data.length, offset);
      server.bytesWritten += data.length;
      reply(() => sftp.status(id, STATUS_CODE.OK), throttleDelay(data.length));
    });
  });

  /** How long to hold this write's acknowledgement so the connection stays under bytesPerSecond. */
  const throttleDelay = (bytes: number): number => {
    if (!faults.bytesPerSecond) return 0;
    const now = Date.now();
    connection.throttledUntil = Math.max(now, connection.throttledUntil) + (bytes / faults.bytesPerSecond) * 1000;
    return connection.throttledUntil - now;
  };

  sftp.on('CLOSE', (id, buffer) =>
    handle(id, async () => {
      const entry = lookup(buffer);
      if (!entry) return noSuchHandle(id);
      handles.delete(buffer.readUInt32BE(0));
      if (entry.kind === 'file') await entry.file.close();
      ok(id);
    }),
  );

  sftp.on('OPENDIR', (id, path) =>
    handle(id, async () => {
      const localPath = local(path);
      const stats = await stat(localPath);
      if (!stats.isDirectory()) return reply(() => sftp.status(id, STATUS_CODE.NO_SUCH_FILE, 'Not a directory'));
      const buffer = newHandle({ kind: 'dir', localPath, pending: null });
      reply(() => sftp.handle(id, buffer));
    }),
  );

  sftp.on('READDIR', (id, buffer) =>
    handle(id, async () => {
      const entry = lookup(buffer);
      if (entry?.kind !== 'dir') return noSuchHandle(id);
      // One listing per handle, shared by READDIRs that arrive before it is read (clients send several
      // at once): each takes its own batch of it.
      entry.pending ??= readdir(entry.localPath);
      const batch = (await entry.pending).splice(0, READDIR_BATCH);
      if (batch.length === 0) return reply(() => sftp.status(id, STATUS_CODE.EOF));
      const names: FileEntry[] = [];
      for (const name of batch) {
        try {
          const stats = await lstat(`${entry.localPath}/${name}`);
          names.push({ filename: name, longname: longnameOf(name, stats), attrs: attributesOf(stats) as Attributes });
        } catch {
          // removed between readdir and lstat: not listed, as ls would not list it
        }
      }
      reply(() => sftp.name(id, names));
    }),
  );

  sftp.on('SETSTAT', (id, path, attrs) =>
    handle(id, async () => {
      if (faults.readOnly) return denied(id);
      const localPath = local(path);
      await stat(localPath);
      await applyAttributes(localPath, attrs);
      ok(id);
    }),
  );

  sftp.on('FSETSTAT', (id, buffer, attrs) =>
    handle(id, async () => {
      const entry = lookup(buffer);
      if (entry?.kind !== 'file') return noSuchHandle(id);
      if (faults.readOnly) return denied(id);
      if (typeof attrs?.mode === 'number') await entry.file.chmod(attrs.mode & 0o7777);
      if (typeof attrs?.atime === 'number' && typeof attrs?.mtime === 'number') await entry.file.utimes(attrs.atime, attrs.mtime);
      ok(id);
    }),
  );

  sftp.on('MKDIR', (id, path, attrs) =>
    handle(id, async () => {
      if (faults.readOnly) return denied(id);
      await mkdir(local(path), typeof attrs?.mode === 'number' ? attrs.mode & 0o7777 : 0o777);
      ok(id);
    }),
  );

  sftp.on('RMDIR', (id, path) =>
    handle(id, async () => {
      if (faults.readOnly) return denied(id);
      await rmdir(local(path));
      ok(id);
    }),
  );

  sftp.on('REMOVE', (id, path) =>
    handle(id, async () => {
      if (faults.readOnly) return denied(id);
      await unlink(local(path));
      ok(id);
    }),
  );

  // SFTP v3 RENAME never replaces an existing file; OpenSSH does it as link() + unlink() so the
  // check and the move are one step. posix-rename is the replacing one.
  sftp.on('RENAME', (id, oldPath, newPath) =>
    handle(id, async () => {
      if (faults.readOnly) return denied(id);
      const from = local(oldPath);
      const to = await renameTarget(local(newPath));
      const source = await lstat(from);
      if (source.isFile()) {
        await link(from, to);
        await unlink(from);
      } else {
        const exists = await lstat(to).then(
          () => true,
          () => false,
        );
        if (exists) return reply(() => sftp.status(id, STATUS_CODE.FAILURE, 'Failure'));
        await rename(from, to);
      }
      ok(id);
    }),
  );

  sftp.on('EXTENDED', (id, name, data) =>
    handle(id, async () => {
      const args = readSshStrings(data);
      if (!(name in offered)) return reply(() => sftp.status(id, STATUS_CODE.OP_UNSUPPORTED, 'Operation unsupported'));
      switch (name) {
        case 'posix-rename@openssh.com': {
          if (faults.readOnly) return denied(id);
          if (args.length < 2) return reply(() => sftp.status(id, STATUS_CODE.BAD_MESSAGE, 'Bad message'));
          await rename(local(args[0].toString('utf8')), await renameTarget(local(args[1].toString('utf8'))));
          return ok(id);
        }
        case 'hardlink@openssh.com': {
          if (faults.readOnly) return denied(id);
          if (args.length < 2) return reply(() => sftp.status(id, STATUS_CODE.BAD_MESSAGE, 'Bad message'));
          await link(local(args[0].toString('utf8')), local(args[1].toString('utf8')));
          return ok(id);
        }
        case 'statvfs@openssh.com': {
          if (args.length < 1) return reply(() => sftp.status(id, STATUS_CODE.BAD_MESSAGE, 'Bad message'));
          const fs = await statfs(local(args[0].toString('utf8')));
          const body = statvfsReplyBody({
            blockSize: fs.bsize,
            blocks: fs.blocks,
            freeBlocks: server.diskFull ? 0 : fs.bfree,
            availableBlocks: server.diskFull ? 0 : fs.bavail,
            files: fs.files,
            freeFiles: fs.ffree,
            nameMax: 255,
          });
          return reply(() => sendExtendedReply(sftp, id, body));
        }
        case 'fsync@openssh.com': {
          const entry = args.length > 0 ? lookup(args[0]) : undefined;
          if (entry?.kind !== 'file') return noSuchHandle(id);
          await entry.file.sync();
          server.fsyncs += 1;
          return ok(id);
        }
        default:
          return reply(() => sftp.status(id, STATUS_CODE.OP_UNSUPPORTED, 'Operation unsupported'));
      }
    }),
  );

  // OpenSSH's sftp-server reads SYMLINK's strings as (target, link), the reverse of the draft, and
  // every client that talks to it sends them so; ssh2 names them in the draft's order.
  sftp.on('SYMLINK', (id, first, second) =>
    handle(id, async () => {
      if (faults.readOnly) return denied(id);
      if (quirks.noSymlinks) return reply(() => sftp.status(id, STATUS_CODE.OP_UNSUPPORTED, 'Operation unsupported'));
      // The target is stored as written (relative targets resolve from the link's folder).
      await symlink(first, local(second));
      ok(id);
    }),
  );

  sftp.on('READLINK', (id, path) =>
    handle(id, async () => {
      const target = await readlink(local(path));
      const answer = quirks.readlinkJoinsFolder && !target.startsWith('/') ? posix.join(posix.dirname(normaliseRemotePath(path)), target) : target;
      reply(() => sftp.name(id, [{ filename: answer, longname: answer, attrs: {} as Attributes }]));
    }),
  );

  // The client sent EOF: it has no more requests. OpenSSH's client waits for the channel to
  // close before it exits, so close it once the requests already received are answered.
  sftp.once('end', () => {
    clientFinished = true;
    if (inFlight === 0) sftp.end();
  });

  // A client that vanishes leaves its handles open; close them so the files are not held.
  sftp.once('close', () => {
    for (const entry of handles.values()) if (entry.kind === 'file') entry.file.close().catch(() => {});
    handles.clear();
  });
}

/** open(2) flags for SFTP pflags, as OpenSSH's flags_from_portable does. */
function openFlagsOf(pflags: number): number {
  const read = (pflags & OPEN_MODE.READ) !== 0;
  const write = (pflags & OPEN_MODE.WRITE) !== 0;
  let flags = read && write ? fsConstants.O_RDWR : write ? fsConstants.O_WRONLY : fsConstants.O_RDONLY;
  if (pflags & OPEN_MODE.APPEND) flags |= fsConstants.O_APPEND;
  if (pflags & OPEN_MODE.CREAT) flags |= fsConstants.O_CREAT;
  if (pflags & OPEN_MODE.TRUNC) flags |= fsConstants.O_TRUNC;
  if (pflags & OPEN_MODE.EXCL) flags |= fsConstants.O_EXCL;
  return flags;
}

async function applyAttributes(localPath: string, attrs: Partial<Attributes> | undefined): Promise<void> {
  if (typeof attrs?.mode === 'number') await chmod(localPath, attrs.mode & 0o7777);
  if (typeof attrs?.atime === 'number' && typeof attrs?.mtime === 'number') await utimes(localPath, attrs.atime, attrs.mtime);
}

/** The SSH `string` fields of an extended request's data. */
function readSshStrings(data: Buffer | undefined): Buffer[] {
  const strings: Buffer[] = [];
  let offset = 0;
  while (data && offset + 4 <= data.length) {
    const length = data.readUInt32BE(offset);
    offset += 4;
    if (offset + length > data.length) break;
    strings.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return strings;
}
