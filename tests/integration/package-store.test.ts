// The package store: finding a cut's package whatever its name, and refusing a damaged one.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import { findStoredPackage, listStoredPackages } from '../../src/package/store.js';
import { rejectionOf } from '../helpers/rejection.js';

const TZ = 'America/Mexico_City';
const cutOf = (iso: string) => cutAt(Date.parse(iso), TZ);

let work: string;
let source: string;
let storeDir: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-store-'));
  source = path.join(work, 'site');
  fs.mkdirSync(path.join(source, 'json'), { recursive: true });
  fs.writeFileSync(path.join(source, 'index.html'), '<h1>PREP</h1>\n');
  fs.writeFileSync(path.join(source, 'json', 'main.json'), '{"fecha_corte":"02/06/2024"}\n');
  storeDir = path.join(work, 'state', 'packages');
});
afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function build(iso: string, nameTemplate = 'PREP_{cut}', format: 'tar.gz' | 'zip' = 'tar.gz') {
  return buildPackage({ sourceDir: source, cut: cutOf(iso), institute: 'IEM', nameTemplate, format, storeDir });
}


test('a store that does not exist yet holds nothing', async () => {
  await expect(listStoredPackages(storeDir)).resolves.toEqual([]);
  await expect(findStoredPackage(storeDir, '20240602_2020')).resolves.toBeNull();
});

test('a built package is found by cut id exactly as built, whatever the name template', async () => {
  const built = await build('2024-06-02T20:20:00-06:00', 'ENTREGA-{cut}-IEM', 'zip');
  await expect(findStoredPackage(storeDir, '20240602_2020')).resolves.toEqual(built);
  await expect(findStoredPackage(storeDir, '20240602_2030')).resolves.toBeNull();
});

test('packages are listed by cut id ascending', async () => {
  await build('2024-06-02T21:00:00-06:00');
  await build('2024-06-02T20:20:00-06:00', 'OTRO_{cut}');
  await build('2024-06-02T20:40:00-06:00');
  const ids = (await listStoredPackages(storeDir)).map((p) => p.cutId);
  expect(ids).toEqual(['20240602_2020', '20240602_2040', '20240602_2100']);
});

test('a cut rebuilt under a new name is found under the newest one', async () => {
  await build('2024-06-02T20:20:00-06:00', 'VIEJO_{cut}');
  // Make the first record visibly older, whatever the filesystem's timestamp resolution.
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(storeDir, 'VIEJO_20240602_2020.tar.gz.json'), old, old);
  const rebuilt = await build('2024-06-02T20:20:00-06:00', 'NUEVO_{cut}');
  await expect(findStoredPackage(storeDir, '20240602_2020')).resolves.toEqual(rebuilt);
  await expect(listStoredPackages(storeDir)).resolves.toEqual([rebuilt]);
});

test('JSON files that are not package records are left alone', async () => {
  const built = await build('2024-06-02T20:20:00-06:00');
  fs.writeFileSync(path.join(storeDir, 'notas.zip.json'), '{"hola": 1}');
  fs.writeFileSync(path.join(storeDir, 'otra.tar.gz.json'), 'not json');
  await expect(listStoredPackages(storeDir)).resolves.toEqual([built]);
});

test('an archive whose size no longer matches its record is an io error naming it', async () => {
  const built = await build('2024-06-02T20:20:00-06:00');
  fs.appendFileSync(built.file, 'x');
  const error = await rejectionOf(findStoredPackage(storeDir, built.cutId));
  expect(error.kind).toBe('io');
  expect(error.exitCode).toBe(4);
  expect(error.message).toContain(built.file);
  expect(error.hint).toContain('rebuild');
});

test('a .sha256 that does not hold the recorded hash is an io error naming it', async () => {
  const built = await build('2024-06-02T20:20:00-06:00');
  fs.writeFileSync(built.sha256File, `${'0'.repeat(64)}  ${built.fileName}\n`);
  const error = await rejectionOf(listStoredPackages(storeDir));
  expect(error.kind).toBe('io');
  expect(error.message).toContain(built.sha256File);
});

test('a missing archive or a damaged record is an io error naming the file', async () => {
  const built = await build('2024-06-02T20:20:00-06:00');
  fs.rmSync(built.file);
  const missing = await rejectionOf(findStoredPackage(storeDir, built.cutId));
  expect(missing.kind).toBe('io');
  expect(missing.message).toContain(built.file);

  const again = await build('2024-06-02T20:20:00-06:00');
  fs.writeFileSync(`${again.file}.json`, '{"kind": "prep-push package"');
  const damaged = await rejectionOf(findStoredPackage(storeDir, again.cutId));
  expect(damaged.kind).toBe('io');
  expect(damaged.message).toContain(`${again.file}.json`);
});

describe('one cut id, one content', () => {
  const snapshot = () =>
    Object.fromEntries(fs.readdirSync(storeDir).map((name) => [name, `${fs.statSync(path.join(storeDir, name)).mtimeMs} ${fs.readFileSync(path.join(storeDir, name)).toString('base64')}`]));

  test('the same source again returns the stored package and rewrites nothing', async () => {
    const built = await build('2024-06-02T20:20:00-06:00');
    const before = snapshot();
    await expect(build('2024-06-02T20:20:00-06:00')).resolves.toEqual(built);
    expect(snapshot()).toEqual(before);
  });

  test('a different source is refused (exit 2) under any name template, and the store is unchanged', async () => {
    const built = await build('2024-06-02T20:20:00-06:00');
    const before = snapshot();
    fs.writeFileSync(path.join(source, 'json', 'main.json'), '{"fecha_corte":"02/06/2024 20:21"}\n');
    for (const template of ['PREP_{cut}', 'OTRO_{cut}']) {
      const error = await rejectionOf(build('2024-06-02T20:20:00-06:00', template));
      expect([error.kind, error.exitCode]).toEqual(['source', 2]);
      expect(error.message).toContain(`SHA-256 ${built.sha256}`);
    }
    expect(snapshot()).toEqual(before);
    // A later minute is a new cut.
    await expect(build('2024-06-02T20:21:00-06:00')).resolves.toMatchObject({ cutId: '20240602_2021' });
  });

  test('building the same source again repairs a damaged stored archive', async () => {
    const built = await build('2024-06-02T20:20:00-06:00');
    fs.appendFileSync(built.file, 'x');
    await expect(build('2024-06-02T20:20:00-06:00')).resolves.toEqual(built);
    await expect(findStoredPackage(storeDir, built.cutId)).resolves.toEqual(built);
  });
});
