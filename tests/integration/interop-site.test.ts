// Site mode against real ProFTPD 1.3.8 mod_sftp (chrooted virtual account) and real Dropbear
// 2022.83 (OpenSSH's sftp-server behind it): a first publish, an incremental cut, a re-run that
// changes nothing, a rollback refused. Checked on the server's own disk: `current` is a relative
// symlink naming the right release, every file byte-identical to the source, 0644 files and 0755
// folders, no `.`-leftovers, and the publish.mode each server deserves. ProFTPD's LSTAT follows a
// live symlink (and its RMDIR removes what one names), so two more: a `.`-named link to a release
// in releases/ is removed without touching the release, and `probe` finds the same capabilities
// site mode used, sweeping a leftover link without following it.
import { chown, lchown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import type { RunReport } from '../../src/cut/report.js';
import { runCut, runPush } from '../../src/cut/run.js';
import { PROBE_PREFIX, probeDifusor } from '../../src/probe/probe.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { Difusor, Registry } from '../../src/registry/types.js';
import { dropbearUnavailableReason, startDropbear, type DropbearFixture } from '../helpers/dropbear.js';
import { proftpdUnavailableReason, startProftpd, type ProftpdFixture } from '../helpers/proftpd.js';

const LONG = 120_000;
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
const FILES = 60;
const CUT1 = '2024-06-02T20:00:00-06:00';
const CUT2 = '2024-06-02T20:20:00-06:00';
const ID1 = '20240602_2000';
const ID2 = '20240602_2020';

const proftpdUnavailable = proftpdUnavailableReason();
const dropbearUnavailable = dropbearUnavailableReason();
if (proftpdUnavailable) test.skip(`site mode on ProFTPD: SKIPPED, ${proftpdUnavailable}`, () => {});
if (dropbearUnavailable) test.skip(`site mode on Dropbear: SKIPPED, ${dropbearUnavailable}`, () => {});

/** A PREP-shaped folder: every tenth casilla file and main.json change with the cut; 7 is gone in the second. */
async function writeSite(dir: string, cutId: string, second: boolean): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'json'), { recursive: true });
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>PREP</title>\n');
  await writeFile(path.join(dir, 'json', 'main.json'), JSON.stringify({ cut: cutId }));
  for (let i = 0; i < FILES; i += 1) {
    if (second && i === 7) continue;
    const district = path.join(dir, 'json', `d${i % 6}`);
    await mkdir(district, { recursive: true });
    await writeFile(path.join(district, `${i}.json`), JSON.stringify({ i, votos: i * 37, ...(i % 10 === 0 ? { cut: cutId } : {}) }));
  }
}

function registryOf(file: string, difusor: Difusor): Registry {
  return {
    file,
    institute: 'IEM',
    timezone: 'America/Mexico_City',
    blockAfterMisses: 100,
    package: { name: 'PREP2024_MICH_{cut}', format: 'tar.gz' },
    push: { concurrency: 2, connectTimeoutS: 10, transferTimeoutS: 60, retries: 0 },
    publish: { keepReleases: 0 },
    difusores: [{ ...difusor, delivery: 'site' }],
  };
}

/** Every path under `dir`, relative, files and folders alike. */
async function entriesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

/** A difusor entry for one test server's account (key authentication, ed25519 host key pinned). */
function difusorOf(
  id: string,
  server: { host: string; port: number; hostKeys: { 'ssh-ed25519': string }; clientKey: { privateKeyPath: string } },
  username: string,
  remoteDir: string,
): Difusor {
  const { host, port } = server;
  return { id, name: id, host, port, username, privateKey: server.clientKey.privateKeyPath, hostKey: server.hostKeys['ssh-ed25519'], remoteDir, enabled: true };
}

/**
 * What a run of the site scenario needs: where the difusor's folder is on the server's disk, how
 * to reach it, and the publish.mode the server deserves.
 */
interface SiteTarget {
  /** The difusor's remote_dir as this machine sees it (the server's disk). */
  diskDir: string;
  difusor: Difusor;
  mode: string;
  /** What `probe` must find: a symlink swapped atomically by a rename (how `rename` switches current). */
  atomicSymlinkSwap: boolean;
}

function siteScenario(label: string, target: () => SiteTarget): void {
  let work: string;
  let source: string;
  let reg: Registry;
  const cut = async (time: string): Promise<RunReport> =>
    runCut({ registry: reg, stateDir: path.join(work, 'state'), sourceDir: source, cut: parseCutTime(time, reg.timezone, Date.now) }, deps);
  const push = async (cutId: string): Promise<RunReport> =>
    runPush({ registry: reg, stateDir: path.join(work, 'state'), cutId, allowRollback: false }, deps);

  /** The on-disk checks after every run: current, bytes, modes, no leftovers. */
  async function expectPublished(release: string, sourceDir: string): Promise<void> {
    const { diskDir } = target();
    const current = path.join(diskDir, 'current');
    expect((await lstat(current)).isSymbolicLink()).toBe(true);
    // Relative and naming the release itself, whatever the server did with SYMLINK's arguments.
    expect(await readlink(current)).toBe(`releases/${release}`);
    const releaseDir = path.join(diskDir, 'releases', release);
    const released = await entriesUnder(releaseDir);
    expect(released.filter((p) => p !== 'MANIFEST.json')).toEqual(await entriesUnder(sourceDir));
    for (const p of released) {
      const s = await lstat(path.join(releaseDir, p));
      expect([p, s.isSymbolicLink(), (s.mode & 0o7777).toString(8)]).toEqual([p, false, s.isDirectory() ? '755' : '644']);
      if (s.isFile() && p !== 'MANIFEST.json') {
        expect([p, (await readFile(path.join(releaseDir, p))).equals(await readFile(path.join(sourceDir, p)))]).toEqual([p, true]);
      }
    }
    const manifest = JSON.parse(await readFile(path.join(releaseDir, 'MANIFEST.json'), 'utf8')) as { cut: { id: string } };
    expect(manifest.cut.id).toBe(release);
    expect(((await lstat(path.join(diskDir, 'releases'))).mode & 0o7777).toString(8)).toBe('755');
    expect((await readdir(path.join(diskDir, 'releases'))).filter((n) => n.startsWith('.'))).toEqual([]);
    expect((await readdir(diskDir)).filter((n) => n.startsWith('.'))).toEqual([]);
    // What the web server reads through `current`.
    expect(JSON.parse(await readFile(path.join(current, 'json', 'main.json'), 'utf8'))).toEqual({ cut: release });
  }

  describe(label, () => {
    beforeAll(async () => {
      work = await mkdtemp(path.join(tmpdir(), 'prep-push-interop-site-'));
      source = path.join(work, 'sitio');
      reg = registryOf(path.join(work, 'difusores.yaml'), target().difusor);
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    test('first publish: every file uploaded, current -> releases/<cut>, in the mode this server deserves', async () => {
      await writeSite(source, ID1, false);
      const report = await cut(CUT1);
      expect(report.results.map((r) => [r.outcome, r.error?.message])).toEqual([['delivered', undefined]]);
      expect(report.results[0].publish).toMatchObject({ mode: target().mode, release: ID1, uploaded_files: FILES + 3, linked_files: 0 });
      await expectPublished(ID1, source);
      expect((await readdir(target().diskDir)).sort()).toEqual(['current', 'releases']);
    }, LONG);

    test('an incremental cut: only new and changed files uploaded, the rest reused, the deleted one absent', async () => {
      await writeSite(source, ID2, true);
      const report = await cut(CUT2);
      expect(report.results.map((r) => [r.outcome, r.error?.message])).toEqual([['delivered', undefined]]);
      const changed = Array.from({ length: FILES }, (_, i) => i).filter((i) => i % 10 === 0).length;
      const publish = report.results[0].publish!;
      expect(publish.mode).toBe(target().mode);
      expect(publish.release).toBe(ID2);
      if (target().mode.startsWith('link')) {
        // main.json, the changed casillas and MANIFEST.json; index.html and the others linked.
        expect([publish.uploaded_files, publish.linked_files]).toEqual([changed + 2, FILES - 1 - changed + 1]);
        const releases = path.join(target().diskDir, 'releases');
        const inode = async (r: string, p: string) => (await lstat(path.join(releases, r, p))).ino;
        expect(await inode(ID2, 'json/d1/1.json')).toBe(await inode(ID1, 'json/d1/1.json'));
        expect(await inode(ID2, 'json/d0/0.json')).not.toBe(await inode(ID1, 'json/d0/0.json'));
      } else {
        expect([publish.uploaded_files, publish.linked_files]).toEqual([FILES - 1 + 3, 0]);
      }
      await expectPublished(ID2, source);
      await expect(lstat(path.join(target().diskDir, 'releases', ID2, 'json', 'd1', '7.json'))).rejects.toThrow(/ENOENT/);
      // The previous release is whole and untouched.
      expect(JSON.parse(await readFile(path.join(target().diskDir, 'releases', ID1, 'json', 'main.json'), 'utf8'))).toEqual({ cut: ID1 });
      expect((await readdir(path.join(target().diskDir, 'releases'))).sort()).toEqual([ID1, ID2]);
    }, LONG);

    test('re-running the cut the difusor has: delivered, nothing uploaded, current left as it is', async () => {
      const before = await lstat(path.join(target().diskDir, 'current'));
      const report = await push(ID2);
      expect(report.results[0]).toMatchObject({
        outcome: 'delivered',
        publish: { mode: target().mode, release: ID2, uploaded_files: 0, linked_files: 0, bytes_uploaded: 0 },
      });
      const after = await lstat(path.join(target().diskDir, 'current'));
      // Not even re-created: the same link (inode) as before.
      expect(after.ino).toBe(before.ino);
      await expectPublished(ID2, source);
    }, LONG);

    test('a `.`-named symlink to a release in releases/ is removed as a leftover, never followed: that release keeps its files', async () => {
      const releases = path.join(target().diskDir, 'releases');
      const before = await entriesUnder(path.join(releases, ID1));
      await symlink(ID1, path.join(releases, '.staging-ajeno'));
      const owner = await stat(releases);
      await lchown(path.join(releases, '.staging-ajeno'), owner.uid, owner.gid);
      const report = await push(ID2);
      expect(report.results[0]).toMatchObject({ outcome: 'delivered', publish: { uploaded_files: 0 } });
      expect(await entriesUnder(path.join(releases, ID1))).toEqual(before);
      await expectPublished(ID2, source);
    }, LONG);

    test('probe finds what site mode found: symlinks, hard links, and whether a rename swaps a symlink; leaves nothing', async () => {
      const probeFile = path.join(work, 'probe.bin');
      await writeFile(probeFile, Buffer.alloc(64 * 1024, 1));
      const before = await entriesUnder(target().diskDir);
      // What an interrupted probe may leave: a file, a folder, a link (here to releases/, which
      // must survive the sweep), all owned by the account.
      const dir = target().diskDir;
      const owner = await stat(dir);
      const left = ['old-test', 'old-dir', 'old-link'].map((n) => path.join(dir, `${PROBE_PREFIX}-${n}`));
      await writeFile(left[0], 'x');
      await mkdir(left[1]);
      await symlink('releases', left[2]);
      for (const p of left) await lchown(p, owner.uid, owner.gid);
      const m = await probeDifusor(
        target().difusor,
        { connectTimeoutMs: 10_000, uploadDeadlineS: 30, probeFile, probeBytes: 64 * 1024 },
        { transport: ssh2Transport, env: {}, clock: systemClock },
      );
      expect([m.connectError, m.interrupted, m.writeTest]).toEqual([null, null, { ok: true }]);
      expect([m.symlink, m.hardlink, m.symlinkSwap]).toEqual([true, true, target().atomicSymlinkSwap]);
      expect(m.leftBehind).toEqual([]);
      expect(m.leftoversRemoved.map((p) => path.posix.basename(p)).sort()).toEqual(left.map((p) => path.basename(p)).sort());
      expect(await entriesUnder(target().diskDir)).toEqual(before);
    }, LONG);

    test('pushing the older cut: ROLLBACK_REFUSED naming --allow-rollback, current still on the newer one', async () => {
      const report = await push(ID1);
      expect(report.results[0]).toMatchObject({ outcome: 'failed', error: { code: 'ROLLBACK_REFUSED' } });
      expect(report.results[0].error!.message).toMatch(/--allow-rollback/);
      await expectPublished(ID2, source);
      expect((await readdir(path.join(target().diskDir, 'releases'))).sort()).toEqual([ID1, ID2]);
    }, LONG);
  });
}

describe('ProFTPD 1.3.8 mod_sftp', () => {
  let server: ProftpdFixture | undefined;
  let diskDir: string;
  const runnable = proftpdUnavailable === undefined;
  beforeAll(async () => {
    if (!runnable) return;
    server = await startProftpd({ chroot: true });
    diskDir = path.join(server.homeDir, 'prep');
    await mkdir(diskDir);
    await chown(diskDir, 65534, 65534);
  }, LONG);
  afterAll(async () => {
    await server?.stop();
  });
  if (!runnable) return;
  // ProFTPD's RENAME resolves a symlink at its target (so `current` cannot be renamed over) and
  // it offers hardlink@openssh.com: hard links, and `current` removed and created again.
  siteScenario('site mode', () => ({
    diskDir,
    mode: 'link+relink',
    atomicSymlinkSwap: false,
    difusor: difusorOf('proftpd', server!, server!.username, server!.remotePathOf(diskDir)),
  }));
});

describe('Dropbear 2022.83 (OpenSSH sftp-server)', () => {
  let server: DropbearFixture | undefined;
  let diskDir: string;
  const runnable = dropbearUnavailable === undefined;
  beforeAll(async () => {
    if (!runnable) return;
    server = await startDropbear();
    // A folder of its own beside the account's .ssh, owned by the account.
    diskDir = path.join(server.account.homeDir, 'prep');
    await mkdir(diskDir);
    const home = await stat(server.account.homeDir);
    await chown(diskDir, home.uid, home.gid);
  }, LONG);
  afterAll(async () => {
    await server?.stop();
  });
  if (!runnable) return;
  // The SFTP side is OpenSSH's sftp-server: hard links and posix-rename, the goal mode.
  siteScenario('site mode', () => ({
    diskDir,
    mode: 'link+rename',
    atomicSymlinkSwap: true,
    difusor: difusorOf('dropbear', server!, server!.account.username, diskDir),
  }));
});
