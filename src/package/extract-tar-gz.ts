// Reads back a stored tar.gz package into a folder (ustar + PAX path/size, the entries the builder
// writes), so a cut can be published as a site long after its source folder changed.
import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { PrepPushError } from '../core/errors.js';
import { TAR_BLOCK, tarPadding } from './tar-format.js';

function corrupt(archive: string, problem: string): PrepPushError {
  return new PrepPushError('io', `package ${archive}: ${problem}`, {
    hint: 'rebuild the cut with `prep-push build --source DIR --cut TIME` (it replaces the stored package)',
  });
}

function readString(block: Buffer, offset: number, width: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + width ? offset + width : end);
}

function readOctal(block: Buffer, offset: number, width: number): number {
  const text = readString(block, offset, width).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = parseInt(data.toString('ascii', at, space), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** A path from the archive, refused when it would leave the target folder. */
function safeRelative(archive: string, path: string): string {
  const clean = path.replace(/\/+$/, '');
  if (clean === '' || clean.startsWith('/') || clean.split('/').some((s) => s === '..' || s === '')) {
    throw corrupt(archive, `entry "${path}" would leave the extraction folder`);
  }
  return clean;
}

/**
 * Extracts `archive` into `targetDir` (created; must not hold other files). Files get 0644,
 * folders 0755. Rejects with a PrepPushError('io') for a damaged archive or a local I/O error.
 *
 * The file system calls are synchronous: one awaited promise per mkdir, open, write and close (each
 * a trip through the thread pool) made a 20,000-file site take 4.3 s against GNU tar's 0.6 s (now
 * 0.65 s). The event loop still turns between the decompressed chunks (64 KiB, a few dozen small
 * files, ~1-2 ms each), so signals and timers wait no longer than that; and a run extracts its site
 * before any delivery starts.
 */
export async function extractTarGz(archive: string, targetDir: string): Promise<void> {
  mkdirSync(targetDir, { recursive: true });
  const made = new Set<string>([targetDir]);
  const folder = (dir: string): void => {
    if (made.has(dir)) return;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    made.add(dir);
  };
  let pending: Buffer = Buffer.alloc(0);
  let pax: Record<string, string> = {};
  // What the current entry still needs: header, data (to a file or to PAX), then padding.
  let state: { kind: 'header' } | { kind: 'data'; left: number; pad: number; fd?: number; pax?: Buffer[] } = {
    kind: 'header',
  };
  let ended = false;

  const stream = createReadStream(archive).pipe(createGunzip());
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (ended) break;
        if (state.kind === 'header') {
          if (pending.length < TAR_BLOCK) break;
          const block = pending.subarray(0, TAR_BLOCK);
          pending = pending.subarray(TAR_BLOCK);
          if (block.every((b) => b === 0)) {
            ended = true;
            break;
          }
          const type = String.fromCharCode(block[156] || 0x30);
          const size = pax.size !== undefined ? Number(pax.size) : readOctal(block, 124, 12);
          const prefix = readString(block, 345, 155);
          const name = pax.path ?? (prefix ? `${prefix}/${readString(block, 0, 100)}` : readString(block, 0, 100));
          const pad = tarPadding(size);
          if (type === 'x') {
            state = { kind: 'data', left: size, pad, pax: [] };
            continue;
          }
          pax = {};
          if (type === '5') {
            folder(join(targetDir, safeRelative(archive, name)));
            state = { kind: 'data', left: 0, pad: 0 };
          } else if (type === '0') {
            const path = join(targetDir, safeRelative(archive, name));
            folder(dirname(path));
            state = { kind: 'data', left: size, pad, fd: openSync(path, 'w', 0o644) };
          } else {
            throw corrupt(archive, `entry "${name}" has type ${type}, which packages never hold`);
          }
          continue;
        }
        // data
        if (state.left > 0) {
          if (pending.length === 0) break;
          const take = pending.subarray(0, Math.min(state.left, pending.length));
          pending = pending.subarray(take.length);
          state.left -= take.length;
          if (state.fd !== undefined) writeAll(state.fd, take);
          else state.pax?.push(Buffer.from(take));
          continue;
        }
        if (pending.length < state.pad) break;
        pending = pending.subarray(state.pad);
        const finished = state;
        // The entry is done before its file is closed: a failure from here on never closes it twice.
        state = { kind: 'header' };
        if (finished.fd !== undefined) closeSync(finished.fd);
        if (finished.pax) pax = parsePax(Buffer.concat(finished.pax));
      }
    }
  } catch (error) {
    if (state.kind === 'data' && state.fd !== undefined) {
      try {
        closeSync(state.fd);
      } catch {
        // already closed or never usable: the error below is the one to report
      }
    }
    if (error instanceof PrepPushError) throw error;
    throw corrupt(archive, `cannot be read: ${(error as Error).message}`);
  }
  if (!ended) throw corrupt(archive, 'ends before the end of the tar archive');
}

/** writeSync until every byte is written (a regular file takes them all at once; this does not assume it). */
function writeAll(fd: number, data: Buffer): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}
