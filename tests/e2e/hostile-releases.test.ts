// Site mode against an upload account someone else also writes to: what it finds under
// `releases/` that is not the regular file it published (a symlink to a file outside remote_dir, a
// folder swapped for a symlink to an outside folder, a file with a line appended) is never linked,
// kept or written through; the next cut uploads those files afresh, and nothing outside remote_dir
// is read or changed. Through the built binary against real sshd.
import { lstat, mkdir, readFile, readdir, readlink, rename, symlink, appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runPrepPush, type CliRun } from '../helpers/cli.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { registryYamlFor } from '../helpers/sshd.js';

const LONG = 120_000;
const ids = ['link-file', 'link-folder', 'altered', 'recycle'];
const fx = sshdWithWorkspace({ accounts: ids.map((id) => ({ id })) }, LONG);

interface Publish {
  release: string;
  uploaded_files: number;
  linked_files: number;
  kept_files?: number;
  recycled_from?: string | null;
}

const cli = (...args: string[]): Promise<CliRun> => runPrepPush(['--config', fx.ws.registryFile, ...args]);
const dirOf = (id: string): string => fx.sshd.accounts[id].dir;

async function cutAt(minute: string): Promise<Map<string, { outcome: string; publish: Publish }>> {
  await writeFile(path.join(fx.ws.sourceDir, 'json', 'main.json'), `{"corte":"${minute}"}\n`);
  const run = await cli('cut', '--source', fx.ws.sourceDir, '--cut', `2024-06-02T${minute}:00-06:00`, '--json');
  const doc = JSON.parse(run.stdout) as { results: Array<{ id: string; outcome: string; publish: Publish }> };
  return new Map(doc.results.map((r) => [r.id, r]));
}

/** Every symlink under `dir` (the published tree must hold none). */
async function symlinksUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isSymbolicLink()) found.push(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return found;
}

beforeAll(async () => {
  const difusores = Object.fromEntries(ids.map((id) => [id, { delivery: 'site' }]));
  const yaml = registryYamlFor(fx.sshd, ids, { difusores, stateDir: fx.ws.stateDir });
  // recycle keeps 1 release: the next cut turns the oldest one into the new one.
  await fx.ws.writeRegistry(`${yaml}publish:\n  keep_releases: 2\n`);
  const first = await cutAt('20:00');
  expect([...first.values()].map((r) => r.outcome)).toEqual(ids.map(() => 'delivered'));
}, LONG);

test('a symlink, a symlinked folder or an altered file in the current release is uploaded afresh, never linked', async () => {
  const outside = path.join(fx.ws.dir, 'fuera');
  await mkdir(path.join(outside, 'json'), { recursive: true });
  await writeFile(path.join(outside, 'secreto.txt'), 'no debe publicarse\n');
  for (const name of ['distrito_01.json', 'distrito_02.json', 'distrito_03.json']) await writeFile(path.join(outside, 'json', name), 'ajeno\n');
  const current = (id: string): string => path.join(dirOf(id), 'releases', '20240602_2000');

  // A file of the release replaced by a link to a file outside remote_dir.
  await rename(path.join(current('link-file'), 'index.html'), path.join(fx.ws.dir, 'index-original.html'));
  await symlink(path.join(outside, 'secreto.txt'), path.join(current('link-file'), 'index.html'));
  // A folder of the release replaced by a link to an outside folder holding the same names.
  await rename(path.join(current('link-folder'), 'json'), path.join(fx.ws.dir, 'json-original'));
  await symlink(path.join(outside, 'json'), path.join(current('link-folder'), 'json'));
  // A file of the release with a line appended (what a defacer does).
  await appendFile(path.join(current('altered'), 'index.html'), '<p>alterado</p>\n');

  const second = await cutAt('20:20');
  for (const id of ['link-file', 'link-folder', 'altered']) {
    expect([id, second.get(id)?.outcome]).toEqual([id, 'delivered']);
    const published = path.join(dirOf(id), 'releases', '20240602_2020');
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2020');
    expect([id, await symlinksUnder(published)]).toEqual([id, []]);
    expect(await readFile(path.join(published, 'index.html'), 'utf8')).toBe(await readFile(path.join(fx.ws.sourceDir, 'index.html'), 'utf8'));
  }
  // What changed (main.json) and MANIFEST.json, plus the files concerned.
  expect(second.get('link-file')?.publish.uploaded_files).toBe(3);
  expect(second.get('altered')?.publish.uploaded_files).toBe(3);
  const jsonFiles = (await readdir(path.join(fx.ws.sourceDir, 'json'))).length;
  expect(second.get('link-folder')?.publish.uploaded_files).toBe(1 + jsonFiles);
  expect((await lstat(path.join(dirOf('link-folder'), 'releases', '20240602_2020', 'json'))).isDirectory()).toBe(true);
  // Nothing outside remote_dir was changed.
  expect(await readFile(path.join(outside, 'secreto.txt'), 'utf8')).toBe('no debe publicarse\n');
  expect(await readFile(path.join(outside, 'json', 'distrito_01.json'), 'utf8')).toBe('ajeno\n');
}, LONG);

test('a release to recycle holding a symlinked folder is not written through: built fresh, outside untouched', async () => {
  // keep_releases 2: the next cut would recycle 20240602_2000, the oldest.
  const oldest = path.join(dirOf('recycle'), 'releases', '20240602_2000');
  const outside = path.join(fx.ws.dir, 'fuera-reciclaje');
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'main.json'), 'ajeno\n');
  await rename(path.join(oldest, 'json'), path.join(fx.ws.dir, 'json-reciclaje'));
  await symlink(outside, path.join(oldest, 'json'));

  const third = await cutAt('20:40');
  const recycle = third.get('recycle');
  expect(recycle?.outcome).toBe('delivered');
  expect(recycle?.publish.recycled_from ?? null).toBeNull();
  const published = path.join(dirOf('recycle'), 'releases', '20240602_2040');
  expect(await symlinksUnder(published)).toEqual([]);
  expect(await readFile(path.join(published, 'json', 'main.json'), 'utf8')).toBe('{"corte":"20:40"}\n');
  expect(await readFile(path.join(outside, 'main.json'), 'utf8')).toBe('ajeno\n');
  // Pruned as usual: the link removed, never followed.
  expect((await readdir(path.join(dirOf('recycle'), 'releases'))).filter((n) => !n.startsWith('.')).sort()).toEqual(['20240602_2020', '20240602_2040']);
  expect(await readdir(outside)).toEqual(['main.json']);
}, LONG);
