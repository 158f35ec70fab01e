// A file an audit found altered at a difusor is never reused there (#23 item 3): a site-mode
// difusor on real sshd, served by real nginx, has index.html altered in place (same size, so only
// the audit can tell); `audit --sample all` calls it tampered; the next cut uploads that file
// afresh instead of linking it, and the audit after it is ok. Through the built binary.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serveSite } from '../helpers/audit-site.js';
import { runPrepPush, type CliRun } from '../helpers/cli.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { nginxUnavailableReason, type NginxFixture } from '../helpers/nginx.js';
import { openAllParents } from '../helpers/prep-apply.js';
import { registryYamlFor } from '../helpers/sshd.js';

const LONG = 120_000;
const fx = sshdWithWorkspace({ accounts: [{ id: 'sitio' }] }, LONG);
const skip = nginxUnavailableReason();
const maybe = skip ? test.skip : test;
let nginx: NginxFixture | undefined;

const cli = (...args: string[]): Promise<CliRun> => runPrepPush(['--config', fx.ws.registryFile, ...args], { timeoutMs: 120_000 });

async function cutAt(minute: string): Promise<{ outcome: string; publish: { uploaded_files: number; linked_files: number } }> {
  await writeFile(path.join(fx.ws.sourceDir, 'json', 'main.json'), `{"corte":"${minute}"}\n`);
  const run = await cli('cut', '--source', fx.ws.sourceDir, '--cut', `2024-06-02T${minute}:00-06:00`, '--json');
  return JSON.parse(run.stdout).results[0];
}

async function audit(): Promise<{ outcome: string; problems: string[] }> {
  const run = await cli('audit', '--sample', 'all', '--json');
  return JSON.parse(run.stdout).results[0];
}

afterAll(async () => {
  await nginx?.stop();
}, LONG);

maybe('audit finds index.html altered; the next cut uploads it afresh, never links it; the audit after is ok', async () => {
  const dir = fx.sshd.accounts.sitio.dir;
  openAllParents(dir);
  nginx = await serveSite(dir);
  await fx.ws.writeRegistry(registryYamlFor(fx.sshd, ['sitio'], { stateDir: fx.ws.stateDir, difusores: { sitio: { delivery: 'site', url: nginx.url } } }));
  expect((await cutAt('20:00')).outcome).toBe('delivered');
  expect((await audit()).outcome).toBe('ok');

  // The same number of bytes, other content: only hashing tells.
  const served = path.join(dir, 'releases', '20240602_2000', 'index.html');
  const original = await readFile(served, 'utf8');
  const defaced = original.replace(/PREP/, 'FAKE');
  expect(defaced).not.toBe(original);
  expect(Buffer.byteLength(defaced)).toBe(Buffer.byteLength(original));
  await writeFile(served, defaced);
  const found = await audit();
  expect(found.outcome).toBe('tampered');
  expect(found.problems.join('\n')).toContain('index.html');

  const next = await cutAt('20:20');
  expect(next.outcome).toBe('delivered');
  // json/main.json (changed), MANIFEST.json, and index.html uploaded afresh; nothing else.
  expect(next.publish.uploaded_files).toBe(3);
  expect(await readFile(path.join(dir, 'current', 'index.html'), 'utf8')).toBe(original);
  expect((await audit()).outcome).toBe('ok');
}, LONG);
