// The servers' capabilities remembered in the state dir (src/publish/capability-memory.ts), on real
// OpenSSH sshd: the first site publish probes and writes capabilities.json; the next cut uses the
// memory instead of probing (shown by a planted memory the probe would contradict); a memory learnt
// under another remote_dir is not used; a memory that makes the publish fail is forgotten, and the
// next cut probes and delivers.
import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { capabilitiesPath } from '../../src/core/state-dir.js';
import { runCut } from '../../src/cut/run.js';
import type { RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const LONG = 180_000;
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };

let sshd: SshdFixture;
let ws: Workspace;
let source: string;
/** The second remote_dir, where the last two tests publish. */
let elsewhere: string;

async function cutAt(time: string, remoteDirOf: (id: string) => string = (id) => sshd.accounts[id].dir): Promise<RunReport> {
  const yaml = registryYamlFor(sshd, ['m1'], { difusores: { m1: { delivery: 'site', remote_dir: remoteDirOf('m1') } } });
  await ws.writeRegistry(yaml);
  const reg = await loadRegistry(ws.registryFile, { env: {} });
  await writeFile(path.join(source, 'index.html'), `<!doctype html><title>PREP ${time}</title>\n`);
  return runCut({ registry: reg, stateDir: ws.stateDir, sourceDir: source, cut: parseCutTime(time, reg.timezone, Date.now) }, deps);
}

type Memory = Record<string, { where: string; extensions: string; caps: Record<string, boolean> }>;
const readMemory = async (): Promise<Memory> => JSON.parse(await readFile(capabilitiesPath(ws.stateDir), 'utf8')) as Memory;

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'm1' }] });
  ws = await makeWorkspace();
  source = path.join(ws.dir, 'sitio');
  await mkdir(path.join(source, 'json'), { recursive: true });
  await writeFile(path.join(source, 'json', 'main.json'), '{}');
}, LONG);
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
}, LONG);

test('the first publish probes and remembers what the server does', async () => {
  const report = await cutAt('2024-06-02T20:00:00-06:00');
  expect(report.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode: 'link+rename' } });
  const memory = await readMemory();
  expect(Object.keys(memory)).toEqual(['m1']);
  expect(memory.m1.caps).toEqual({ hardlink: true, posixRename: true, symlink: true, renameReplacesSymlink: true });
  expect(memory.m1.extensions).toContain('hardlink@openssh.com');
}, LONG);

test('the next cut uses the memory, not the probe; another remote_dir probes again', async () => {
  // Planted: a server whose RENAME follows symlinks. OpenSSH does not, so only a publish that did not
  // probe switches by `relink`.
  const memory = await readMemory();
  memory.m1.caps.renameReplacesSymlink = false;
  await writeFile(capabilitiesPath(ws.stateDir), JSON.stringify(memory));
  const recalled = await cutAt('2024-06-02T20:20:00-06:00');
  expect(recalled.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode: 'link+relink', current: '20240602_2020' } });

  elsewhere = `${sshd.accounts.m1.dir}/otro`;
  const owner = await stat(sshd.accounts.m1.dir);
  await mkdir(elsewhere);
  await chown(elsewhere, owner.uid, owner.gid);
  const probed = await cutAt('2024-06-02T20:40:00-06:00', () => elsewhere);
  expect(probed.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode: 'link+rename' } });
  expect((await readMemory()).m1.where).toContain(elsewhere);
}, LONG);

test('a memory that makes the publish fail is forgotten: the next cut probes and delivers', async () => {
  const memory = await readMemory();
  memory.m1.caps.symlink = false;
  await writeFile(capabilitiesPath(ws.stateDir), JSON.stringify(memory));
  const failed = await cutAt('2024-06-02T21:00:00-06:00', () => elsewhere);
  expect(failed.results[0]).toMatchObject({ outcome: 'failed', error: { code: 'SFTP_ERROR' } });
  expect(await readMemory()).toEqual({});
  const healed = await cutAt('2024-06-02T21:20:00-06:00', () => elsewhere);
  expect(healed.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode: 'link+rename', current: '20240602_2120' } });
  expect((await readMemory()).m1.caps.symlink).toBe(true);
}, LONG);
