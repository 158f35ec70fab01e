// The kit's files against the real tools: shellcheck on prep-apply and the set-up scripts, `nginx -t`
// on the rendered nginx.conf as written and that very file serving a notice release (every missing
// path shows /index.html), `sshd -t` with the sshd_config snippets of both kinds of kit,
// systemd-analyze on the units.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderKit } from '../../src/kit/render-kit.js';
import { kitTemplatesDir, readKitTemplates } from '../../src/kit/templates-dir.js';
import type { Difusor } from '../../src/registry/types.js';
import { aDifusor } from '../helpers/builders.js';
import { freePort } from '../helpers/net.js';
import { openAllParents } from '../helpers/prep-apply.js';

let dir: string;
let files: Record<string, string>;

async function renderInto(out: string, difusor: Partial<Difusor>): Promise<Record<string, string>> {
  mkdirSync(out, { recursive: true });
  const rendered = renderKit({
    institute: 'IEM',
    difusor: aDifusor('el-sol', { username: 'iem', ...difusor }),
    allowedSigners: 'IEM namespaces="prep-push" ssh-ed25519 AAAA\n',
    loginKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbeTSRFeF9+P9WoXW6NFjsdcrH1lQ8OvqPFIpTv5I8s',
    templates: await readKitTemplates(),
  });
  for (const f of rendered) writeFileSync(path.join(out, f.name), f.content);
  return Object.fromEntries(rendered.map((f) => [f.name, f.content]));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'prep-kit-files-'));
  files = await renderInto(dir, { remoteDir: '/prep', applyDir: path.join(dir, 'jaula', 'prep') });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('shellcheck finds nothing in prep-apply and the set-up scripts (POSIX sh), as templates and as rendered', async () => {
  const templates = ['prep-apply.sh', 'instalar.sh', 'instalar-sitio.sh'].map((t) => path.join(kitTemplatesDir(), t));
  const site = await renderInto(path.join(dir, 'sitio'), { delivery: 'site', remoteDir: '/prep', applyDir: path.join(dir, 'jaula', 'prep') });
  expect(Object.keys(site)).not.toContain('prep-apply');
  const rendered = [path.join(dir, 'prep-apply'), path.join(dir, 'instalar.sh'), path.join(dir, 'sitio', 'instalar.sh')];
  const run = spawnSync('shellcheck', ['-s', 'sh', ...templates, ...rendered], { encoding: 'utf8' });
  expect({ status: run.status, out: run.stdout }).toEqual({ status: 0, out: '' });
});

test('nginx -t accepts nginx.conf as written, with the Cache-Control of json/main.json and the fallback to /index.html', () => {
  const run = spawnSync('nginx', ['-t', '-c', path.join(dir, 'nginx.conf'), '-g', `pid ${path.join(dir, 'nginx.pid')};`], { encoding: 'utf8' });
  expect({ status: run.status, err: run.stderr }).toEqual({ status: 0, err: expect.stringContaining('test is successful') });
  expect(files['nginx.conf']).toMatch(/location = \/json\/main\.json \{\s+add_header Cache-Control "no-cache, no-store, must-revalidate" always;/);
  expect(files['nginx.conf']).toContain(`root ${path.join(dir, 'jaula', 'prep')}/current;`);
  expect(files['nginx.conf']).toMatch(/^\s+error_page 404 =200 \/index\.html;$/m);
  expect(files['nginx.conf']).toMatch(/^\s+# listen 443 ssl;$/m);
});

test('nginx.conf as written serves a notice release: deep links and json/main.json show the notice, dot folders never', async () => {
  const site = path.join(dir, 'nginx-site');
  const release = path.join(site, 'releases', '20240602_2020-aviso');
  mkdirSync(path.join(release, 'json'), { recursive: true });
  mkdirSync(path.join(site, '.prep-apply'), { recursive: true });
  writeFileSync(path.join(release, 'index.html'), '<!doctype html><title>Aviso</title>\n');
  writeFileSync(path.join(release, 'json', 'main.json'), '{"aviso":"ya no es un difusor válido","difusor_valido":false}');
  writeFileSync(path.join(site, '.prep-apply', 'mark'), '20240602_2020-aviso\n');
  symlinkSync('releases/20240602_2020-aviso', path.join(site, 'current'));
  openAllParents(release);
  const out = path.join(dir, 'nginx-run');
  const conf = (await renderInto(out, { remoteDir: site }))['nginx.conf'];
  const port = await freePort();
  // Only the port changes, and where a test nginx keeps its pid and logs.
  writeFileSync(path.join(out, 'nginx.conf'), conf.replace('listen 80;', `listen 127.0.0.1:${port};`).replace('sendfile on;', 'sendfile on;\n    access_log off;'));
  const nginx = spawn('nginx', ['-c', path.join(out, 'nginx.conf'), '-g', `daemon off; pid ${path.join(out, 'nginx.pid')}; error_log ${path.join(out, 'error.log')};`], { stdio: 'ignore' });
  try {
    const get = async (p: string) => {
      for (let i = 0; ; i += 1) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}${p}`);
          return { status: response.status, body: await response.text(), cacheControl: response.headers.get('cache-control') };
        } catch (error) {
          if (i > 100) throw error;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    expect(await get('/resultados/distrito-07/casilla-3.html')).toMatchObject({ status: 200, body: '<!doctype html><title>Aviso</title>\n' });
    expect(await get('/assets/js/chunk-00.js')).toMatchObject({ status: 200, body: '<!doctype html><title>Aviso</title>\n' });
    expect(await get('/json/main.json')).toMatchObject({ status: 200, body: expect.stringContaining('"difusor_valido":false'), cacheControl: 'no-cache, no-store, must-revalidate' });
    expect(await get('/')).toMatchObject({ status: 200, body: '<!doctype html><title>Aviso</title>\n' });
    expect((await get('/.prep-apply/mark')).status).toBe(403);
  } finally {
    nginx.kill('SIGTERM');
    await new Promise((resolve) => nginx.once('exit', resolve));
  }
});

test('sshd -t accepts the sshd_config snippets: chrooted SFTP-only account, and the site kit without a chroot', async () => {
  const hostKey = path.join(dir, 'host_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const site = await renderInto(path.join(dir, 'sitio-sin-jaula'), { delivery: 'site', remoteDir: '/srv/prep' });
  for (const snippet of [files['sshd_config.txt'], site['sshd_config.txt']]) {
    const config = path.join(dir, 'sshd_config');
    writeFileSync(config, `HostKey ${hostKey}\nSubsystem sftp internal-sftp\n${snippet}`);
    const run = spawnSync('/usr/sbin/sshd', ['-t', '-f', config], { encoding: 'utf8' });
    expect({ status: run.status, err: run.stderr }).toEqual({ status: 0, err: '' });
    expect(snippet).toMatch(/^Match User iem$/m);
    expect(snippet).toContain('ForceCommand internal-sftp');
  }
  expect(files['sshd_config.txt']).toContain(`ChrootDirectory ${path.join(dir, 'jaula')}\n`);
  expect(site['sshd_config.txt']).not.toMatch(/^\s*ChrootDirectory/m);
});

test('apache.conf serves REMOTE_DIR/current with FollowSymLinks, the Cache-Control of json/main.json and the fallback to /index.html', () => {
  const apache = files['apache.conf'];
  expect(apache).toContain(`DocumentRoot "${path.join(dir, 'jaula', 'prep')}/current"`);
  expect(apache).toContain('Options FollowSymLinks');
  expect(apache).toMatch(/<LocationMatch "\^\/json\/main\\\.json\$">\s+Header always set Cache-Control "no-cache, no-store, must-revalidate"/);
  expect(apache).toMatch(/^\s+FallbackResource \/index\.html$/m);
});

test('systemd-analyze verify accepts the units, which run prep-apply as its own account', () => {
  const units = path.join(dir, 'units');
  mkdirSync(units, { recursive: true });
  for (const name of ['prep-apply.service', 'prep-apply.path']) writeFileSync(path.join(units, name), files[name]);
  const run = spawnSync('systemd-analyze', ['verify', path.join(units, 'prep-apply.path'), path.join(units, 'prep-apply.service')], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
  expect(run.error).toBeUndefined();
  // Only complaints about our files count (the host's own units may be imperfect in a container).
  const ours = run.stderr.split('\n').filter((l) => l.includes('prep-apply'));
  expect(ours).toEqual([]);
  expect(files['prep-apply.path']).toMatch(/^PathChanged=.*\/LATEST$/m);
  expect(files['prep-apply.service']).toMatch(/^User=prep-apply$/m);
  expect(files['prep-apply.service']).not.toMatch(/^User=iem$/m);
});
