// Reads back a stored tar.gz package into a folder (ustar + PAX path/size, the entries the builder
// writes), so a cut can be published as a site long after its source folder changed.
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
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
 */
export async function extractTarGz(archive: string, targetDir: string): Promise<void> {
  await mkdir(targetDir, { recursive: true });
  let pending: Buffer = Buffer.alloc(0);
  let pax: Record<string, string> = {};
  // What the current entry still needs: header, data (to a file or to PAX), then padding.
  let state: { kind: 'header' } | { kind: 'data'; left: number; pad: number; file?: FileHandle; pax?: Buffer[] } = {
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
            await mkdir(join(targetDir, safeRelative(archive, name)), { recursive: true, mode: 0o755 });
            state = { kind: 'data', left: 0, pad: 0 };
          } else if (type === '0') {
            const path = join(targetDir, safeRelative(archive, name));
            await mkdir(dirname(path), { recursive: true, mode: 0o755 });
            const file = await open(path, 'w', 0o644);
            state = { kind: 'data', left: size, pad, file };
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
          if (state.file) await state.file.write(take);
          else state.pax?.push(Buffer.from(take));
          continue;
        }
        if (pending.length < state.pad) break;
        pending = pending.subarray(state.pad);
        if (state.file) await state.file.close();
        if (state.pax) pax = parsePax(Buffer.concat(state.pax));
        state = { kind: 'header' };
      }
    }
  } catch (error) {
    if (state.kind === 'data') await state.file?.close().catch(() => {});
    if (error instanceof PrepPushError) throw error;
    throw corrupt(archive, `cannot be read: ${(error as Error).message}`);
  }
  if (!ended) throw corrupt(archive, 'ends before the end of the tar archive');
}
