// Site mode on real OpenSSH sshd: first publish, incremental publish by hard links (inodes checked
// on the served folder), deletions, re-run no-op, rollback refused and allowed, pruning, leftovers
// of a killed run removed, files 0644 and folders 0755 under a strict umask; more links than are
// kept in flight, and links the server refuses uploaded instead.
import { lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { status } from '../../src/commands/status.js';
import { runCut, runPush } from '../../src/cut/run.js';
import type { ReportResult, RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { mulberry32 } from '../helpers/prng.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

// A hang guard for a loaded CI machine: the 2,500-file test ('links beyond the window') took 11-19 s
// beside two busy loops, 60-72 s when other test runs and builds shared the 2 cores (load average 15-25).
const LONG = 300_000;

const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
const FILES = 400;
const CUT1 = '2024-06-02T20:00:00-06:00';
const CUT2 = '2024-06-02T20:20:00-06:00';
const CUT3 = '2024-06-02T20:40:00-06:00';
const CUT4 = '2024-06-02T21:00:00-06:00';

let sshd: SshdFixture;
let ws: Workspace;
let source: string;

/** A PREP-shaped folder: json/<district>/<n>.json plus index.html and json/main.json naming the cut. */
async function writeSite(dir: string, cutId: string, changed: (i: number) => boolean, deleted: (i: number) => boolean): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'json'), { recursive: true });
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>PREP</title>\n');
  await writeFile(path.join(dir, 'json', 'main.json'), JSON.stringify({ cut: cutId }));
  const random = mulberry32(7);
  for (let i = 0; i < FILES; i += 1) {
    const base = Math.floor(random() * 1e9);
    if (deleted(i)) continue;
    const district = path.join(dir, 'json', `d${String(i % 20).padStart(2, '0')}`);
    await mkdir(district, { recursive: true });
    await writeFile(path.join(district, `${i}.json`), JSON.stringify({ i, votes: base, ...(changed(i) ? { cut: cutId } : {}) }));
  }
}

async function registry(keepReleases = 0) {
  const yaml = registryYamlFor(sshd, ['s1', 's2'], { difusores: { s1: { delivery: 'site' }, s2: { delivery: 'both' } } });
  await ws.writeRegistry(`${yaml}publish:\n  keep_releases: ${keepReleases}\n`);
  return loadRegistry(ws.registryFile, { env: {} });
}

async function cutAt(time: string, keepReleases = 0, allowOlder = false): Promise<RunReport> {
  const reg = await registry(keepReleases);
  return runCut({ registry: reg, stateDir: ws.stateDir, sourceDir: source, cut: parseCutTime(time, reg.timezone, Date.now), allowOlder }, deps);
}

async function pushCut(cutId: string, allowRollback = false): Promise<RunReport> {
  return runPush({ registry: await registry(), stateDir: ws.stateDir, cutId, allowRollback }, deps);
}

const dirOf = (id: string) => sshd.accounts[id].dir;
const resultOf = (report: RunReport, id: string): ReportResult => report.results.find((r) => r.id === id)!;

async function allEntries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    out.push(full);
    if (entry.isDirectory()) out.push(...(await allEntries(full)));
  }
  return out;
}

beforeAll(async () => {
  // sshd (and the sftp-server it runs) inherits this umask: files would be 0600 without prep-push's chmod.
  const previous = process.umask(0o077);
  try {
    sshd = await startSshd({ accounts: [{ id: 's1' }, { id: 's2' }, { id: 's3' }] });
  } finally {
    process.umask(previous);
  }
  ws = await makeWorkspace();
  source = path.join(ws.dir, 'sitio');
}, LONG);
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
}, LONG);

test('first publish uploads every file; current names the release; 0644/0755 whatever the umask', async () => {
  await writeSite(source, '20240602_2000', () => false, () => false);
  const report = await cutAt(CUT1);
  expect(report.results.map((r) => [r.id, r.outcome, r.error?.code])).toEqual([
    ['s1', 'delivered', undefined],
    ['s2', 'delivered', undefined],
  ]);
  for (const id of ['s1', 's2']) {
    const publish = resultOf(report, id).publish!;
    expect(publish).toMatchObject({ mode: 'link+rename', release: '20240602_2000', linked_files: 0, uploaded_files: FILES + 3 });
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2000');
    expect(await readFile(path.join(dirOf(id), 'current', 'json', 'main.json'), 'utf8')).toBe('{"cut":"20240602_2000"}');
    for (const entry of await allEntries(path.join(dirOf(id), 'releases'))) {
      const s = await lstat(entry);
      expect([entry, s.mode & 0o777]).toEqual([entry, s.isDirectory() ? 0o755 : 0o644]);
    }
  }
  // package-only bytes are the package; a site-only difusor received no package file.
  expect(resultOf(report, 's1').bytes).toBe(0);
  expect((await readdir(dirOf('s1'))).sort()).toEqual(['current', 'releases']);
  expect(await readdir(dirOf('s2'))).toEqual(expect.arrayContaining(['LATEST', 'current', 'releases', report.package.file]));
}, LONG);

test('an incremental cut uploads only new and changed files and hard-links the rest (same inode)', async () => {
  const changed = (i: number) => i % 33 === 0; // ~3%
  const deleted = (i: number) => i === 5 || i === 6;
  await writeSite(source, '20240602_2020', changed, deleted);
  const report = await cutAt(CUT2);
  const nChanged = Array.from({ length: FILES }, (_, i) => i).filter((i) => changed(i) && !deleted(i)).length;
  for (const id of ['s1', 's2']) {
    const publish = resultOf(report, id).publish!;
    expect(resultOf(report, id).outcome).toBe('delivered');
    // main.json + the changed files + MANIFEST.json; index.html and the rest linked.
    expect(publish.uploaded_files).toBe(nChanged + 2);
    expect(publish.linked_files).toBe(FILES - 2 - nChanged + 1);
    const releases = path.join(dirOf(id), 'releases');
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2020');
    const unchanged = (r: string) => stat(path.join(releases, r, 'json', 'd01', '1.json'));
    expect((await unchanged('20240602_2020')).ino).toBe((await unchanged('20240602_2000')).ino);
    const changedFile = (r: string) => stat(path.join(releases, r, 'json', 'd00', '0.json'));
    expect((await changedFile('20240602_2020')).ino).not.toBe((await changedFile('20240602_2000')).ino);
    await expect(stat(path.join(releases, '20240602_2020', 'json', 'd05', '5.json'))).rejects.toThrow(/ENOENT/);
    await expect(stat(path.join(releases, '20240602_2000', 'json', 'd05', '5.json'))).resolves.toBeDefined();
  }
}, LONG);

test('re-running a cut a difusor has is delivered with nothing uploaded and current unchanged', async () => {
  const report = await pushCut('20240602_2020');
  for (const id of ['s1', 's2']) {
    expect(resultOf(report, id)).toMatchObject({ outcome: 'delivered', publish: { uploaded_files: 0, linked_files: 0, release: '20240602_2020' } });
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2020');
  }
}, LONG);

test('current never moves back without --allow-rollback; with it, it does', async () => {
  const refused = await pushCut('20240602_2000');
  expect(refused.exit_code).toBe(1);
  for (const id of ['s1', 's2']) {
    expect(resultOf(refused, id)).toMatchObject({ outcome: 'failed', attempts: 1, error: { code: 'ROLLBACK_REFUSED' } });
    expect(resultOf(refused, id).error!.message).toMatch(/--allow-rollback/);
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2020');
  }
  const allowed = await pushCut('20240602_2000', true);
  expect(allowed.exit_code).toBe(0);
  for (const id of ['s1', 's2']) {
    expect(resultOf(allowed, id).publish).toMatchObject({ release: '20240602_2000', uploaded_files: 0 });
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2000');
  }
  const st = await status(await registry(), ws.stateDir);
  expect(st.difusores.map((d) => d.current_release)).toEqual(['20240602_2000', '20240602_2000']);
  // And forward again, no flag needed.
  const forward = await pushCut('20240602_2020');
  expect(forward.exit_code).toBe(0);
  expect(await readlink(path.join(dirOf('s1'), 'current'))).toBe('releases/20240602_2020');
}, LONG);

test('a killed run’s leftovers are removed by the next run; keep_releases prunes all but the newest, never current', async () => {
  const releases = path.join(dirOf('s1'), 'releases');
  await mkdir(path.join(releases, '.staging-20240602_2040.prep-push-aaaaaaaaaaaa', 'json'), { recursive: true });
  await writeFile(path.join(releases, '.staging-20240602_2040.prep-push-aaaaaaaaaaaa', 'json', 'half.json'), '{');
  await symlink('releases/20240602_2000', path.join(dirOf('s1'), '.current.prep-push-bbbbbbbbbbbb'));

  await writeSite(source, '20240602_2040', (i) => i % 50 === 0, () => false);
  const third = await cutAt(CUT3, 2);
  expect(third.exit_code).toBe(0);
  expect((await readdir(releases)).sort()).toEqual(['20240602_2020', '20240602_2040']);
  expect((await readdir(dirOf('s1'))).sort()).toEqual(['current', 'releases']);

  // A pruned release is published again from the store when asked for (rollback).
  const back = await pushCut('20240602_2000', true);
  expect(resultOf(back, 's1')).toMatchObject({ outcome: 'delivered', publish: { release: '20240602_2000' } });
  expect(resultOf(back, 's1').publish!.uploaded_files).toBeGreaterThan(0);
  expect(resultOf(back, 's1').publish!.linked_files).toBeGreaterThan(FILES / 2);
  expect(await readFile(path.join(dirOf('s1'), 'current', 'json', 'main.json'), 'utf8')).toBe('{"cut":"20240602_2000"}');

  await writeSite(source, '20240602_2100', (i) => i % 50 === 1, () => false);
  const fourth = await cutAt(CUT4, 1);
  expect(fourth.exit_code).toBe(0);
  expect(await readdir(releases)).toEqual(['20240602_2100']);
}, LONG);

test('cut --allow-older publishes the older release but current keeps the newest cut; --allow-rollback then moves it', async () => {
  const releases = path.join(dirOf('s1'), 'releases');
  await writeSite(source, '20240602_2050', (i) => i % 40 === 3, () => false);
  // keep_releases 1: the older release just published is kept all the same (it was asked for).
  const older = await cutAt('2024-06-02T20:50:00-06:00', 1, true);
  expect(older.exit_code).toBe(0);
  for (const id of ['s1', 's2']) {
    expect(resultOf(older, id)).toMatchObject({ outcome: 'delivered', publish: { release: '20240602_2050', current: '20240602_2100' } });
    expect(resultOf(older, id).publish!.uploaded_files).toBeGreaterThan(0);
    expect(await readlink(path.join(dirOf(id), 'current'))).toBe('releases/20240602_2100');
    expect(await readFile(path.join(dirOf(id), 'releases', '20240602_2050', 'json', 'main.json'), 'utf8')).toBe('{"cut":"20240602_2050"}');
  }
  expect((await readdir(releases)).sort()).toEqual(['20240602_2050', '20240602_2100']);
  // Package mode's rule, for the `both` difusor: LATEST still names the newest cut.
  expect(await readFile(path.join(dirOf('s2'), 'LATEST'), 'utf8')).toMatch(/20240602_2100/);
  const st = await status(await registry(), ws.stateDir);
  expect(st.difusores.map((d) => d.current_release)).toEqual(['20240602_2100', '20240602_2100']);

  const back = await pushCut('20240602_2050', true);
  expect(back.exit_code).toBe(0);
  expect(resultOf(back, 's1').publish).toMatchObject({ release: '20240602_2050', uploaded_files: 0, current: '20240602_2050' });
  expect(await readlink(path.join(dirOf('s1'), 'current'))).toBe('releases/20240602_2050');
}, LONG);

test('links beyond the window all land; links the server refuses are uploaded instead, wherever they sit', async () => {
  // Above the 1024 links release.ts keeps in flight, so responses refill the window many times.
  const files = 2500;
  // Removed from the first release on the difusor's disk (an admin's doing) before the second cut:
  // the first link of the batch, one after the first window, the last.
  const removed = [0, 1500, files - 1];
  const fileOf = (i: number): string => path.join('datos', `d${String(i % 25).padStart(2, '0')}`, `${i}.json`);
  // Its own account and state dir: the cuts above hold other files under the same cut ids.
  const own = await makeWorkspace();
  const site = path.join(own.dir, 'sitio');
  const publish = async (time: string, cutId: string): Promise<ReportResult> => {
    await rm(site, { recursive: true, force: true });
    await mkdir(site, { recursive: true });
    await writeFile(path.join(site, 'index.html'), `<title>PREP ${cutId}</title>\n`);
    for (let i = 0; i < files; i += 1) {
      await mkdir(path.dirname(path.join(site, fileOf(i))), { recursive: true });
      await writeFile(path.join(site, fileOf(i)), JSON.stringify({ casilla: i }));
    }
    await own.writeRegistry(registryYamlFor(sshd, ['s3'], { difusores: { s3: { delivery: 'site' } } }));
    const reg = await loadRegistry(own.registryFile, { env: {} });
    const report = await runCut({ registry: reg, stateDir: own.stateDir, sourceDir: site, cut: parseCutTime(time, reg.timezone, Date.now) }, deps);
    return resultOf(report, 's3');
  };
  try {
    const releases = path.join(dirOf('s3'), 'releases');
    expect(await publish(CUT1, '20240602_2000')).toMatchObject({ outcome: 'delivered' });
    for (const i of removed) await rm(path.join(releases, '20240602_2000', fileOf(i)));
    const second = await publish(CUT2, '20240602_2020'); // only index.html changes
    expect(second).toMatchObject({ outcome: 'delivered' });
    // index.html, the refused links and MANIFEST.json uploaded; every other file linked.
    expect(second.publish).toMatchObject({ linked_files: files - removed.length, uploaded_files: removed.length + 2 });
    expect(await readlink(path.join(dirOf('s3'), 'current'))).toBe('releases/20240602_2020');
    for (let i = 0; i < files; i += 1) {
      const published = path.join(releases, '20240602_2020', fileOf(i));
      const s = await stat(published);
      // Same content, 0644 under the strict umask, and a second name of the old file unless refused.
      expect([i, await readFile(published, 'utf8'), s.mode & 0o777, s.nlink]).toEqual([i, JSON.stringify({ casilla: i }), 0o644, removed.includes(i) ? 1 : 2]);
    }
  } finally {
    await own.remove();
  }
}, LONG);
