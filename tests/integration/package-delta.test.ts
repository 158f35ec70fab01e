// Delta packages in the store: what they hold, and that the store stays bounded as cuts go by.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import { DELTA_BASES, DELTA_KEEP_CUTS, deltaFileName } from '../../src/package/delta.js';
import { writeSite } from '../helpers/prep-apply.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'prep-push-delta-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cutN = (n: number) => cutAt(Date.parse('2024-06-02T20:00:00-06:00') + n * 20 * 60_000, 'America/Mexico_City');

test('a delta holds the new and changed files and the complete MANIFEST.json; the store keeps deltas of recent cuts only', async () => {
  const site = path.join(root, 'site');
  const store = path.join(root, 'store');
  const built = [];
  for (let n = 0; n < 7; n += 1) {
    writeSite(site, 4, 10, (i) => (i === n || i === -1 ? n : 0));
    if (n > 0) writeFileSync(path.join(site, `nuevo-${n}.json`), `{"n":${n}}`);
    built.push(await buildPackage({ sourceDir: site, cut: cutN(n), institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: store, delta: true }));
  }
  const last = built[6];
  const names = readdirSync(store);
  const deltas = names.filter((n) => /\.from-\d{8}_\d{4}\.tar\.gz$/.test(n)).sort();
  // Only the newest DELTA_KEEP_CUTS cuts keep deltas, each against at most DELTA_BASES earlier cuts.
  const cutsWithDeltas = [...new Set(deltas.map((d) => d.match(/PREP_(\d{8}_\d{4})/)![1]))].sort();
  expect(cutsWithDeltas).toEqual(built.slice(-DELTA_KEEP_CUTS).map((p) => p.cutId));
  expect(deltas.filter((d) => d.startsWith(`PREP_${last.cutId}`))).toHaveLength(DELTA_BASES);
  expect(names.filter((n) => n.endsWith('.manifest.json'))).toHaveLength(DELTA_KEEP_CUTS);
  // Full packages are all kept.
  expect(names.filter((n) => /^PREP_\d{8}_\d{4}\.tar\.gz$/.test(n))).toHaveLength(7);

  // The delta from cut 5 to cut 6: files 5 and 6 changed (plus main.json), nuevo-6 is new; and the whole manifest.
  const delta = path.join(store, deltaFileName(last.fileName, built[5].cutId));
  const listing = execFileSync('tar', ['-tzf', delta], { encoding: 'utf8' }).trim().split('\n').filter((e) => !e.endsWith('/')).sort();
  expect(listing).toEqual(['MANIFEST.json', 'json/distrito-000/casilla-5.json', 'json/distrito-000/casilla-6.json', 'json/main.json', 'nuevo-6.json'].sort());
  const manifestInDelta = execFileSync('tar', ['-xzOf', delta, 'MANIFEST.json']);
  const manifestInFull = execFileSync('tar', ['-xzOf', last.file, 'MANIFEST.json']);
  expect(manifestInDelta.equals(manifestInFull)).toBe(true);
  expect(readFileSync(`${delta}.sha256`, 'utf8')).toMatch(new RegExp(`^[0-9a-f]{64}  ${path.basename(delta).replace(/\./g, '\\.')}\\n$`));
});
