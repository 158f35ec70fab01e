// The kit's files against the real tools: shellcheck on the prep-apply template, `nginx -t` on the
// rendered nginx.conf as written, `sshd -t` with the sshd_config snippet, systemd-analyze on the units.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderKit } from '../../src/kit/render-kit.js';
import { kitTemplatesDir, readKitTemplates } from '../../src/kit/templates-dir.js';
import { aDifusor } from '../helpers/builders.js';

let dir: string;
let files: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'prep-kit-files-'));
  const rendered = renderKit({
    institute: 'IEM',
    difusor: aDifusor('el-sol', { username: 'nobody', remoteDir: '/prep', applyDir: path.join(dir, 'jaula', 'prep') }),
    allowedSigners: 'IEM namespaces="prep-push" ssh-ed25519 AAAA\n',
    templates: await readKitTemplates(),
  });
  files = Object.fromEntries(rendered.map((f) => [f.name, f.content]));
  for (const f of rendered) writeFileSync(path.join(dir, f.name), f.content);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('shellcheck finds nothing in the prep-apply template (POSIX sh)', () => {
  const run = spawnSync('shellcheck', ['-s', 'sh', path.join(kitTemplatesDir(), 'prep-apply.sh')], { encoding: 'utf8' });
  expect({ status: run.status, out: run.stdout }).toEqual({ status: 0, out: '' });
  // And the rendered script too (filled values must not break quoting).
  const rendered = spawnSync('shellcheck', ['-s', 'sh', path.join(dir, 'prep-apply')], { encoding: 'utf8' });
  expect({ status: rendered.status, out: rendered.stdout }).toEqual({ status: 0, out: '' });
});

test('nginx -t accepts nginx.conf as written, with the Cache-Control of json/main.json', () => {
  const run = spawnSync('nginx', ['-t', '-c', path.join(dir, 'nginx.conf'), '-g', `pid ${path.join(dir, 'nginx.pid')};`], { encoding: 'utf8' });
  expect({ status: run.status, err: run.stderr }).toEqual({ status: 0, err: expect.stringContaining('test is successful') });
  expect(files['nginx.conf']).toMatch(/location = \/json\/main\.json \{\s+add_header Cache-Control "no-cache, no-store, must-revalidate" always;/);
  expect(files['nginx.conf']).toContain(`root ${path.join(dir, 'jaula', 'prep')}/current;`);
  expect(files['nginx.conf']).toMatch(/^\s+# listen 443 ssl;$/m);
});

test('sshd -t accepts the sshd_config snippet: a chrooted, SFTP-only account', () => {
  const hostKey = path.join(dir, 'host_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const config = path.join(dir, 'sshd_config');
  writeFileSync(config, `HostKey ${hostKey}\nSubsystem sftp internal-sftp\n${readFileSync(path.join(dir, 'sshd_config.txt'), 'utf8')}`);
  const run = spawnSync('/usr/sbin/sshd', ['-t', '-f', config], { encoding: 'utf8' });
  expect({ status: run.status, err: run.stderr }).toEqual({ status: 0, err: '' });
  expect(files['sshd_config.txt']).toContain(`ChrootDirectory ${path.join(dir, 'jaula')}\n`);
  expect(files['sshd_config.txt']).toContain('ForceCommand internal-sftp');
});

test('apache.conf serves REMOTE_DIR/current with FollowSymLinks and the Cache-Control of json/main.json', () => {
  const apache = files['apache.conf'];
  expect(apache).toContain(`DocumentRoot "${path.join(dir, 'jaula', 'prep')}/current"`);
  expect(apache).toContain('Options FollowSymLinks');
  expect(apache).toMatch(/<LocationMatch "\^\/json\/main\\\.json\$">\s+Header always set Cache-Control "no-cache, no-store, must-revalidate"/);
});

test('systemd-analyze verify accepts the units', () => {
  const units = path.join(dir, 'units');
  spawnSync('mkdir', ['-p', units]);
  for (const name of ['prep-apply.service', 'prep-apply.path']) writeFileSync(path.join(units, name), files[name].replace('/bin/sh ', '/bin/sh '));
  const run = spawnSync('systemd-analyze', ['verify', path.join(units, 'prep-apply.path'), path.join(units, 'prep-apply.service')], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' } });
  expect(run.error).toBeUndefined();
  // Only complaints about our files count (the host's own units may be imperfect in a container).
  const ours = run.stderr.split('\n').filter((l) => l.includes('prep-apply'));
  expect(ours).toEqual([]);
  expect(files['prep-apply.path']).toMatch(/^PathChanged=.*\/LATEST$/m);
  expect(files['prep-apply.service']).toMatch(/^User=nobody$/m);
});
