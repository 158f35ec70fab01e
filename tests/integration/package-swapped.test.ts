// Entries swapped between the scan and the read: the tar.gz writer trusts the scan for the common
// case (no fstat for a small file) and must still refuse, never hang on, what is not a regular file.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import type { SourceListing } from '../../src/package/source-scan.js';
import { writeTarGz } from '../../src/package/write-tar-gz.js';
import { rejectionOf } from '../helpers/rejection.js';

const CUT = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-swapped-'));
  fs.writeFileSync(path.join(work, 'a.json'), '{"a":1}');
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** A listing as the scan gave it, with `swapped` listed as a regular file whatever it is now. */
function listingWith(swapped: string): SourceListing {
  return {
    entries: [
      { relPath: 'a.json', absPath: path.join(work, 'a.json'), type: 'file' },
      { relPath: 'b.json', absPath: swapped, type: 'file' },
    ],
    fileCount: 2,
  };
}

test.each([
  ['a named pipe (no writer: it would block a plain open)', () => {
    const fifo = path.join(work, 'b.json');
    execFileSync('mkfifo', [fifo]);
    return fifo;
  }],
  ['a folder', () => {
    const dir = path.join(work, 'b.json');
    fs.mkdirSync(dir);
    return dir;
  }],
])('a file swapped for %s is refused as no longer a regular file', async (_label, swap) => {
  const swapped = swap();
  const error = await rejectionOf(writeTarGz(listingWith(swapped), CUT, 'IEM', () => {}));
  expect(error.kind).toBe('source');
  expect(error.message).toContain(`${swapped} is no longer a regular file`);
});

test('a file swapped for a symlink is refused as a symlink', async () => {
  const link = path.join(work, 'b.json');
  fs.symlinkSync(path.join(work, 'a.json'), link);
  const error = await rejectionOf(writeTarGz(listingWith(link), CUT, 'IEM', () => {}));
  expect(error.message).toContain(`source contains a symlink: ${link}`);
});

test('an empty file is packaged with size 0', async () => {
  const empty = path.join(work, 'b.json');
  fs.writeFileSync(empty, '');
  const chunks: Buffer[] = [];
  await writeTarGz(listingWith(empty), CUT, 'IEM', (bytes) => chunks.push(bytes));
  const out = path.join(work, 'out.tar.gz');
  fs.writeFileSync(out, Buffer.concat(chunks));
  expect(execFileSync('tar', ['-tvzf', out], { encoding: 'utf8' })).toMatch(/ 0 2024-06-0\d \d\d:\d\d b\.json\n/);
});
