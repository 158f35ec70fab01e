// Pins the exact bytes of a few small builds by their SHA-256: speed work on the package writers
// must not change one byte of what difusores receive for the same input. The pins hold for the
// zlib bundled with Node 20 (deflate output is only stable for one zlib build); if a Node upgrade
// changes them, check the archives with the other package tests before re-pinning.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrepShapedSite } from '../../bench/prep-shaped.js';
import { generateSyntheticSite } from '../../bench/synthetic-site.js';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage, type BuildPackageInput } from '../../src/package/build-package.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/prep-site');
const CUT = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'prep-pinned-'));
  generatePrepShapedSite(path.join(work, 'prep-shaped'), { files: 600, seed: 11 });
  const synthetic = path.join(work, 'synthetic');
  generateSyntheticSite(synthetic, { files: 300, bytes: 3_000_000, seed: 5 });
  // Over the zip writer's whole-file limit (4 MiB) and many gzip blocks long: the streaming paths.
  const big = Buffer.alloc(5 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 1) big[i] = (i * 7919) % 251;
  fs.writeFileSync(path.join(synthetic, 'csv', 'grande.csv'), big);
  fs.writeFileSync(path.join(synthetic, 'vacío.txt'), '');
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

async function sha256Of(overrides: Partial<BuildPackageInput>): Promise<string> {
  const storeDir = fs.mkdtempSync(path.join(work, 'store-'));
  const built = await buildPackage({
    sourceDir: FIXTURE,
    cut: CUT,
    institute: 'IEM',
    nameTemplate: 'PREP2024_MICH_{cut}',
    format: 'tar.gz',
    storeDir,
    ...overrides,
  });
  fs.rmSync(storeDir, { recursive: true, force: true });
  return built.sha256;
}

describe('package bytes are pinned', () => {
  test.each<[string, () => Partial<BuildPackageInput>, string]>([
    ['fixture site, tar.gz', () => ({}), '8b5f8c9268001354e49162c28735c80a356e5985b90a8daa1adb9168b7974eb0'],
    ['fixture site, zip', () => ({ format: 'zip' }), 'b238e3206dbdc529e73edd15d4cd8f9382128e5566761d6a137ccc43d41814fe'],
    ['PREP-shaped site, tar.gz', () => ({ sourceDir: path.join(work, 'prep-shaped') }), '23da67958e598503c2fb275ada46ec206a850280cac71427750d868d44b770cc'],
    ['PREP-shaped site, zip', () => ({ sourceDir: path.join(work, 'prep-shaped'), format: 'zip' }), '2ea00df89d8f02376a55d8f1e3216babeaf3cc725c851e510c414d5716b99f3e'],
    [
      'PREP-shaped site, tar.gz in 16 KiB gzip members',
      () => ({ sourceDir: path.join(work, 'prep-shaped'), gzip: { blockSize: 16 * 1024, maxInFlight: 2, level: 6 } }),
      'd3bf032e0f7e9c0b0431ebe877b42a1274edebac0263e53066a87de9778b0015',
    ],
    ['site with a 5 MiB file, tar.gz', () => ({ sourceDir: path.join(work, 'synthetic') }), '312183a603e26aa542c1b9c7a846e244bba197366e6ad57ccce8c2ee4d4deb3c'],
    ['site with a 5 MiB file, zip', () => ({ sourceDir: path.join(work, 'synthetic'), format: 'zip' }), '74c5907817f5f88f754d882a8f57eb9ca328b72becc8b5ff7c99ec52742e5d48'],
  ])('%s', async (_name, overrides, pinned) => {
    expect(await sha256Of(overrides())).toBe(pinned);
  });
});
