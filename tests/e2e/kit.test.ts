// `prep-push kit ID --out DIR` from the built binary: the templates are found from dist/, the files
// are written configured for the difusor and its delivery mode (a site difusor gets no prep-apply),
// the institute's login key comes as a `restrict` authorized_keys line, an existing symlink in DIR is
// replaced and never written through, and a registry without signing_key is refused (exit 2). And
// `validate` refuses the registry fields that would break out of the kit's files (issue 22, item 8).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPrepPush } from '../helpers/cli.js';
import { makeKeyPair } from '../helpers/keys.js';
import { HOST_KEY_A, yamlLines } from '../helpers/registry-fixtures.js';
import { REPO_ROOT } from '../helpers/workspace.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'prep-push-kit-e2e-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REGISTRY = [
  'institute: IEM',
  'package:',
  '  name: "PREP_{cut}"',
  'defaults:',
  '  username: iem',
  '  private_key: ./sftp_ed25519',
  '  remote_dir: /prep',
  'difusores:',
  '  - id: el-sol',
  '    host: 203.0.113.10',
  `    host_key: "${HOST_KEY_A}"`,
  '    apply_dir: /srv/sftp/iem/prep',
  '  - id: la-voz',
  '    host: 203.0.113.11',
  `    host_key: "${HOST_KEY_A}"`,
  '    delivery: site',
  '    remote_dir: /var/www/prep',
];

/** `TYPE BASE64` of a private key, as `ssh-keygen -y` prints it. */
function publicHalf(privateKeyPath: string): string {
  return spawnSync('ssh-keygen', ['-y', '-f', privateKeyPath], { encoding: 'utf8' }).stdout.split(' ').slice(0, 2).join(' ').trim();
}

test('kit writes every file, configured for the difusor, with the login key derived from the private key', async () => {
  const login = await makeKeyPair(dir, 'sftp_ed25519');
  // No .pub beside the private key: the key is derived, as `ssh-keygen -y` would.
  rmSync(login.publicKeyPath);
  const signing = await makeKeyPair(dir, 'firma_ed25519');
  writeFileSync(path.join(dir, 'difusores.yaml'), yamlLines(...REGISTRY, 'signing_key: ./firma_ed25519'));
  const run = await runPrepPush(['kit', 'el-sol', '--out', 'kit-sol'], { cwd: dir });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  const out = path.join(dir, 'kit-sol');
  expect(run.stdout.split('\n')[0]).toBe(`kit for el-sol written to ${out}:`);
  for (const name of ['prep-apply', 'instalar.sh', 'allowed_signers', 'authorized_keys', 'README.md', 'prep-apply.service', 'prep-apply.path', 'crontab.txt', 'nginx.conf', 'apache.conf', 'sshd_config.txt']) {
    expect(existsSync(path.join(out, name))).toBe(true);
  }
  expect(statSync(path.join(out, 'prep-apply')).mode & 0o777).toBe(0o755);
  expect(statSync(path.join(out, 'instalar.sh')).mode & 0o777).toBe(0o755);
  expect(readFileSync(path.join(out, 'allowed_signers'), 'utf8')).toBe(`IEM namespaces="prep-push" ${signing.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
  expect(readFileSync(path.join(out, 'authorized_keys'), 'utf8')).toBe(`restrict ${publicHalf(login.privateKeyPath)} IEM-prep-push\n`);
  expect(readFileSync(path.join(out, 'prep-apply'), 'utf8')).toContain("APPLY_DIR='/srv/sftp/iem/prep'");
  expect(readFileSync(path.join(out, 'sshd_config.txt'), 'utf8')).toContain('ChrootDirectory /srv/sftp/iem\n');
  expect(readFileSync(path.join(out, 'prep-apply.service'), 'utf8')).toMatch(/^User=prep-apply$/m);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('a site difusor gets a kit without prep-apply, units or crontab, also with no signing_key', async () => {
  writeFileSync(path.join(dir, 'sin-firma.yaml'), yamlLines(...REGISTRY));
  const run = await runPrepPush(['--config', 'sin-firma.yaml', 'kit', 'la-voz', '--out', 'kit-voz'], { cwd: dir });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  const out = path.join(dir, 'kit-voz');
  expect(readdirSync(out).sort()).toEqual(['README.md', 'apache.conf', 'authorized_keys', 'instalar.sh', 'nginx.conf', 'sshd_config.txt']);
  expect(readFileSync(path.join(out, 'nginx.conf'), 'utf8')).toContain('root /var/www/prep/current;');
  expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('publicación directa');
  expect(readFileSync(path.join(out, 'authorized_keys'), 'utf8')).toMatch(/^restrict ssh-ed25519 AAAA\S+ IEM-prep-push\n$/);
});

test('kit --out replaces a symlink it finds in DIR and never writes through it', async () => {
  const secret = path.join(dir, 'secreto');
  writeFileSync(secret, 'no tocar\n', { mode: 0o600 });
  chmodSync(secret, 0o600);
  const out = path.join(dir, 'kit-enlace');
  const first = await runPrepPush(['kit', 'el-sol', '--out', out], { cwd: dir });
  expect(first.code).toBe(0);
  rmSync(path.join(out, 'README.md'));
  symlinkSync(secret, path.join(out, 'README.md'));
  const run = await runPrepPush(['kit', 'el-sol', '--out', out], { cwd: dir });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  expect(readFileSync(secret, 'utf8')).toBe('no tocar\n');
  expect(statSync(secret).mode & 0o777).toBe(0o600);
  expect(lstatSync(path.join(out, 'README.md')).isFile()).toBe(true);
  expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/^# Kit de difusión del PREP del IEM/);
  expect(readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('kit without signing_key for a package difusor, or for an unknown id, exits 2 saying why', async () => {
  const unsigned = await runPrepPush(['--config', 'sin-firma.yaml', 'kit', 'el-sol'], { cwd: dir });
  expect(unsigned.code).toBe(2);
  expect(unsigned.stderr).toMatch(/no signing_key, and prep-apply only applies signed packages/);
  const unknown = await runPrepPush(['kit', 'la-radio'], { cwd: dir });
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/kit: no difusor "la-radio" in the registry/);
});

test.each([
  ['remote_dir', 13, '    remote_dir: "/prep/current; location /leak/ { alias /etc/; autoindex on; } #"', /^atacado\.yaml:13:17: difusores\[0\]\.remote_dir: .* contains ";" " " "\{" "\}" "#"; expected an absolute path of letters/m],
  ['apply_dir', 12, '    apply_dir: "/srv/x/prep;touch /tmp/pwned;#"', /^atacado\.yaml:12:16: difusores\[0\]\.apply_dir: .* contains ";" " " "#"; expected an absolute path of letters/m],
  ['username', 13, '    username: "*"', /^atacado\.yaml:13:15: difusores\[0\]\.username: "\*" is not an account name the kit can use; expected 1 to 32 lowercase letters/m],
])('validate refuses a %s that would break out of the kit files (exit 2, at its line %i), and kit writes nothing', async (_field, lineNumber, line, why) => {
  // el-sol's own apply_dir is line 12; the other fields go after it, as line 13.
  const lines = lineNumber === 12 ? [...REGISTRY.slice(0, 11), line, ...REGISTRY.slice(12)] : [...REGISTRY.slice(0, 12), line, ...REGISTRY.slice(12)];
  writeFileSync(path.join(dir, 'atacado.yaml'), yamlLines(...lines, 'signing_key: ./firma_ed25519'));
  const run = await runPrepPush(['--config', 'atacado.yaml', 'validate'], { cwd: dir });
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(why);
  const kit = await runPrepPush(['--config', 'atacado.yaml', 'kit', 'el-sol', '--out', 'kit-atacado'], { cwd: dir });
  expect(kit.code).toBe(2);
  expect(existsSync(path.join(dir, 'kit-atacado'))).toBe(false);
});

test("the repository's own difusores.yaml still validates", async () => {
  const run = await runPrepPush(['--config', path.join(REPO_ROOT, 'difusores.yaml'), 'validate'], { cwd: dir });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.not.stringMatching(/error|:\d+:\d+:/i) });
});

