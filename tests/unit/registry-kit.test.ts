// Registry fields of signed, incremental packages and the difusor kit: signing_key,
// signing_key_passphrase_env, package.delta, apply_dir and apply_keep_releases.
import { validateRegistry } from '../../src/registry/validate.js';
import { formatProblem } from '../../src/registry/problems.js';
import { makeKeyPair } from '../helpers/keys.js';
import { HOST_KEY_A, KEY_PASSPHRASE, makeRegistryWorkspace, yamlLines, type RegistryWorkspace } from '../helpers/registry-fixtures.js';

const FILE = 'difusores.yaml';
const TOP = [
  'institute: IEM', //                       1
  'package:', //                             2
  '  name: "PREP_{cut}"', //                 3
  '  delta: true', //                        4
  'defaults:', //                            5
  '  username: iem', //                      6
  '  private_key: ./keys/id_ed25519', //     7
  '  remote_dir: /prep', //                  8
  'difusores:', //                           9
  '  - id: el-sol', //                       10
  '    host: 203.0.113.10', //               11
  `    host_key: "${HOST_KEY_A}"`, //        12
];

describe('registry: signing and kit fields', () => {
  let ws: RegistryWorkspace;
  beforeAll(async () => {
    ws = await makeRegistryWorkspace();
    await makeKeyPair(`${ws.dir}/keys`, 'rsa_key', { type: 'rsa' });
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  async function validate(lines: string[], env: NodeJS.ProcessEnv = {}) {
    const file = await ws.write(FILE, yamlLines(...lines));
    return validateRegistry(file, { env, displayPath: FILE });
  }

  test('valid fields reach the Registry: absolute signing key, delta, apply_dir, apply_keep_releases', async () => {
    const { registry, problems } = await validate(
      [...TOP, '    apply_dir: /srv/sftp/iem/prep', '    apply_keep_releases: 5', 'signing_key: ./keys/locked_ed25519', 'signing_key_passphrase_env: PREP_SIGN'],
      { PREP_SIGN: KEY_PASSPHRASE },
    );
    expect(problems).toEqual([]);
    expect(registry?.signing).toEqual({ keyPath: ws.lockedKey, passphraseEnv: 'PREP_SIGN' });
    expect(registry?.package.delta).toBe(true);
    expect(registry?.difusores[0]).toMatchObject({ applyDir: '/srv/sftp/iem/prep', applyKeepReleases: 5 });
  });

  test.each([
    {
      name: 'a relative apply_dir',
      lines: [...TOP, '    apply_dir: srv/prep'],
      expected: `${FILE}:13:16: difusores[0].apply_dir: "srv/prep" is not absolute; expected an absolute path on the difusor's server, e.g. /var/www/prep`,
    },
    {
      name: 'an apply_dir that would run a command from the crontab',
      lines: [...TOP, '    apply_dir: "/srv/x/prep;touch /tmp/pwned;#"'],
      expected: `${FILE}:13:16: difusores[0].apply_dir: "/srv/x/prep;touch /tmp/pwned;#" contains ";" " " "#"; expected an absolute path of letters A-Z a-z, digits, ".", "_", "-" and "/" only (it is written into the kit's sh, sshd and web server files), e.g. /var/www/prep`,
    },
    {
      name: 'a remote_dir that would add a location to nginx.conf',
      lines: [...TOP, '    remote_dir: "/prep/current; location /leak/ { alias /etc/; autoindex on; } #"'],
      expected: `${FILE}:13:17: difusores[0].remote_dir: "/prep/current; location /leak/ { alias /etc/; autoindex on; } #" contains ";" " " "{" "}" "#"; expected an absolute path of letters A-Z a-z, digits, ".", "_", "-" and "/" only (it is written into the kit's sh, sshd and web server files), e.g. /var/www/prep`,
    },
    {
      name: 'a remote_dir with a non-ASCII letter',
      lines: [...TOP, '    remote_dir: /srv/año'],
      expected: `${FILE}:13:17: difusores[0].remote_dir: "/srv/año" contains "ñ"; expected an absolute path of letters A-Z a-z, digits, ".", "_", "-" and "/" only (it is written into the kit's sh, sshd and web server files), e.g. /var/www/prep`,
    },
    {
      name: 'a username that would jail every account (Match User *)',
      lines: [...TOP, '    username: "*"'],
      expected: `${FILE}:13:15: difusores[0].username: "*" is not an account name the kit can use; expected 1 to 32 lowercase letters, digits, "_" or "-", starting with a lowercase letter or "_" (it is written into sshd's Match User and the set-up commands), e.g. iem`,
    },
    {
      name: 'a username in defaults with capitals and a comma',
      lines: [...TOP.slice(0, 5), '  username: "IEM,root"', ...TOP.slice(6)],
      expected: `${FILE}:6:13: defaults.username: "IEM,root" is not an account name the kit can use; expected 1 to 32 lowercase letters, digits, "_" or "-", starting with a lowercase letter or "_" (it is written into sshd's Match User and the set-up commands), e.g. iem`,
    },
    {
      name: 'a negative apply_keep_releases',
      lines: [...TOP, '    apply_keep_releases: -1'],
      expected: `${FILE}:13:26: difusores[0].apply_keep_releases: expected a whole number of releases prep-apply keeps, 0 = all, got -1`,
    },
    {
      name: 'delta that is not a boolean',
      lines: [...TOP.slice(0, 3), '  delta: yes please', ...TOP.slice(4)],
      expected: `${FILE}:4:10: package.delta: expected true or false (send difusores that run prep-apply only the files that changed), got "yes please"`,
    },
    {
      name: 'a missing signing key file',
      lines: [...TOP, 'signing_key: ./keys/nope'],
      expected: (ws: RegistryWorkspace) =>
        `${FILE}:13:14: signing_key: key file ${ws.dir}/keys/nope does not exist (relative paths start at the registry file's folder); fix the path, or create the key with \`ssh-keygen -t ed25519 -f ${ws.dir}/keys/nope\``,
    },
    {
      name: 'a public key as signing key',
      lines: [...TOP, 'signing_key: ./keys/id_ed25519.pub'],
      expected: (ws: RegistryWorkspace) =>
        `${FILE}:13:14: signing_key: ${ws.publicKey} is a public key; point signing_key at the private half (the file without .pub)`,
    },
    {
      name: 'an RSA signing key',
      lines: [...TOP, 'signing_key: ./keys/rsa_key'],
      expected: (ws: RegistryWorkspace) =>
        `${FILE}:13:14: signing_key: ${ws.dir}/keys/rsa_key is not an ed25519 key; signatures are made with ed25519: create one with \`ssh-keygen -t ed25519 -f ${ws.dir}/keys/rsa_key\``,
    },
    {
      name: 'a locked signing key whose variable is not set',
      lines: [...TOP, 'signing_key: ./keys/locked_ed25519', 'signing_key_passphrase_env: PREP_SIGN'],
      expected: (ws: RegistryWorkspace) =>
        `${FILE}:13:14: signing_key: ${ws.lockedKey} is protected by a passphrase and the environment variable PREP_SIGN is not set; set it where prep-push runs (a cron job does not see your login shell's variables)`,
    },
    {
      name: 'a passphrase variable without a signing key',
      lines: [...TOP, 'signing_key_passphrase_env: PREP_SIGN'],
      expected: `${FILE}:13:29: signing_key_passphrase_env: names a passphrase, but there is no signing_key; add signing_key or remove this field`,
    },
  ])('$name is located and explained', async ({ lines, expected }) => {
    const { registry, problems } = await validate(lines);
    expect(registry).toBeNull();
    expect(problems.map(formatProblem)).toEqual([typeof expected === 'function' ? expected(ws) : expected]);
  });

  test('a wrong passphrase is reported at signing_key_passphrase_env', async () => {
    const { problems } = await validate([...TOP, 'signing_key: ./keys/locked_ed25519', 'signing_key_passphrase_env: PREP_SIGN'], { PREP_SIGN: 'wrong' });
    expect(problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^difusores\.yaml:14:29: signing_key_passphrase_env: the passphrase in PREP_SIGN does not decrypt .*locked_ed25519 \(.*\); check the value of PREP_SIGN$/),
    ]);
  });
});
