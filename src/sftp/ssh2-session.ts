// The real SftpSession over ssh2: requests as promises, whole files pipelined, OpenSSH extensions
// used where offered (posix-rename, fsync, hardlink, statvfs), a lost connection failing every request.
import { posix } from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';
import { DeliveryError, describeError } from './classify.js';
import { coalesceChannelData } from './coalesce-channel-data.js';
import { FAST_PUT_CHUNK_BYTES, FAST_PUT_CONCURRENCY, callback, inFlight, packageUploadLanes, sharedLocalFile } from './pipelined-io.js';
import { CREATED_FILE_MODE, type RemoteEntry, type RemoteLinkStat, type RemoteStat, type SftpSession } from './session.js';
import { SFTP_EOF, SFTP_NO_SUCH_FILE, isNoSuchFile } from './status-codes.js';

// client.end() waits for the server's reply, which a frozen server never sends.
const POLITE_CLOSE_MS = 1000;

export class Ssh2Session implements SftpSession {
  private closed = false;
  private lastError: Error | undefined;
  private readonly onClose = new Set<(error: Error) => void>();
  private fsyncOffered = true;

  constructor(
    private readonly client: Client,
    private readonly sftp: SFTPWrapper,
  ) {
    // The connect's debug callback only reads the server's KEXINIT (its host key types). Left on, ssh2
    // formats a line for every SFTP request and response and every SSH packet, and the callback runs
    // a regular expression on each: ~40,000 of each for a release of 20,000 linked files.
    (sftp as unknown as { _debug?: unknown })._debug = undefined;
    const protocol = (client as unknown as { _protocol?: { _debug?: unknown } })._protocol;
    if (protocol !== undefined) protocol._debug = undefined;
    client.on('error', (error: Error) => {
      this.lastError = error;
    });
    client.on('close', () => {
      this.closed = true;
      const detail = this.lastError ? `: ${describeError(this.lastError)}` : '';
      const lost = Object.assign(new Error(`connection closed by the server or the network${detail}`), {
        code: 'ECONNRESET',
      });
      for (const reject of this.onClose) reject(lost);
      this.onClose.clear();
    });
    sftp.on('error', (error: Error) => {
      this.lastError = error;
    });
  }

  /**
   * Settles `run` with the connection: when the socket dies, ssh2 fails requests already sent but
   * not one issued afterwards (fastPut closes its handles on a dead channel and never calls back).
   */
  private guard<T>(run: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(Object.assign(new Error('connection already closed'), { code: 'ECONNRESET' }));
    }
    return new Promise<T>((resolve, reject) => {
      const onLost = (error: Error): void => reject(error);
      this.onClose.add(onLost);
      run().then(
        (value) => {
          this.onClose.delete(onLost);
          resolve(value);
        },
        (error: unknown) => {
          this.onClose.delete(onLost);
          reject(error);
        },
      );
    });
  }

  get alive(): boolean {
    return !this.closed;
  }

  private async statOrNull(path: string): Promise<RemoteStat | null> {
    try {
      return await this.stat(path);
    } catch (error) {
      if ((error as { code?: unknown }).code === SFTP_NO_SUCH_FILE) return null;
      throw error;
    }
  }

  async mkdirp(dir: string): Promise<void> {
    const existing = await this.statOrNull(dir);
    if (existing) {
      if (!existing.isDirectory) throw new DeliveryError('SFTP_ERROR', `${dir} exists and is not a directory`);
      return;
    }
    const parent = posix.dirname(dir);
    if (parent !== dir) await this.mkdirp(parent);
    try {
      await this.guard(() => callback((done) => this.sftp.mkdir(dir, done)));
    } catch (error) {
      // Someone else (another run, the difusor) may have made it meanwhile.
      if ((await this.statOrNull(dir))?.isDirectory) return;
      throw error;
    }
  }

  async readdir(dir: string): Promise<RemoteEntry[]> {
    const list = await this.guard(() => this.readWholeFolder(dir));
    return list.map((entry) => ({ name: entry.filename, size: entry.attrs.size, mtime: entry.attrs.mtime, kind: kindOf(entry.attrs) }));
  }

  /**
   * OPENDIR, then READDIRs two at a time until one meets the end, then CLOSE without waiting for its
   * answer. ssh2's own readdir waits for each READDIR and for the CLOSE: 4 round trips for a PREP
   * sección folder of a few files, 2 here (a walk of a 5,000-folder release over a 50 ms link spent
   * ~7 s, docs/benchmarks.md 10a). A server answers the requests on one handle in order.
   */
  private async readWholeFolder(dir: string): Promise<Array<{ filename: string; attrs: EntryAttrs }>> {
    const handle = await callback<Buffer>((done) => this.sftp.opendir(dir, done));
    const readOnce = (): Promise<Array<{ filename: string; attrs: EntryAttrs }> | null> =>
      new Promise((resolve, reject) => {
        this.sftp.readdir(handle, (error: unknown, list: Array<{ filename: string; attrs: EntryAttrs }>) => {
          if ((error as { code?: unknown } | undefined)?.code === SFTP_EOF) resolve(null);
          else if (error) reject(error);
          else resolve(list);
        });
      });
    // By name: a server that ran the two READDIRs at once and answered one entry twice lists it once.
    const entries = new Map<string, { filename: string; attrs: EntryAttrs }>();
    try {
      for (;;) {
        const pair = await Promise.all([readOnce(), readOnce()]);
        for (const list of pair) for (const entry of list ?? []) entries.set(entry.filename, entry);
        if (pair.includes(null)) return [...entries.values()];
      }
    } finally {
      // Its answer changes nothing we do: a handle the server fails to close is its own to free (and
      // on a channel already gone ssh2 may throw instead of calling back).
      try {
        this.sftp.close(handle, () => undefined);
      } catch {
        // the connection's own failure is what the caller hears about
      }
    }
  }

  async stat(path: string): Promise<RemoteStat> {
    const stats = await this.guard(() =>
      callback<{ size: number; isDirectory(): boolean }>((done) => this.sftp.stat(path, done)),
    );
    return { size: stats.size, isDirectory: stats.isDirectory() };
  }

  fastPut(localFile: string, remotePath: string, onProgress?: (bytesSoFar: number) => void): Promise<void> {
    return this.guard(async () => {
      const shared = await sharedLocalFile(localFile);
      if (shared !== null) {
        return this.withHandle(remotePath, 'w', async (handle) => {
          // The lane ends with the last write, before the close and the server's flush to disk.
          const lane = packageUploadLanes.start(shared.length);
          try {
            const progress = (acknowledged: number): void => {
              lane.progress(acknowledged);
              onProgress?.(acknowledged);
            };
            await this.writeChunks(handle, shared, progress, lane.depth);
          } finally {
            lane.close();
          }
        });
      }
      return this.fastPutFromDisk(localFile, remotePath, onProgress);
    });
  }

  private fastPutFromDisk(localFile: string, remotePath: string, onProgress?: (bytesSoFar: number) => void): Promise<void> {
    const options = {
      concurrency: FAST_PUT_CONCURRENCY,
      chunkSize: FAST_PUT_CHUNK_BYTES,
      mode: CREATED_FILE_MODE,
      step: onProgress ? (total: number) => onProgress(total) : undefined,
    };
    return callback((done) => this.sftp.fastPut(localFile, remotePath, options, done));
  }

  writeFile(remotePath: string, data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length <= this.chunkBytes('write')) {
      return this.guard(() => callback((done) => this.sftp.writeFile(remotePath, bytes, { mode: CREATED_FILE_MODE }, done)));
    }
    return this.guard(() => this.withHandle(remotePath, 'w', (handle) => this.writeChunks(handle, bytes)));
  }

  async readSmallFile(remotePath: string, maxBytes: number): Promise<string | null> {
    let link: RemoteLinkStat;
    try {
      link = await this.lstat(remotePath);
    } catch (error) {
      if (isNoSuchFile(error)) return null;
      throw error;
    }
    checkReadable(remotePath, link, maxBytes);
    // The file may be swapped between the lstat and the open (and ProFTPD's LSTAT follows links):
    // what was opened is checked again, and the read itself stops past maxBytes.
    const data = await this.guard(() =>
      this.withHandle(remotePath, 'r', async (handle) => {
        const opened = await callback<{ size: number; isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }>((done) =>
          this.sftp.fstat(handle, done),
        );
        checkReadable(remotePath, { size: opened.size, isFile: opened.isFile(), isDirectory: opened.isDirectory(), isSymlink: opened.isSymbolicLink() }, maxBytes);
        return this.readChunks(handle, opened.size, maxBytes + 1);
      }),
    );
    if (data.length > maxBytes) checkReadable(remotePath, { ...link, size: data.length }, maxBytes);
    return data.toString('utf8');
  }

  /**
   * The most one read or write request carries (the server's limits@openssh.com, else ssh2's 32 KiB
   * default). ssh2 splits a longer request into parts sent one after another, a round trip each:
   * a 3 MB MANIFEST.json took ~14 round trips, 0.3-0.5 s behind a busy server.
   */
  private chunkBytes(kind: 'read' | 'write'): number {
    const limits = this.sftp as unknown as { _maxReadLen?: number; _maxWriteLen?: number };
    const limit = kind === 'read' ? limits._maxReadLen : limits._maxWriteLen;
    return Math.min(FAST_PUT_CHUNK_BYTES, typeof limit === 'number' && limit > 0 ? limit : 32768);
  }

  /** Opens `path`, runs `use` on the handle and closes it whatever happened (a close error counts only after success). */
  private async withHandle<T>(path: string, flags: 'r' | 'w', use: (handle: Buffer) => Promise<T>): Promise<T> {
    const handle = await callback<Buffer>((done) => this.sftp.open(path, flags, { mode: CREATED_FILE_MODE }, done));
    let result: T;
    try {
      result = await use(handle);
    } catch (error) {
      await callback((done) => this.sftp.close(handle, done)).catch(() => undefined);
      throw error;
    }
    await callback((done) => this.sftp.close(handle, done));
    return result;
  }

  /**
   * Writes all of `data`, `depth` requests in flight (FAST_PUT_CONCURRENCY unless a lane says
   * otherwise); `onProgress` gets the bytes the server acknowledged.
   */
  private writeChunks(handle: Buffer, data: Buffer, onProgress?: (bytesSoFar: number) => void, depth: number | (() => number) = FAST_PUT_CONCURRENCY): Promise<void> {
    const chunk = this.chunkBytes('write');
    const offsets = Array.from({ length: Math.ceil(data.length / chunk) }, (_, i) => i * chunk);
    let acknowledged = 0;
    return inFlight(offsets, depth, async (offset) => {
      const length = Math.min(chunk, data.length - offset);
      await callback((done) => this.sftp.write(handle, data, offset, length, offset, done));
      acknowledged += length;
      onProgress?.(acknowledged);
    });
  }

  /**
   * Reads the file whose size was `size` when stat'ed, FAST_PUT_CONCURRENCY requests in flight, then
   * on until the server says end of file (a short read or a file that grew is read to its end).
   */
  private async readChunks(handle: Buffer, size: number, limit = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
    const chunk = this.chunkBytes('read');
    const parts: Buffer[] = [];
    const readAt = (position: number, length: number): Promise<Buffer> =>
      new Promise<Buffer>((resolve, reject) => {
        const buffer = Buffer.allocUnsafe(length);
        try {
          this.sftp.read(handle, buffer, 0, length, position, (error: Error | null | undefined, bytesRead: number) => {
            // End of file: ssh2 answers 0 bytes read, or an error with SFTP's EOF code (1) on some paths.
            if (error && (error as { code?: unknown }).code !== 1) reject(error);
            else resolve(buffer.subarray(0, error ? 0 : bytesRead));
          });
        } catch (error) {
          reject(error);
        }
      });
    size = Math.min(size, limit);
    const offsets = Array.from({ length: Math.ceil(size / chunk) }, (_, i) => i * chunk);
    const planned: Buffer[] = new Array<Buffer>(offsets.length);
    await inFlight(offsets, FAST_PUT_CONCURRENCY, async (offset) => {
      planned[offset / chunk] = await readAt(offset, Math.min(chunk, size - offset));
    });
    // Keep whole parts in order up to the first short one; read on from there one request at a time.
    let position = 0;
    for (const part of planned) {
      parts.push(part);
      position += part.length;
      if (part.length < Math.min(chunk, size - (position - part.length))) break;
    }
    while (position < limit) {
      const more = await readAt(position, Math.min(chunk, limit - position));
      if (more.length === 0) break;
      parts.push(more);
      position += more.length;
    }
    return Buffer.concat(parts, position);
  }

  async posixRename(from: string, to: string): Promise<void> {
    try {
      await this.guard(() => callback((done) => this.sftp.ext_openssh_rename(from, to, done)));
      return;
    } catch (error) {
      if (!/does not support/i.test((error as Error).message)) throw error;
    }
    // The server lacks posix-rename@openssh.com, and a plain SFTP v3 rename refuses to replace an
    // existing file. Remove-then-rename leaves a short window without the final file (never a
    // partial one), the best a v3-only server allows.
    try {
      await this.unlink(to);
    } catch (error) {
      if ((error as { code?: unknown }).code !== SFTP_NO_SUCH_FILE) throw error;
    }
    await this.guard(() => callback((done) => this.sftp.rename(from, to, done)));
  }

  async flushToDisk(path: string): Promise<boolean> {
    if (!this.fsyncOffered) return false;
    const handle = await this.guard(() => callback<Buffer>((done) => this.sftp.open(path, 'r', done)));
    try {
      await this.guard(() => callback((done) => this.sftp.ext_openssh_fsync(handle, done)));
      return true;
    } catch (error) {
      // ssh2 refuses synchronously when the server's VERSION did not list the extension.
      if (!/does not support/i.test((error as Error).message)) throw error;
      this.fsyncOffered = false;
      return false;
    } finally {
      await this.guard(() => callback((done) => this.sftp.close(handle, done))).catch(() => {});
    }
  }

  unlink(path: string): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.unlink(path, done)));
  }

  async freeBytes(dir: string): Promise<number | undefined> {
    try {
      const info = await this.guard(() =>
        callback<{ f_frsize: number; f_bavail: number }>((done) => this.sftp.ext_openssh_statvfs(dir, done)),
      );
      return Number(info.f_bavail) * Number(info.f_frsize);
    } catch {
      return undefined;
    }
  }

  extensions(): Readonly<Record<string, string>> {
    // ssh2 keeps the VERSION packet's extension list here; it has no public accessor.
    return { ...((this.sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {}) };
  }

  mkdir(dir: string, mode?: number): Promise<void> {
    return this.guard(() =>
      callback((done) => (mode === undefined ? this.sftp.mkdir(dir, done) : this.sftp.mkdir(dir, { mode }, done))),
    );
  }

  rmdir(dir: string): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.rmdir(dir, done)));
  }

  async lstat(path: string): Promise<RemoteLinkStat> {
    const stats = await this.guard(() =>
      callback<{ size: number; mode: number; isDirectory(): boolean; isSymbolicLink(): boolean; isFile(): boolean }>(
        (done) => this.sftp.lstat(path, done),
      ),
    );
    return {
      size: stats.size,
      isDirectory: stats.isDirectory(),
      isSymlink: stats.isSymbolicLink(),
      isFile: stats.isFile(),
      permissions: stats.mode & 0o7777,
    };
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.chmod(path, mode, done)));
  }

  hardlink(existingPath: string, newPath: string): Promise<void> {
    return this.guard(() => callback((done) => this.sftp.ext_openssh_hardlink(existingPath, newPath, done)));
  }

  hardlinkMany(count: number, pairAt: (index: number) => readonly [string, string], inFlight: number): Promise<number[]> {
    return this.guard(
      () =>
        new Promise<number[]>((resolve, reject) => {
          const refused: number[] = [];
          let next = 0;
          let done = 0;
          let failed = false;
          const issue = (index: number): void => {
            const [existingPath, newPath] = pairAt(index);
            this.sftp.ext_openssh_hardlink(existingPath, newPath, (error?: Error | null) => {
              if (failed) return;
              if (error) {
                // A status from the server refuses this one link; anything else ends the batch.
                if (typeof (error as { code?: unknown }).code !== 'number') {
                  failed = true;
                  reject(error);
                  return;
                }
                refused.push(index);
              }
              done += 1;
              if (next < count) {
                if (this.closed) {
                  failed = true;
                  reject(Object.assign(new Error('connection closed while linking'), { code: 'ECONNRESET' }));
                  return;
                }
                issue(next++);
              } else if (done === count) {
                resolve(refused.sort((a, b) => a - b));
              }
            });
          };
          try {
            while (next < count && next < inFlight) issue(next++);
            if (count === 0) resolve([]);
          } catch (error) {
            // ssh2 throws synchronously when the server did not advertise the extension.
            failed = true;
            reject(error);
          }
        }),
    );
  }

  symlink(target: string, linkPath: string): Promise<void> {
    // ssh2 writes (target, link) on the wire only when the banner says OpenSSH, else (link, target);
    // swapping our arguments for the others puts OpenSSH's order on the wire for every server.
    const openSshBanner = (this.sftp as unknown as { _isOpenSSH?: boolean })._isOpenSSH === true;
    return this.guard(() =>
      callback((done) =>
        openSshBanner ? this.sftp.symlink(target, linkPath, done) : this.sftp.symlink(linkPath, target, done),
      ),
    );
  }

  readlink(path: string): Promise<string> {
    return this.guard(() => callback<string>((done) => this.sftp.readlink(path, done)));
  }

  private coalescer: { restore(): void } | undefined;

  coalesceRequests(on: boolean): void {
    if (on && this.coalescer === undefined) this.coalescer = coalesceChannelData(this.sftp);
    if (!on && this.coalescer !== undefined) {
      this.coalescer.restore();
      this.coalescer = undefined;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, POLITE_CLOSE_MS);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.client.end();
    });
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** Refuses what prep-push never reads from a difusor: anything but a regular file of at most maxBytes. */
function checkReadable(path: string, stat: { size: number; isFile: boolean; isDirectory: boolean; isSymlink: boolean }, maxBytes: number): void {
  if (!stat.isFile) {
    const what = stat.isSymlink ? 'a symlink' : stat.isDirectory ? 'a folder' : 'not a regular file (a device, FIFO or socket)';
    throw new DeliveryError('VERIFY_FAILED', `${path} is ${what}; prep-push reads only regular files from a difusor`, {
      hint: `someone with access to the difusor's account replaced it: remove ${path} (the next delivery writes what prep-push needs afresh) and find out who changed it`,
    });
  }
  if (stat.size > maxBytes) {
    throw new DeliveryError('VERIFY_FAILED', `${path} holds more than ${maxBytes} bytes, more than prep-push ever writes there; it was not read`, {
      hint: `remove ${path} (the next delivery writes what prep-push needs afresh) and find out who changed it`,
    });
  }
}

interface EntryAttrs {
  size: number;
  mtime: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

function kindOf(attrs: EntryAttrs): RemoteEntry['kind'] {
  if (attrs.isSymbolicLink()) return 'symlink';
  if (attrs.isDirectory()) return 'folder';
  return attrs.isFile() ? 'file' : 'other';
}
