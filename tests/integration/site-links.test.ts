// Site mode's batch of hard links on real OpenSSH sshd: more links than are kept in flight (so the
// window refills), and links the server refuses (a file an admin removed from the current release)
// uploaded instead, whichever position in the batch they hold.
import { mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut } from '../../src/cut/run.js';
import type { RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/delivery/transport.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const LONG = 180_000;
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
// Above the 1024 links release.ts keeps in flight, so responses refill the window many times.
const FILES = 2500;
const CUT1 = '2024-06-02T20:00:00-06:00';
const CUT2 = '2024-06-02T20:20:00-06:00';
// Removed from the first release on the difusor's disk before the second cut: first, middle
// (after the first window), last of the batch.
const REMOVED = [0, 1500, FILES - 1];

let sshd: SshdFixture;
let ws: Workspace;
let source: string;

const fileOf = (i: number): string => path.join('datos', `d${String(i % 25).padStart(2, '0')}`, `${i}.json`);

async function writeSite(cutId: string): Promise<void> {
  await rm(source, { recursive: true, force: true });
  await mkdir(source, { recursive: true });
  await writeFile(path.join(source, 'index.html'), `<!doctype html><title>PREP ${cutId}</title>\n`);
  for (let i = 0; i < FILES; i += 1) {
    await mkdir(path.dirname(path.join(source, fileOf(i))), { recursive: true });
    await writeFile(path.join(source, fileOf(i)), JSON.stringify({ casilla: i }));
  }
}

async function cutAt(time: string): Promise<RunReport> {
  await ws.writeRegistry(registryYamlFor(sshd, ['s1'], { difusores: { s1: { delivery: 'site' } } }));
  const reg = await loadRegistry(ws.registryFile, { env: {} });
  return runCut({ registry: reg, stateDir: ws.stateDir, sourceDir: source, cut: parseCutTime(time, reg.timezone, Date.now) }, deps);
}

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 's1' }] });
  ws = await makeWorkspace();
  source = path.join(ws.dir, 'sitio');
}, LONG);
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
}, LONG);

test('links beyond the window all land; links the server refuses are uploaded instead', async () => {
  const releases = path.join(sshd.accounts.s1.dir, 'releases');
  await writeSite('20240602_2000');
  expect((await cutAt(CUT1)).results[0]).toMatchObject({ outcome: 'delivered' });
  for (const i of REMOVED) await rm(path.join(releases, '20240602_2000', fileOf(i)));

  await writeSite('20240602_2020'); // only index.html changes
  const result = (await cutAt(CUT2)).results[0];
  expect(result).toMatchObject({ outcome: 'delivered' });
  // index.html, the refused links and MANIFEST.json uploaded; every other file linked.
  expect(result.publish).toMatchObject({ linked_files: FILES - REMOVED.length, uploaded_files: REMOVED.length + 2 });
  expect(await readlink(path.join(sshd.accounts.s1.dir, 'current'))).toBe('releases/20240602_2020');
  for (let i = 0; i < FILES; i += 1) {
    const published = path.join(releases, '20240602_2020', fileOf(i));
    expect([i, await readFile(published, 'utf8')]).toEqual([i, JSON.stringify({ casilla: i })]);
    const linked = (await stat(published)).nlink === 2;
    expect([i, linked]).toEqual([i, !REMOVED.includes(i)]);
  }
}, LONG);
