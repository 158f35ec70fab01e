// The institute's side of site mode: a stored tar.gz package read back into a folder, byte for
// byte what the manifest lists (long and non-ASCII paths through PAX, empty files, big files).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
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
