// Recycling with publish.keep_releases 2: on real OpenSSH sshd, five cuts (changed, deleted and new
// files, a new and a dropped folder), every release's files checked against its MANIFEST.json after
// each cut, and every release kept across a cut byte-identical before and after it (a recycled
// release shares inodes with the kept ones: one write through them would show here). Then a
// connection dropped in the middle of a recycle (in-process server) and the clean recovery after it.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut, runPush } from '../../src/cut/run.js';
import type { RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { Registry } from '../../src/registry/types.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { startSftpServer, type SftpFaults, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';
import { makeKeyPair } from '../helpers/keys.js';
import { registryYamlFor } from '../helpers/sshd.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { generateReadableKeyPair } from '../../src/sftp-server/index.js';

const LONG = 120_000;
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
const FILES = 300;

const fx = sshdWithWorkspace({ accounts: [{ id: 's1' }] }, LONG);

/**
 * Cut `n` of a PREP-shaped folder: each cut rewrites its own ~4% of the files (so a release two cuts
 * old differs in ~8%), deletes a few, and from cut 3 on adds a folder `extra/cN/` while dropping
 * the one of the cut before (a folder recycled away).
 */
async function writeSite(source: string, n: number, big = 0): Promise<void> {
  await rm(source, { recursive: true, force: true });
  await mkdir(path.join(source, 'json'), { recursive: true });
  await writeFile(path.join(source, 'index.html'), '<!doctype html><title>PREP</title>\n');
  await writeFile(path.join(source, 'json', 'main.json'), JSON.stringify({ cut: n }));
  for (let i = 0; i < FILES; i += 1) {
    if (i % 97 === n) continue; // deleted in this cut
    const dir = path.join(source, 'json', `d${String(i % 12).padStart(2, '0')}`);
    await mkdir(dir, { recursive: true });
    const touched = i % 25 === n % 25 ? n : 0;
    await writeFile(path.join(dir, `${i}.json`), JSON.stringify({ i, votes: i * 7, touched }));
  }
  if (n >= 3) {
    await mkdir(path.join(source, 'extra', `c${n}`, 'deep'), { recursive: true });
    await writeFile(path.join(source, 'extra', `c${n}`, 'deep', 'x.json'), JSON.stringify({ n }));
  }
  if (big > 0) await writeFile(path.join(source, 'big.bin'), randomBytes(big));
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/**
 * Every release on the difusor: each file's SHA-256 as read from disk. Asserts that the files are
 * exactly those its MANIFEST.json lists (plus the manifest) with the listed hashes and sizes.
 */
async function checkReleases(releasesDir: string): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const name of (await readdir(releasesDir)).filter((n) => !n.startsWith('.')).sort()) {
    const dir = path.join(releasesDir, name);
    const manifest = JSON.parse(await readFile(path.join(dir, 'MANIFEST.json'), 'utf8')) as {
      files: Array<{ path: string; size: number; sha256: string }>;
    };
    const hashes = new Map<string, string>();
    for (const rel of await filesUnder(dir)) hashes.set(rel, sha256(await readFile(path.join(dir, rel))));
    const listed = manifest.files.map((f) => f.path).sort();
    expect([name, [...hashes.keys()].filter((p) => p !== 'MANIFEST.json')]).toEqual([name, listed]);
    for (const f of manifest.files) {
      expect([name, f.path, hashes.get(f.path), (await stat(path.join(dir, f.path))).size]).toEqual([name, f.path, f.sha256, f.size]);
    }
    out.set(name, hashes);
  }
  return out;
}

function expectKeptUnchanged(before: Map<string, Map<string, string>>, after: Map<string, Map<string, string>>): number {
  let compared = 0;
  for (const [name, hashes] of before) {
    const now = after.get(name);
    if (now === undefined) continue;
    expect([name, Object.fromEntries(now)]).toEqual([name, Object.fromEntries(hashes)]);
    compared += 1;
  }
  return compared;
}

describe('recycling on real sshd, publish.keep_releases 2', () => {
  const source = () => path.join(fx.ws.dir, 'sitio');
  const difusorDir = () => fx.sshd.accounts.s1.dir;
  const releasesDir = () => path.join(difusorDir(), 'releases');

  async function cutN(n: number): Promise<RunReport> {
    await writeSite(source(), n);
    await fx.ws.writeRegistry(`${registryYamlFor(fx.sshd, ['s1'], { difusores: { s1: { delivery: 'site' } } })}publish:\n  keep_releases: 2\n`);
    const reg = await loadRegistry(fx.ws.registryFile, { env: {} });
    const time = `2024-06-02T20:0${n}:00-06:00`;
    return runCut({ registry: reg, stateDir: fx.ws.stateDir, sourceDir: source(), cut: parseCutTime(time, reg.timezone, Date.now) }, deps);
  }
  const idOf = (n: number): string => `20240602_200${n}`;

  test('five cuts: from the third on, the oldest release becomes the new one; every release matches its manifest; kept ones never change', async () => {
    let before = new Map<string, Map<string, string>>();
    for (let n = 1; n <= 5; n += 1) {
      const report = await cutN(n);
      expect(report.results.map((r) => [r.id, r.outcome, r.error?.code])).toEqual([['s1', 'delivered', undefined]]);
      const publish = report.results[0].publish!;
      expect(await readlink(path.join(difusorDir(), 'current'))).toBe(`releases/${idOf(n)}`);
      expect(JSON.parse(await readFile(path.join(difusorDir(), 'current', 'json', 'main.json'), 'utf8'))).toEqual({ cut: n });
      const after = await checkReleases(releasesDir());
      expect([...after.keys()]).toEqual(n === 1 ? [idOf(1)] : [idOf(n - 1), idOf(n)]);
      expect(await readdir(difusorDir())).toEqual(expect.not.arrayContaining([expect.stringMatching(/^\./)]));
      expect((await readdir(releasesDir())).filter((name) => name.startsWith('.'))).toEqual([]);
      if (n >= 3) {
        // The release the cut before kept is compared byte for byte: it shares inodes with the recycled one.
        expect(expectKeptUnchanged(before, after)).toBe(1);
        expect(publish).toMatchObject({ mode: 'recycle+rename', recycled_from: idOf(n - 2), release: idOf(n) });
        // Most files stayed where they were; only the difference cost requests.
        expect(publish.kept_files).toBeGreaterThan(FILES * 0.8);
        expect(publish.kept_files! + publish.linked_files + publish.uploaded_files).toBe(after.get(idOf(n))!.size);
        expect(publish.uploaded_files).toBeLessThan(FILES * 0.2);
        expect(publish.sftp_operations).toBeLessThan(FILES * 0.5);
        // An unchanged file is one inode in both kept releases; a changed one is not.
        const ino = async (r: string, rel: string) => (await stat(path.join(releasesDir(), r, rel))).ino;
        expect(await ino(idOf(n), 'json/d01/1.json')).toBe(await ino(idOf(n - 1), 'json/d01/1.json'));
        expect(await ino(idOf(n), 'json/main.json')).not.toBe(await ino(idOf(n - 1), 'json/main.json'));
      } else {
        expect(publish).toMatchObject({ mode: 'link+rename', recycled_from: null, kept_files: 0 });
        if (n === 2) expect(expectKeptUnchanged(before, after)).toBe(1);
      }
      before = after;
    }
  }, LONG);

  test('an old release whose MANIFEST.json is not one we published is not recycled (pruned instead)', async () => {
    // Cut 5's kept predecessor (cut 4) is the one pruning removes next: alter its manifest by hand.
    const doomed = path.join(releasesDir(), idOf(4), 'MANIFEST.json');
    const text = await readFile(doomed, 'utf8');
    await rm(doomed);
    await writeFile(doomed, text.replace('"files"', '"hand_edited":true,"files"'));
    const report = await cutN(6);
    expect(report.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode: 'link+rename', recycled_from: null } });
    expect([...(await checkReleases(releasesDir())).keys()]).toEqual([idOf(5), idOf(6)]);
  }, LONG);
});

describe('a connection dropped in the middle of a recycle', () => {
  const hostKey = generateReadableKeyPair().private;
  const servers: SftpServerHandle[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  test('leaves current on the complete previous release and the kept releases intact; the next run removes the half-recycled tree and publishes', async () => {
    const key = await makeKeyPair(fx.ws.dir, 'fault-client');
    const root = path.join(fx.ws.dir, 'fault-root');
    const dir = path.join(root, 'prep');
    await mkdir(dir, { recursive: true });
    const source = path.join(fx.ws.dir, 'fault-sitio');
    const stateDir = path.join(fx.ws.dir, 'fault-state');
    const serve = async (faults?: SftpFaults): Promise<SftpServerHandle> => {
      const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [key.publicKey], hostKey, faults });
      servers.push(server);
      return server;
    };
    const registryFor = (server: SftpServerHandle): Registry =>
      aRegistry(
        [aDifusor('d1', { host: server.host, port: server.port, privateKey: key.privateKeyPath, hostKey: server.hostKeyFingerprint, delivery: 'site' })],
        { file: fx.ws.registryFile, blockAfterMisses: 100, push: { concurrency: 4, connectTimeoutS: 5, transferTimeoutS: 20, retries: 0 }, publish: { keepReleases: 2 } },
      );
    const cutAt = async (server: SftpServerHandle, n: number, big = 0): Promise<RunReport> => {
      await writeSite(source, n, big);
      const reg = registryFor(server);
      return runCut({ registry: reg, stateDir, sourceDir: source, cut: parseCutTime(`2024-06-02T20:0${n}:00-06:00`, reg.timezone, Date.now) }, deps);
    };
    const releasesDir = path.join(dir, 'releases');

    const healthy = await serve();
    for (const n of [1, 2]) expect((await cutAt(healthy, n)).results[0].outcome).toBe('delivered');
    const before = await checkReleases(releasesDir);

    // Cut 3 recycles cut 1's release; the link drops while its 1 MB file is on the way, after the
    // old release was renamed to its staging name and its changed files removed.
    const faulty = await serve({ dropAfterBytes: 300_000 });
    const broken = await cutAt(faulty, 3, 1_000_000);
    expect(broken.results[0]).toMatchObject({ outcome: 'failed', error: { code: 'CONNECTION_LOST' } });
    await faulty.close();
    const left = (await readdir(releasesDir)).sort();
    expect(left).toEqual([expect.stringMatching(/^\.staging-20240602_2003\.prep-push-[0-9a-f]{12}$/), idOfCut(2)]);
    expect(await readlink(path.join(dir, 'current'))).toBe(`releases/${idOfCut(2)}`);
    // The release current names is whole and unchanged, though the half-recycled tree shares its inodes.
    const during = await checkReleases(releasesDir);
    expect(expectKeptUnchanged(before, during)).toBe(1);

    const recovered = await runPush({ registry: registryFor(healthy), stateDir, cutId: broken.cut.id }, deps);
    expect(recovered.results[0]).toMatchObject({ outcome: 'delivered', publish: { release: idOfCut(3) } });
    expect(await readlink(path.join(dir, 'current'))).toBe(`releases/${idOfCut(3)}`);
    expect((await readdir(releasesDir)).filter((n) => n.startsWith('.'))).toEqual([]);
    const after = await checkReleases(releasesDir);
    expect([...after.keys()]).toEqual([idOfCut(2), idOfCut(3)]);
    expect(expectKeptUnchanged(before, after)).toBe(1);

    // And the next cut recycles again (cut 2's release).
    const next = await cutAt(healthy, 4);
    expect(next.results[0].publish).toMatchObject({ mode: 'recycle+rename', recycled_from: idOfCut(2) });
    expect([...(await checkReleases(releasesDir)).keys()]).toEqual([idOfCut(3), idOfCut(4)]);
  }, LONG);
});

function idOfCut(n: number): string {
  return `20240602_200${n}`;
}
