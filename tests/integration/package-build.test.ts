// The package builder against the real tools a difusor uses: GNU tar, gzip, sha256sum, unzip.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSyntheticSite } from '../../bench/synthetic-site.js';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage, type BuildPackageInput } from '../../src/package/build-package.js';
import type { PackageFormat } from '../../src/registry/types.js';
import { rejectionOf } from '../helpers/rejection.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/prep-site');
const CUT = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
const LONG_PATH =
  'resultados/diputaciones_locales/distrito_01_morelia_noroeste/casillas_basicas_y_contiguas/detalle_casilla_1001_basica.json';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-package-'));
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function input(overrides: Partial<BuildPackageInput> = {}): BuildPackageInput {
  return {
    sourceDir: FIXTURE,
    cut: CUT,
    institute: 'IEM',
    nameTemplate: 'PREP2024_MICH_{cut}',
    format: 'tar.gz',
    storeDir: path.join(work, 'store'),
    ...overrides,
  };
}

function run(command: string, args: string[], cwd?: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
}

/** Every regular file under dir, relative POSIX path → bytes. */
function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (rel: string) => {
    for (const dirent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${dirent.name}` : dirent.name;
      if (dirent.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(dir, child)));
    }
  };
  walk('');
  return files;
}

function expectSameTree(extracted: string, source: string): void {
  const got = readTree(extracted);
  const want = readTree(source);
  expect(got.has('MANIFEST.json')).toBe(true);
  got.delete('MANIFEST.json');
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [rel, bytes] of want) expect(Buffer.compare(got.get(rel) as Buffer, bytes)).toBe(0);
}

function expectManifestMatches(extracted: string, source: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(extracted, 'MANIFEST.json'), 'utf8'));
  expect(manifest.cut).toEqual({ id: CUT.id, time: CUT.time });
  expect(manifest.institute).toBe('IEM');
  const want = readTree(source);
  expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([...want.keys()].sort());
  for (const f of manifest.files as { path: string; size: number; sha256: string }[]) {
    const bytes = want.get(f.path) as Buffer;
    expect(f.size).toBe(bytes.length);
    expect(f.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  }
}


describe('tar.gz package of the fixture site', () => {
  test('is written with a .sha256 line that sha256sum -c accepts, and passes gzip -t', async () => {
    const built = await buildPackage(input());
    expect(built.fileName).toBe('PREP2024_MICH_20240602_2020.tar.gz');
    expect(built.file).toBe(path.join(work, 'store', built.fileName));
    expect(fs.readFileSync(built.sha256File, 'utf8')).toBe(`${built.sha256}  ${built.fileName}\n`);
    expect(built.bytes).toBe(fs.statSync(built.file).size);
    expect(built.sha256).toBe(createHash('sha256').update(fs.readFileSync(built.file)).digest('hex'));
    expect(built.fileCount).toBe(readTree(FIXTURE).size);
    expect(run('sha256sum', ['-c', path.basename(built.sha256File)], path.dirname(built.file))).toContain(': OK');
    run('gzip', ['-t', built.file]);
    // Nothing but the package, its hash line and its record: no temp files left.
    expect(fs.readdirSync(path.dirname(built.file)).sort()).toEqual([built.fileName, `${built.fileName}.json`, `${built.fileName}.sha256`]);
  });

  test('building twice gives byte-identical output, in the same store or another', async () => {
    const first = await buildPackage(input());
    const firstBytes = fs.readFileSync(first.file);
    const again = await buildPackage(input());
    const elsewhere = await buildPackage(input({ storeDir: path.join(work, 'other-store') }));
    expect(again.sha256).toBe(first.sha256);
    expect(elsewhere.sha256).toBe(first.sha256);
    expect(Buffer.compare(fs.readFileSync(again.file), firstBytes)).toBe(0);
    expect(Buffer.compare(fs.readFileSync(elsewhere.file), firstBytes)).toBe(0);
  });

  test('GNU tar lists every file with fixed owner, mode and time, and MANIFEST.json last', async () => {
    const built = await buildPackage(input());
    const names = run('tar', ['-tzf', built.file]).trimEnd().split('\n');
    expect(names[names.length - 1]).toBe('MANIFEST.json');
    expect(names).toContain(LONG_PATH);
    expect(names).toContain('índice.html');
    expect(names).toContain('json/');
    const files = names.filter((n) => !n.endsWith('/') && n !== 'MANIFEST.json');
    expect(files).toEqual([...readTree(FIXTURE).keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    const verbose = run('tar', ['--numeric-owner', '--utc', '-tvzf', built.file]).trimEnd().split('\n');
    for (const line of verbose) {
      expect(line).toMatch(/^(-rw-r--r--|drwxr-xr-x) 0\/0 .* 2024-06-03 02:20 /);
    }
  });

  test('tar -xzf gives back every source byte, long and UTF-8 names included, and the manifest matches', async () => {
    const built = await buildPackage(input());
    const out = path.join(work, 'extracted');
    fs.mkdirSync(out);
    run('tar', ['-xzf', built.file, '-C', out]);
    expectSameTree(out, FIXTURE);
    expectManifestMatches(out, FIXTURE);
    expect(fs.existsSync(path.join(out, LONG_PATH))).toBe(true);
    expect(fs.existsSync(path.join(out, 'índice.html'))).toBe(true);
  });
});

describe('zip package of the fixture site', () => {
  test('passes unzip -t and sha256sum -c, extracts identically, and is reproducible', async () => {
    const built = await buildPackage(input({ format: 'zip' }));
    expect(built.fileName).toBe('PREP2024_MICH_20240602_2020.zip');
    expect(run('/usr/bin/unzip', ['-t', built.file])).toContain('No errors detected');
    expect(run('sha256sum', ['-c', path.basename(built.sha256File)], path.dirname(built.file))).toContain(': OK');
    const out = path.join(work, 'unzipped');
    run('/usr/bin/unzip', ['-q', built.file, '-d', out]);
    expectSameTree(out, FIXTURE);
    expectManifestMatches(out, FIXTURE);
    const again = await buildPackage(input({ format: 'zip', storeDir: path.join(work, 'other-store') }));
    expect(again.sha256).toBe(built.sha256);
  });
});

describe.each<PackageFormat>(['tar.gz', 'zip'])('%s of a larger generated site', (format) => {
  test('round-trips files spanning many gzip members and a file large enough to stream', async () => {
    const source = path.join(work, 'site');
    generateSyntheticSite(source, { files: 400, bytes: 4_000_000, seed: 7 });
    // Over the zip writer's whole-file limit (4 MiB), so it goes through the streaming path.
    const big = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 1) big[i] = (i * 7919) % 251;
    fs.writeFileSync(path.join(source, 'csv', 'grande.csv'), big);
    fs.writeFileSync(path.join(source, 'vacío.txt'), '');
    // A small block size makes hundreds of members, so ordering mistakes cannot hide.
    const built = await buildPackage(input({ sourceDir: source, format, gzip: { blockSize: 64 * 1024, maxInFlight: 3, level: 6 } }));
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    if (format === 'zip') {
      expect(run('/usr/bin/unzip', ['-t', built.file])).toContain('No errors detected');
      run('/usr/bin/unzip', ['-q', built.file, '-d', out]);
    } else {
      run('gzip', ['-t', built.file]);
      run('tar', ['-xzf', built.file, '-C', out]);
    }
    expectSameTree(out, source);
    expectManifestMatches(out, source);
  });
});

describe('sources that are refused', () => {
  function copyFixture(): string {
    const dir = path.join(work, 'src');
    fs.cpSync(FIXTURE, dir, { recursive: true });
    return dir;
  }

  test('a symlink, even one pointing inside, is a source error naming it', async () => {
    const dir = copyFixture();
    fs.symlinkSync('index.html', path.join(dir, 'json', 'alias.html'));
    const error = await rejectionOf(buildPackage(input({ sourceDir: dir })));
    expect(error.kind).toBe('source');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(path.join(dir, 'json', 'alias.html'));
    expect(error.hint).toContain('symlinks are not followed; replace it with the file');
    expect(fs.existsSync(path.join(work, 'store'))).toBe(false);
  });

  test('a named pipe is a source error naming it', async () => {
    const dir = copyFixture();
    run('mkfifo', [path.join(dir, 'tubo')]);
    const error = await rejectionOf(buildPackage(input({ sourceDir: dir })));
    expect(error.kind).toBe('source');
    expect(error.message).toContain(path.join(dir, 'tubo'));
    expect(error.message).toContain('named pipe');
  });

  test('a top-level MANIFEST.json would collide and is refused', async () => {
    const dir = copyFixture();
    fs.writeFileSync(path.join(dir, 'MANIFEST.json'), '{}');
    const error = await rejectionOf(buildPackage(input({ sourceDir: dir })));
    expect(error.kind).toBe('source');
    expect(error.message).toContain(path.join(dir, 'MANIFEST.json'));
  });

  test('a missing folder, a file, and a folder with no files are source errors', async () => {
    const missing = await rejectionOf(buildPackage(input({ sourceDir: path.join(work, 'nope') })));
    expect(missing.kind).toBe('source');
    expect(missing.message).toContain(`${path.join(work, 'nope')} does not exist`);

    fs.writeFileSync(path.join(work, 'plain.txt'), 'x');
    const notFolder = await rejectionOf(buildPackage(input({ sourceDir: path.join(work, 'plain.txt') })));
    expect(notFolder.kind).toBe('source');
    expect(notFolder.message).toContain('is not a folder');

    fs.mkdirSync(path.join(work, 'empty', 'only', 'folders'), { recursive: true });
    const empty = await rejectionOf(buildPackage(input({ sourceDir: path.join(work, 'empty') })));
    expect(empty.kind).toBe('source');
    expect(empty.message).toContain('holds no files');
  });

  test('a store inside the source folder is refused', async () => {
    const dir = copyFixture();
    const error = await rejectionOf(buildPackage(input({ sourceDir: dir, storeDir: path.join(dir, '.prep-push') })));
    expect(error.kind).toBe('source');
    expect(error.message).toContain('inside the source folder');
  });
});

describe('store write failures', () => {
  test('a store that cannot be created is an io error (exit 4) naming it', async () => {
    fs.writeFileSync(path.join(work, 'a-file'), 'not a folder');
    const storeDir = path.join(work, 'a-file', 'store');
    const error = await rejectionOf(buildPackage(input({ storeDir })));
    expect(error.kind).toBe('io');
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain(storeDir);
  });

  test('a store folder that refuses writes is an io error naming the file', async () => {
    // Running as root ignores permission bits, so use a store whose archive name is taken by a folder:
    // the rename onto it fails after the archive was written, and the temp file must go.
    const storeDir = path.join(work, 'store');
    fs.mkdirSync(path.join(storeDir, 'PREP2024_MICH_20240602_2020.tar.gz', 'occupied'), { recursive: true });
    const error = await rejectionOf(buildPackage(input({ storeDir })));
    expect(error.kind).toBe('io');
    expect(error.message).toContain(path.join(storeDir, 'PREP2024_MICH_20240602_2020.tar.gz'));
    expect(fs.readdirSync(storeDir)).toEqual(['PREP2024_MICH_20240602_2020.tar.gz']);
  });
});
