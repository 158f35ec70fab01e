// `prep-push kit ID --out DIR` from the built binary: the templates are found from dist/, the files
// are written configured for the difusor, and a registry without signing_key is refused (exit 2).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runPrepPush } from '../helpers/cli.js';
import { makeKeyPair } from '../helpers/keys.js';
import { HOST_KEY_A, yamlLines } from '../helpers/registry-fixtures.js';

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
];

test('kit writes every file, configured for the difusor', async () => {
  await makeKeyPair(dir, 'sftp_ed25519');
  const signing = await makeKeyPair(dir, 'firma_ed25519');
  writeFileSync(path.join(dir, 'difusores.yaml'), yamlLines(...REGISTRY, 'signing_key: ./firma_ed25519'));
  const run = await runPrepPush(['kit', 'el-sol', '--out', 'kit-sol'], { cwd: dir });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  const out = path.join(dir, 'kit-sol');
  expect(run.stdout.split('\n')[0]).toBe(`kit for el-sol written to ${out}:`);
  for (const name of ['prep-apply', 'allowed_signers', 'README.md', 'prep-apply.service', 'prep-apply.path', 'crontab.txt', 'nginx.conf', 'apache.conf', 'sshd_config.txt']) {
    expect(existsSync(path.join(out, name))).toBe(true);
  }
  expect(statSync(path.join(out, 'prep-apply')).mode & 0o777).toBe(0o755);
  expect(readFileSync(path.join(out, 'allowed_signers'), 'utf8')).toBe(`IEM namespaces="prep-push" ${signing.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
  expect(readFileSync(path.join(out, 'prep-apply'), 'utf8')).toContain("APPLY_DIR='/srv/sftp/iem/prep'");
  expect(readFileSync(path.join(out, 'sshd_config.txt'), 'utf8')).toContain('ChrootDirectory /srv/sftp/iem\n');
});

test('kit without signing_key, or for an unknown id, exits 2 saying why', async () => {
  writeFileSync(path.join(dir, 'sin-firma.yaml'), yamlLines(...REGISTRY));
  const unsigned = await runPrepPush(['--config', 'sin-firma.yaml', 'kit', 'el-sol'], { cwd: dir });
  expect(unsigned.code).toBe(2);
  expect(unsigned.stderr).toMatch(/no signing_key, and prep-apply only applies signed packages/);
  const unknown = await runPrepPush(['kit', 'la-voz'], { cwd: dir });
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/kit: no difusor "la-voz" in the registry/);
});
