// How files enter the package store: written under a temporary name in the store folder, fsynced,
// then renamed into place, so a reader (or a push started by another run) never sees half a file.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PrepPushError } from '../core/errors.js';

export function storeIoError(action: string, file: string, error: unknown): PrepPushError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new PrepPushError('io', `cannot ${action} ${file} (${reason})`, {
    hint:
      code === 'ENOSPC'
        ? 'free space on the disk that holds the state dir'
        : 'check that the state dir exists, is writable and that its disk has space',
    cause: error,
  });
}

function tempNameFor(dir: string, finalName: string): string {
  return path.join(dir, `.${finalName}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Creates the store folder (and missing parents); returns the top folder it created, if any. */
export function ensureStoreDir(storeDir: string): string | undefined {
  try {
    return fs.mkdirSync(storeDir, { recursive: true });
  } catch (error) {
    throw storeIoError('create the package store', storeDir, error);
  }
}

/** Undoes `ensureStoreDir` after a refused build: removes the folders it created, if still empty. */
export function removeCreatedStoreDir(storeDir: string, created: string | undefined): void {
  if (created === undefined) return;
  for (let dir = storeDir; ; dir = path.dirname(dir)) {
    try {
      fs.rmdirSync(dir);
    } catch {
      return; // not empty, or already gone: leave it
    }
    if (dir === created || path.dirname(dir) === dir) return;
  }
}

// Makes the renames themselves durable; some filesystems refuse to fsync a folder, which is harmless.
function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * An archive being written into the store: every byte is hashed as it is written, so the SHA-256
 * is known the moment the last byte lands, without reading the archive back.
 */
export class PendingStoreFile {
  readonly finalPath: string;
  readonly tempPath: string;
  private fd: number | undefined;
  private readonly hash: Hash = createHash('sha256');
  private written = 0;
  private sha256: string | undefined;

  constructor(storeDir: string, fileName: string) {
    this.finalPath = path.join(storeDir, fileName);
    this.tempPath = tempNameFor(storeDir, fileName);
    try {
      this.fd = fs.openSync(this.tempPath, 'wx', 0o644);
    } catch (error) {
      throw storeIoError('write', this.tempPath, error);
    }
  }

  get bytes(): number {
    return this.written;
  }

  write(data: Buffer): void {
    let offset = 0;
    try {
      while (offset < data.length) {
        offset += fs.writeSync(this.fd as number, data, offset, data.length - offset);
      }
    } catch (error) {
      throw storeIoError('write', this.tempPath, error);
    }
    this.hash.update(data);
    this.written += data.length;
  }

  /** The hex SHA-256 of everything written; nothing more may be written after it. */
  finish(): string {
    this.sha256 ??= this.hash.digest('hex');
    return this.sha256;
  }

  /** fsyncs, closes and renames into place; returns the hex SHA-256 of what was written. */
  commit(): string {
    const sha256 = this.finish();
    const fd = this.fd as number;
    try {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      this.fd = undefined;
      fs.renameSync(this.tempPath, this.finalPath);
    } catch (error) {
      throw storeIoError('store', this.finalPath, error);
    }
    return sha256;
  }

  /** Removes the temporary file; safe to call after any failure, and more than once. */
  discard(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already unusable; the unlink below is what matters
      }
      this.fd = undefined;
    }
    fs.rmSync(this.tempPath, { force: true });
  }
}

/** Writes a small file into the store atomically (temp name, fsync, rename). */
export function writeStoreFileAtomically(storeDir: string, fileName: string, content: string | Buffer): string {
  const pending = new PendingStoreFile(storeDir, fileName);
  try {
    pending.write(typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    pending.commit();
  } catch (error) {
    pending.discard();
    throw error;
  }
  return pending.finalPath;
}

export function syncStoreDir(storeDir: string): void {
  syncFolder(storeDir);
}
