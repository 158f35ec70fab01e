// Site mode against the in-process SFTP server standing in for servers OpenSSH is not: without
// hard links, without posix-rename, with ProFTPD's rename and readlink, without symlinks; and the
// faults of a dying link, a full disk and a hung server in the middle of a release. In every case
// `current` names a complete release, and the next run recovers and leaves no `.`-leftovers.
import { mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut, runPush } from '../../src/cut/run.js';
import type { RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { Difusor, Registry } from '../../src/registry/types.js';
import { startSftpServer, type SftpFaults, type SftpServerHandle } from '../../src/sftp-server/index.js';
import type { SftpQuirks } from '../../src/sftp-server/types.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { generateReadableKeyPair } from '../../src/sftp-server/index.js';

const LONG = 120_000;
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };
const FILES = 120;

let ws: Workspace;
let key: KeyPair;
const hostKey = generateReadableKeyPair().private;
const servers: SftpServerHandle[] = [];

beforeAll(async () => {
  ws = await makeWorkspace();
  key = await makeKeyPair(ws.dir, 'client');
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await ws?.remove();
});

/** A served root; the difusor's remote_dir is /prep inside it. */
async function root(name: string): Promise<{ root: string; dir: string }> {
  const r = path.join(ws.dir, 'roots', name);
  await mkdir(path.join(r, 'prep'), { recursive: true });
  return { root: r, dir: path.join(r, 'prep') };
}

async function serve(rootDir: string, options: { faults?: SftpFaults; quirks?: SftpQuirks } = {}): Promise<SftpServerHandle> {
  const server = await startSftpServer({ root: rootDir, username: 'iem', authorizedKeys: [key.publicKey], hostKey, ...options });
  servers.push(server);
  return server;
}

function registryFor(server: SftpServerHandle, transferTimeoutS = 20): Registry {
  const difusor: Difusor = {
    id: 'd1',
    name: 'Difusor d1',
    host: server.host,
    port: server.port,
    username: 'iem',
    privateKey: key.privateKeyPath,
    hostKey: server.hostKeyFingerprint,
    remoteDir: '/prep',
    enabled: true,
    delivery: 'site',
  };
  return {
    file: ws.registryFile,
    institute: 'IEM',
    timezone: 'America/Mexico_City',
    blockAfterMisses: 100,
    package: { name: 'PREP_{cut}', format: 'tar.gz' },
    push: { concurrency: 4, connectTimeoutS: 5, transferTimeoutS, retries: 0 },
    publish: { keepReleases: 0 },
    difusores: [difusor],
  };
}

/** Every file carries the cut id; `big` adds incompressible bytes so a fault can land mid-release. */
async function writeSite(cutId: string, big = 0): Promise<void> {
  await rm(ws.sourceDir, { recursive: true, force: true });
  for (let i = 0; i < FILES; i += 1) {
    const dir = path.join(ws.sourceDir, 'json', `d${i % 8}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${i}.json`), JSON.stringify({ i, stable: i % 10 !== 0 ? 'same' : cutId }));
  }
  await writeFile(path.join(ws.sourceDir, 'json', 'main.json'), JSON.stringify({ cut: cutId }));
  if (big > 0) await writeFile(path.join(ws.sourceDir, 'big.bin'), randomBytes(big));
}

let minute = 0;
/** A new cut of the current source folder, each a minute after the last. */
async function cut(registry: Registry): Promise<RunReport> {
  minute += 1;
  const time = `2024-06-02T20:${String(minute).padStart(2, '0')}:00-06:00`;
  return runCut({ registry, stateDir: ws.stateDir, sourceDir: ws.sourceDir, cut: parseCutTime(time, registry.timezone, Date.now) }, deps);
}

async function publishTwice(name: string, quirks: SftpQuirks): Promise<{ first: RunReport; second: RunReport; dir: string }> {
  const { root: r, dir } = await root(name);
  const server = await serve(r, { quirks });
  await writeSite(`${name}-1`);
  const first = await cut(registryFor(server));
  await writeSite(`${name}-2`);
  const second = await cut(registryFor(server));
  return { first, second, dir };
}

async function currentCut(dir: string): Promise<string> {
  return JSON.parse(await readFile(path.join(dir, 'current', 'json', 'main.json'), 'utf8')).cut;
}

async function leftovers(dir: string): Promise<string[]> {
  const top = (await readdir(dir)).filter((n) => n.startsWith('.'));
  const inReleases = (await readdir(path.join(dir, 'releases'))).filter((n) => n.startsWith('.'));
  return [...top, ...inReleases];
}

describe('capability fallbacks, each named in publish.mode', () => {
  test.each([
    { name: 'openssh-like', quirks: {}, mode: 'link+rename' },
    { name: 'no-hardlink', quirks: { withoutExtensions: ['hardlink@openssh.com'] }, mode: 'upload+rename' },
    { name: 'no-posix-rename', quirks: { withoutExtensions: ['posix-rename@openssh.com'] }, mode: 'link+unlink-rename' },
    { name: 'proftpd-like', quirks: { renameFollowsSymlinks: true, readlinkJoinsFolder: true, lstatFollowsSymlinks: true }, mode: 'link+relink' },
  ])('$name: $mode', async ({ name, quirks, mode }) => {
    const { first, second, dir } = await publishTwice(name, quirks);
    expect(first.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode } });
    expect(second.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode } });
    const p = second.results[0].publish!;
    if (mode.startsWith('link')) {
      expect(p.linked_files).toBeGreaterThan(FILES / 2);
    } else {
      expect(p.linked_files).toBe(0);
      expect(p.uploaded_files).toBe(FILES + 2);
    }
    expect(await currentCut(dir)).toBe(`${name}-2`);
    expect(await readlink(path.join(dir, 'current'))).toBe(`releases/${second.cut.id}`);
    expect(await leftovers(dir)).toEqual([]);
  }, LONG);

  test('no symlinks: refused with a message naming delivery: package, nothing left behind', async () => {
    const { root: r, dir } = await root('no-symlinks');
    const server = await serve(r, { quirks: { noSymlinks: true } });
    await writeSite('x');
    const report = await cut(registryFor(server));
    expect(report.results[0]).toMatchObject({ outcome: 'failed', error: { code: 'SFTP_ERROR' } });
    expect(report.results[0].error!.message).toMatch(/symlinks.*delivery: package/);
    expect(await readdir(path.join(dir, 'releases'))).toEqual([]);
  }, LONG);
});

describe('faults in the middle of a release leave current on a complete release; the next run recovers', () => {
  test.each([
    { fault: 'connection dropped', faults: { dropAfterBytes: 200_000 }, code: 'CONNECTION_LOST', timeoutS: 20 },
    { fault: 'disk full', faults: { failWritesAfterBytes: 200_000 }, code: 'NO_SPACE', timeoutS: 20 },
    { fault: 'server hung', faults: { stallAfterBytes: 200_000 }, code: 'TRANSFER_TIMEOUT', timeoutS: 3 },
  ])('$fault → $code', async ({ fault, faults, code, timeoutS }) => {
    const name = fault.replace(/\W+/g, '-');
    const { root: r, dir } = await root(name);
    const healthy = await serve(r);
    await writeSite(`${name}-1`);
    const first = await cut(registryFor(healthy));
    expect(first.results[0].outcome).toBe('delivered');

    const faulty = await serve(r, { faults });
    await writeSite(`${name}-2`, 1_000_000);
    const broken = await cut(registryFor(faulty, timeoutS));
    expect(broken.results[0]).toMatchObject({ outcome: 'failed', error: { code } });
    expect(await currentCut(dir)).toBe(`${name}-1`);
    await faulty.close();

    const recovered = await runPush({ registry: registryFor(healthy), stateDir: ws.stateDir, cutId: broken.cut.id }, deps);
    expect(recovered.results[0]).toMatchObject({ outcome: 'delivered' });
    expect(recovered.results[0].publish!.linked_files).toBeGreaterThan(FILES / 2);
    expect(await currentCut(dir)).toBe(`${name}-2`);
    expect(await leftovers(dir)).toEqual([]);
  }, LONG);
});
