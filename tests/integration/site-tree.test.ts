// The institute's side of site mode: a stored tar.gz package read back into a folder, byte for
// byte what the manifest lists (long and non-ASCII paths through PAX, empty files, big files).
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import type { BuiltPackage } from '../../src/package/types.js';
import { siteReleaseOf } from '../../src/publish/site-tree.js';
import { parseManifestFiles } from '../../src/publish/plan.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(async () => {
  await ws?.remove();
});

test('a stored package extracts to exactly the files its manifest lists, reused on the next call', async () => {
  const long = `json/${'municipio_con_nombre_largo/'.repeat(5)}Lázaro Cárdenas — casilla 0001.json`;
  await mkdir(path.join(ws.sourceDir, path.dirname(long)), { recursive: true });
  await writeFile(path.join(ws.sourceDir, long), '{"votos":1}');
  await writeFile(path.join(ws.sourceDir, 'vacío.txt'), '');
  await writeFile(path.join(ws.sourceDir, 'grande.bin'), randomBytes(3 * 1024 * 1024 + 17));
  const cut = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
  const stateDir = ws.stateDir;
  const pkg = await buildPackage({ sourceDir: ws.sourceDir, cut, institute: 'IEM', nameTemplate: 'P_{cut}', format: 'tar.gz', storeDir: path.join(stateDir, 'store') });

  const release = await siteReleaseOf(stateDir, pkg);
  expect(release.name).toBe('20240602_2020');
  const files = parseManifestFiles(release.manifest.toString('utf8'))!;
  expect(files.map((f) => f.path)).toEqual(expect.arrayContaining([long, 'vacío.txt', 'grande.bin']));
  for (const f of files) {
    const data = await readFile(path.join(release.sourceDir, f.path));
    expect([f.path, data.length, createHash('sha256').update(data).digest('hex')]).toEqual([f.path, f.size, f.sha256]);
    expect((await stat(path.join(release.sourceDir, f.path))).mode & 0o777).toBe(0o644);
  }
  const again = await siteReleaseOf(stateDir, pkg);
  expect(again.sourceDir).toBe(release.sourceDir);
  expect((await readdir(path.join(stateDir, 'sites'))).filter((n) => n.startsWith('.'))).toEqual([]);
});

describe('a stored package that cannot be extracted', () => {
  /** A BuiltPackage record for an archive made by hand (the store would never hold these). */
  async function handMade(name: string, bytes: Buffer): Promise<BuiltPackage> {
    const file = path.join(ws.dir, `${name}.tar.gz`);
    await writeFile(file, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { cutId: '20240602_2040', cutTime: '2024-06-02T20:40:00-06:00', format: 'tar.gz', file, fileName: `${name}.tar.gz`, sha256File: `${file}.sha256`, sha256, bytes: bytes.length, fileCount: 1 };
  }

  /** A tar.gz of one regular file under `entryName`, written by Python's tarfile (which takes any name). */
  function tarGzWith(entryName: string, content: string): Buffer {
    const script = [
      'import io, sys, tarfile',
      'buf = io.BytesIO()',
      'with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:',
      '    data = sys.argv[2].encode()',
      '    info = tarfile.TarInfo(sys.argv[1]); info.size = len(data); info.mode = 0o644',
      '    t.addfile(info, io.BytesIO(data))',
      'sys.stdout.buffer.write(buf.getvalue())',
    ].join('\n');
    return execFileSync('python3', ['-c', script, entryName, content]);
  }

  async function leftovers(stateDir: string): Promise<string[]> {
    return readdir(path.join(stateDir, 'sites')).catch(() => []);
  }

  test('a truncated archive is refused with what to do, and nothing is left in the state dir', async () => {
    const cut = cutAt(Date.parse('2024-06-02T20:40:00-06:00'), 'America/Mexico_City');
    const stateDir = path.join(ws.dir, 'state-truncated');
    const built = await buildPackage({ sourceDir: ws.sourceDir, cut, institute: 'IEM', nameTemplate: 'T_{cut}', format: 'tar.gz', storeDir: path.join(stateDir, 'store') });
    const whole = await readFile(built.file);
    const pkg = await handMade('truncated', whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(siteReleaseOf(stateDir, pkg)).rejects.toMatchObject({
      kind: 'io',
      message: expect.stringMatching(/truncated\.tar\.gz: (cannot be read|ends before the end)/),
      hint: expect.stringContaining('prep-push build'),
    });
    expect(await leftovers(stateDir)).toEqual([]);
  });

  test('an entry that would leave the folder is refused and nothing is written outside it', async () => {
    const stateDir = path.join(ws.dir, 'state-escape');
    const pkg = await handMade('escape', tarGzWith('../../escaped.txt', 'gotcha'));
    await expect(siteReleaseOf(stateDir, pkg)).rejects.toMatchObject({ kind: 'io', message: expect.stringContaining('would leave the extraction folder') });
    expect(await leftovers(stateDir)).toEqual([]);
    await expect(stat(path.join(stateDir, 'escaped.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(ws.dir, 'escaped.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

test('the three newest extracted cuts are kept besides the one published; older ones and leftovers go', async () => {
  const stateDir = path.join(ws.dir, 'state-prune');
  const sites = path.join(stateDir, 'sites');
  const cuts = ['20:00', '20:20', '20:40', '21:00', '21:20'].map((t) => cutAt(Date.parse(`2024-06-02T${t}:00-06:00`), 'America/Mexico_City'));
  const trees: string[] = [];
  for (const [i, cut] of cuts.entries()) {
    const pkg = await buildPackage({ sourceDir: ws.sourceDir, cut, institute: 'IEM', nameTemplate: 'K_{cut}', format: 'tar.gz', storeDir: path.join(stateDir, 'store') });
    // What a killed run leaves: a half-removed old tree under a `.`-name.
    if (i === 4) await mkdir(path.join(sites, '.pruned-20240602_1940-0123456789ab-deadbeef', 'json'), { recursive: true });
    trees.push(path.basename((await siteReleaseOf(stateDir, pkg)).sourceDir));
  }
  // Removal runs in the background: wait for it (it is a few folders of a few files here).
  const deadline = Date.now() + 10_000;
  while ((await readdir(sites)).some((n) => n.startsWith('.')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect((await readdir(sites)).sort()).toEqual(trees.slice(1).sort());
});
