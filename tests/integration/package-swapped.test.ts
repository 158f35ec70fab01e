// Entries swapped after the source is listed and before they are read (the walk's `afterListing`
// seam makes the race deterministic): the package holds only files that lie inside --source when
// read. A folder or file swapped for a symlink is refused (a source error: exit 2), never followed;
// what is no longer a regular file is refused, and never hangs the build.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import { SourceWalk } from '../../src/package/source-walk.js';
import { writeTarGz } from '../../src/package/write-tar-gz.js';
import { writeZip } from '../../src/package/write-zip.js';
import { rejectionOf } from '../helpers/rejection.js';

const CUT = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
const SECRET = 'SECRETO-fuera-de-la-fuente';

let work: string;
let source: string;
let outside: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-swapped-'));
  source = path.join(work, 'site');
  outside = path.join(work, 'outside');
  fs.mkdirSync(path.join(source, 'casillas', 'S0001'), { recursive: true });
  fs.writeFileSync(path.join(source, 'a.json'), '{"a":1}');
  fs.writeFileSync(path.join(source, 'casillas', 'S0001', 'B.json'), '{"casilla":"B"}');
  // What a swap would make the build read instead: the same names, outside the source.
  fs.mkdirSync(path.join(outside, 'S0001'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'S0001', 'B.json'), SECRET);
  fs.writeFileSync(path.join(outside, 'b.json'), SECRET);
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Once the folder `when` has been listed, replaces `entry` (a path inside the source) using `swap`. */
function swapAfterListing(when: string, entry: string, swap: (abs: string) => void): (relDir: string) => void {
  let done = false;
  return (relDir) => {
    if (relDir !== when || done) return;
    done = true;
    swap(path.join(source, entry));
  };
}

/** A folder or file replaced by a symlink to its twin outside the source, as renameat2(RENAME_EXCHANGE) would. */
const toSymlink = (target: string) => (abs: string) => {
  fs.renameSync(abs, `${abs}.moved`);
  fs.symlinkSync(target, abs);
};

async function archiveOf(format: 'tar.gz' | 'zip', afterListing: (relDir: string) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const walk = new SourceWalk(source, { afterListing });
  const write = (bytes: Buffer) => chunks.push(bytes);
  await (format === 'zip' ? writeZip(walk, CUT, 'IEM', write) : writeTarGz(walk, CUT, 'IEM', write));
  return Buffer.concat(chunks);
}

describe.each(['tar.gz', 'zip'] as const)('%s', (format) => {
  test('a folder swapped for a symlink to a folder outside, after its parent was listed, is refused and never read', async () => {
    const chunks: Buffer[] = [];
    const walk = new SourceWalk(source, { afterListing: swapAfterListing('casillas', 'casillas/S0001', toSymlink(path.join(outside, 'S0001'))) });
    const write = (bytes: Buffer) => chunks.push(bytes);
    const error = await rejectionOf(format === 'zip' ? writeZip(walk, CUT, 'IEM', write) : writeTarGz(walk, CUT, 'IEM', write));
    expect([error.kind, error.message]).toEqual(['source', `source contains a symlink: ${path.join(source, 'casillas', 'S0001')}`]);
    expect(error.hint).toContain('do not change the source folder');
    expect(Buffer.concat(chunks).includes(SECRET)).toBe(false);
  });

  test('a file swapped for a symlink after its folder was listed is refused as a symlink', async () => {
    fs.writeFileSync(path.join(source, 'b.json'), '{"b":1}');
    const error = await rejectionOf(archiveOf(format, swapAfterListing('', 'b.json', toSymlink(path.join(outside, 'b.json')))));
    expect(error.message).toBe(`source contains a symlink: ${path.join(source, 'b.json')}`);
  });

  test.each([
    ['a named pipe (no writer: a plain open would block)', (abs: string) => {
      fs.rmSync(abs);
      execFileSync('mkfifo', [abs]);
    }],
    ['a folder', (abs: string) => {
      fs.rmSync(abs);
      fs.mkdirSync(abs);
    }],
  ])('a file swapped for %s is refused as no longer a regular file', async (_label, swap) => {
    fs.writeFileSync(path.join(source, 'b.json'), '{"b":1}');
    const error = await rejectionOf(archiveOf(format, swapAfterListing('', 'b.json', swap)));
    expect([error.kind, error.message]).toEqual(['source', `source entry ${path.join(source, 'b.json')} is no longer a regular file`]);
  });

  test('a folder swapped for a file is refused as no longer a folder', async () => {
    const error = await rejectionOf(
      archiveOf(format, swapAfterListing('casillas', 'casillas/S0001', (abs) => {
        fs.rmSync(abs, { recursive: true });
        fs.writeFileSync(abs, 'x');
      })),
    );
    expect(error.message).toBe(`source entry ${path.join(source, 'casillas', 'S0001')} is no longer a folder`);
  });
});

test('a folder swapped for a symlink once it is being read is not followed: its own files are packaged, never the twin outside', async () => {
  // casillas/S0001 is open when it is listed: the swap comes too late to redirect the reads.
  const archive = await archiveOf('tar.gz', swapAfterListing('casillas/S0001', 'casillas/S0001', toSymlink(path.join(outside, 'S0001'))));
  const file = path.join(work, 'out.tar.gz');
  fs.writeFileSync(file, archive);
  expect(execFileSync('tar', ['-xzOf', file, 'casillas/S0001/B.json'], { encoding: 'utf8' })).toBe('{"casilla":"B"}');
  expect(execFileSync('gzip', ['-dc', file]).includes(SECRET)).toBe(false);
});

test('through buildPackage: a swapped folder is a source error (exit 2) and the store keeps no package', async () => {
  const storeDir = path.join(work, 'store');
  const error = await rejectionOf(
    buildPackage({
      sourceDir: source,
      cut: CUT,
      institute: 'IEM',
      nameTemplate: 'PREP_{cut}',
      format: 'tar.gz',
      storeDir,
      afterListing: swapAfterListing('casillas', 'casillas/S0001', toSymlink(path.join(outside, 'S0001'))),
    }),
  );
  expect([error.kind, error.exitCode]).toEqual(['source', 2]);
  expect(fs.existsSync(storeDir)).toBe(false);
});

test('an empty file is packaged with size 0', async () => {
  fs.writeFileSync(path.join(source, 'b.json'), '');
  const out = path.join(work, 'out.tar.gz');
  fs.writeFileSync(out, await archiveOf('tar.gz', () => {}));
  expect(execFileSync('tar', ['-tvzf', out], { encoding: 'utf8' })).toMatch(/ 0 2024-06-0\d \d\d:\d\d b\.json\n/);
});

test('descriptors are all closed after a walk, a refused one included', async () => {
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const before = fds();
  await archiveOf('tar.gz', () => {});
  await rejectionOf(archiveOf('tar.gz', swapAfterListing('casillas', 'casillas/S0001', toSymlink(path.join(outside, 'S0001')))));
  expect(fds()).toBe(before);
});
