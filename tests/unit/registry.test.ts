import { join, relative } from 'node:path';

import { PrepPushError } from '../../src/core/errors.js';
import { loadRegistry, validateRegistry, type RegistryDeps } from '../../src/registry/validate.js';
import { formatProblem } from '../../src/registry/problems.js';
import {
  HOST_KEY_A,
  HOST_KEY_B,
  KEY_PASSPHRASE,
  makeRegistryWorkspace,
  yamlLines,
  type RegistryWorkspace,
} from '../helpers/registry-fixtures.js';

const EXAMPLE_REGISTRY = join(process.cwd(), 'difusores.yaml');
const FILE = 'difusores.yaml';

// Lines 1-8 of most cases: a valid top part whose defaults give every difusor a user, key and folder.
const TOP = [
  'institute: IEM', //                       1
  'package:', //                             2
  '  name: "PREP_{cut}"', //                 3
  'defaults:', //                            4
  '  username: iem', //                      5
  '  private_key: ./keys/id_ed25519', //     6
  '  remote_dir: /prep', //                  7
  'difusores:', //                           8
];
// Lines 9-11: one valid difusor.
const EL_SOL = [
  '  - id: el-sol', //                       9
  '    host: 203.0.113.10', //               10
  `    host_key: "${HOST_KEY_A}"`, //        11
];

const HOST_KEY_HINT = 'get it with `prep-push keyscan 203.0.113.10:22` and confirm it with the difusor';
const EXPECTED_HOST_KEY = 'expected "SHA256:<base64>" as ssh-keygen -lf prints it';
const DIFUSOR_FIELDS =
  'id, name, host, port, username, host_key, remote_dir, enabled, private_key, private_key_passphrase_env, password_env, url, contacts, apply_dir, apply_keep_releases, delivery, logo';

interface BrokenCase {
  name: string;
  lines: string[];
  env?: NodeJS.ProcessEnv;
  /** The exact formatted problems, in order; a function when they name the temp folder. */
  expected: string[] | ((ws: RegistryWorkspace) => string[]);
}

const brokenCases: BrokenCase[] = [
  {
    name: 'malformed YAML (unclosed flow list)',
    lines: ['institute: IEM', 'package: [a, b', 'difusores: []'],
    expected: [`${FILE}:2:10: YAML syntax error: a list opened with "[" is not closed with "]" (on the same line, or on indented lines after it)`],
  },
  {
    name: 'duplicate YAML key',
    lines: [...TOP.slice(0, 3), '  name: "OTHER_{cut}"', ...TOP.slice(3), ...EL_SOL],
    expected: [`${FILE}:4:3: package.name: "name" appears twice (first at line 3); keep one, YAML would silently use the last`],
  },
  {
    name: 'badly indented YAML',
    lines: ['institute: IEM', 'package:', '  name: PREP_{cut}', '   format: zip', 'difusores: []'],
    // The culprit is line 4 (one space too many), which YAML reads as the continuation of line 3.
    expected: [
      `${FILE}:4:4: YAML syntax error: this line is indented deeper than the field above it, so YAML reads it as part of that value; line it up with the other fields`,
    ],
  },
  {
    name: 'a colon inside an unquoted value: one problem, at the colon, nothing derived from it',
    lines: [...TOP, ...EL_SOL, '    name: La Voz: de Michoacán'],
    expected: [`${FILE}:12:17: YAML syntax error: this value contains ": " (a colon and a space); put the whole value in quotes, e.g. name: "La Voz: Morelia"`],
  },
  {
    name: 'a tab used to indent',
    lines: [...TOP, ...EL_SOL.map((l, i) => (i === 2 ? l.replace(/^ +/, '\t') : l))],
    expected: [`${FILE}:${TOP.length + 3}:1: YAML syntax error: a tab is used to indent this line; YAML indents with spaces only`],
  },
  {
    name: 'wrong type (retries as words)',
    lines: [...TOP, ...EL_SOL, 'push:', '  retries: two'],
    expected: [`${FILE}:13:12: push.retries: expected a whole number from 0 to 10, got "two"`],
  },
  {
    // YAML's .inf is a number; a timer of Infinity would fire at once in Node.
    name: 'an infinite timeout',
    lines: [...TOP, ...EL_SOL, 'push:', '  transfer_timeout_s: .inf'],
    expected: [`${FILE}:13:23: push.transfer_timeout_s: expected a number of seconds greater than 0, got Infinity`],
  },
  {
    name: 'a whole number beyond what a double holds exactly',
    lines: [...TOP, ...EL_SOL, 'block_after_misses: 1e300'],
    expected: [`${FILE}:12:21: block_after_misses: expected a whole number of consecutive missed cuts, 1 or more, got 1e+300`],
  },
  {
    name: 'unknown key at the top',
    lines: ['institue: IEM', ...TOP.slice(1), ...EL_SOL],
    expected: [
      `${FILE}:1:1: institute: required: the institute's short name, e.g. IEM`,
      `${FILE}:1:1: institue: unknown field "institue"; did you mean "institute"? expected one of: institute, timezone, block_after_misses, state_dir, max_future_minutes, package, signing_key, signing_key_passphrase_env, push, publish, defaults, difusores, requirements, institute_name, notify, public_list, notice, audit, timezone_label, institute_url, contact, publication`,
    ],
  },
  {
    name: 'unknown key in push',
    lines: [...TOP, ...EL_SOL, 'push:', '  timeout: 30'],
    expected: [
      `${FILE}:13:3: push.timeout: unknown field "timeout"; expected one of: concurrency, connect_timeout_s, transfer_timeout_s, retries`,
    ],
  },
  {
    name: 'unknown key in a difusor',
    lines: [...TOP, ...EL_SOL, '    prot: 2222'],
    expected: [`${FILE}:12:5: difusores[0].prot: unknown field "prot"; did you mean "port"? expected one of: ${DIFUSOR_FIELDS}`],
  },
  {
    name: 'a field name spelled out in full still gets its suggestion',
    lines: [...TOP, ...EL_SOL, '    remote_directory: /srv/prep'],
    expected: [`${FILE}:12:5: difusores[0].remote_directory: unknown field "remote_directory"; did you mean "remote_dir"? expected one of: ${DIFUSOR_FIELDS}`],
  },
  {
    name: 'unknown key and id in defaults',
    lines: [...TOP.slice(0, 4), '  id: everyone', '  hostkey: x', ...TOP.slice(4), ...EL_SOL],
    expected: [
      `${FILE}:5:3: defaults.id: id cannot be set in defaults; each difusor has its own`,
      `${FILE}:6:3: defaults.hostkey: unknown field "hostkey"; did you mean "host_key"? expected one of: ${DIFUSOR_FIELDS.replace('id, ', '')}`,
    ],
  },
  {
    name: 'duplicate ids (points at the second, names the first)',
    lines: [...TOP, ...EL_SOL, '  - id: el-sol', '    host: 203.0.113.11', `    host_key: "${HOST_KEY_B}"`],
    expected: [`${FILE}:12:9: difusores[1].id: "el-sol" is already the id of difusores[0] (line 9); ids must be unique`],
  },
  {
    name: 'two enabled difusores delivering to the same host, port and folder',
    lines: [...TOP, ...EL_SOL, '  - id: el-sol-copy', '    host: 203.0.113.10', `    host_key: "${HOST_KEY_A}"`],
    expected: [
      `${FILE}:12:9: difusores[1].id: "el-sol-copy" delivers to the same place as difusores[0] "el-sol" (line 9): ` +
        `203.0.113.10:22 /prep; the two would overwrite each other's LATEST — remove the duplicate or give each its own remote_dir`,
    ],
  },
  {
    name: 'bad id',
    lines: [...TOP, '  - id: El_Sol', ...EL_SOL.slice(1)],
    expected: [
      `${FILE}:9:9: difusores[0].id: "El_Sol" is not a valid id; expected lowercase letters, digits and dashes, starting with a letter or digit (e.g. el-sol)`,
    ],
  },
  {
    name: 'missing host_key (located at the difusor)',
    lines: [...TOP, ...EL_SOL.slice(0, 2)],
    expected: [
      `${FILE}:9:5: difusores[0].host_key: required: the pinned host key "SHA256:<base64>" as ssh-keygen -lf prints it; ${HOST_KEY_HINT}`,
    ],
  },
  {
    name: 'missing host_key without a usable host',
    lines: [...TOP, '  - id: el-sol', '    host: "203.0.113.10 "'],
    expected: [
      `${FILE}:9:5: difusores[0].host_key: required: the pinned host key "SHA256:<base64>" as ssh-keygen -lf prints it; get it with \`prep-push keyscan HOST:PORT\` and confirm it with the difusor`,
      `${FILE}:10:11: difusores[0].host: "203.0.113.10 " contains spaces; expected a host name or IP address`,
    ],
  },
  {
    name: 'malformed host_key (padding, and an MD5 fingerprint)',
    lines: [
      ...TOP,
      ...EL_SOL.slice(0, 2),
      `    host_key: "${HOST_KEY_A}="`,
      '  - id: la-voz',
      '    host: 203.0.113.10',
      '    host_key: "16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"',
    ],
    expected: [
      `${FILE}:11:15: difusores[0].host_key: ${EXPECTED_HOST_KEY}, got "${HOST_KEY_A}=" (drop the trailing "="); ${HOST_KEY_HINT}`,
      `${FILE}:14:15: difusores[1].host_key: ${EXPECTED_HOST_KEY}, got "16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48" (that is an MD5 fingerprint); ${HOST_KEY_HINT}`,
    ],
  },
  {
    name: 'port 0',
    lines: [...TOP, ...EL_SOL, '    port: 0'],
    expected: [`${FILE}:12:11: difusores[0].port: expected a port number from 1 to 65535, got 0`],
  },
  {
    name: 'port 70000',
    lines: [...TOP, ...EL_SOL, '    port: 70000'],
    expected: [`${FILE}:12:11: difusores[0].port: expected a port number from 1 to 65535, got 70000`],
  },
  {
    name: 'port "abc" in defaults',
    lines: [...TOP.slice(0, 4), '  port: abc', ...TOP.slice(4), ...EL_SOL],
    expected: [`${FILE}:5:9: defaults.port: expected a port number from 1 to 65535, got "abc"`],
  },
  {
    name: '.. in remote_dir',
    lines: [...TOP, ...EL_SOL, '    remote_dir: /var/www/../prep'],
    expected: [`${FILE}:12:17: difusores[0].remote_dir: "/var/www/../prep" contains a ".." segment; write the folder's real absolute path`],
  },
  {
    name: 'relative remote_dir',
    lines: [...TOP, ...EL_SOL, '    remote_dir: prep/paquetes'],
    expected: [
      `${FILE}:12:17: difusores[0].remote_dir: "prep/paquetes" is not absolute; expected an absolute path on the difusor's server, e.g. /var/www/prep`,
    ],
  },
  {
    name: 'missing key file',
    lines: [...TOP, ...EL_SOL, '    private_key: keys/nope'],
    expected: (ws) => [
      `${FILE}:12:18: difusores[0].private_key: key file ${ws.dir}/keys/nope does not exist (relative paths start at the registry file's folder); point private_key at the key whose public half the difusores authorised (a newly generated key would be refused by every one of them until each installs it)`,
    ],
  },
  {
    name: 'a file that is not a key',
    lines: [...TOP, ...EL_SOL, '    private_key: keys/not-a-key'],
    expected: (ws) => [
      `${FILE}:12:18: difusores[0].private_key: ${ws.notAKey} is not a private key ssh2 can read (Unsupported key format); expected an OpenSSH or PEM private key such as \`ssh-keygen -t ed25519\` writes`,
    ],
  },
  {
    name: 'the public half instead of the private key',
    lines: [...TOP, ...EL_SOL, '    private_key: keys/id_ed25519.pub'],
    expected: (ws) => [
      `${FILE}:12:18: difusores[0].private_key: ${ws.publicKey} is a public key; point private_key at the private half (the file without .pub)`,
    ],
  },
  {
    name: 'passphrase-protected key, no variable named',
    lines: [...TOP, ...EL_SOL, '    private_key: keys/locked_ed25519'],
    expected: (ws) => [
      `${FILE}:12:18: difusores[0].private_key: ${ws.lockedKey} is protected by a passphrase; name the environment variable that holds it in private_key_passphrase_env and set that variable where prep-push runs`,
    ],
  },
  {
    name: 'passphrase-protected key, variable named but not set',
    lines: [...TOP, ...EL_SOL, '    private_key: keys/locked_ed25519', '    private_key_passphrase_env: PREP_KEY_PASS'],
    env: { OTHER: 'x' },
    expected: (ws) => [
      `${FILE}:13:33: difusores[0].private_key_passphrase_env: the environment variable PREP_KEY_PASS is not set, and the key ${ws.lockedKey} needs its passphrase; set PREP_KEY_PASS where prep-push runs (a cron job does not see your login shell's variables)`,
    ],
  },
  {
    name: 'passphrase-protected key, wrong passphrase',
    lines: [...TOP, ...EL_SOL, '    private_key: keys/locked_ed25519', '    private_key_passphrase_env: PREP_KEY_PASS'],
    env: { PREP_KEY_PASS: 'not the passphrase' },
    expected: (ws) => [
      `${FILE}:13:33: difusores[0].private_key_passphrase_env: the passphrase in PREP_KEY_PASS does not decrypt ${ws.lockedKey} (OpenSSH key integrity check failed -- bad passphrase?); check the value of PREP_KEY_PASS`,
    ],
  },
  {
    name: 'a problem from defaults is located there and names every difusor using it',
    lines: [
      ...TOP.slice(0, 5),
      '  private_key: ./keys/missing', // 6
      ...TOP.slice(6),
      ...EL_SOL,
      '  - id: la-voz', // 12
      '    host: 203.0.113.11',
      `    host_key: "${HOST_KEY_B}"`,
      '    private_key: ./keys/id_ed25519', // 15: overrides, so la-voz is fine
      '  - id: quadratin', // 16
      '    host: 203.0.113.12',
      `    host_key: "${HOST_KEY_B}"`,
    ],
    expected: (ws) => [
      `${FILE}:6:16: defaults.private_key (used by difusores[0] "el-sol", difusores[2] "quadratin"): key file ${ws.dir}/keys/missing does not exist (relative paths start at the registry file's folder); point private_key at the key whose public half the difusores authorised (a newly generated key would be refused by every one of them until each installs it)`,
    ],
  },
  {
    name: 'no way to log in',
    lines: [...TOP.slice(0, 5), ...TOP.slice(6), ...EL_SOL],
    expected: [
      `${FILE}:8:5: difusores[0]: no way to log in: set private_key (here or in defaults), or password_env naming a variable that is set, or run prep-push with an ssh-agent (SSH_AUTH_SOCK)`,
    ],
  },
  {
    name: 'password_env naming a variable that is not set',
    lines: [...TOP.slice(0, 5), ...TOP.slice(6), ...EL_SOL, '    password_env: EL_SOL_PASSWORD'],
    expected: [
      `${FILE}:11:19: difusores[0].password_env: the environment variable EL_SOL_PASSWORD is not set; set it to the SFTP password where prep-push runs (a cron job does not see your login shell's variables)`,
    ],
  },
  {
    name: 'empty difusor list',
    lines: [...TOP.slice(0, 7), 'difusores: []'],
    expected: [`${FILE}:8:12: difusores: the list is empty; expected at least one difusor`],
  },
  {
    name: 'package.name without {cut}',
    lines: [TOP[0], TOP[1], '  name: PREP2024', ...TOP.slice(3), ...EL_SOL],
    expected: [
      `${FILE}:3:9: package.name: "PREP2024" has no {cut}; every cut needs its own package name, e.g. "PREP2024_{cut}"`,
    ],
  },
  {
    name: 'package.name with a path in it',
    lines: [TOP[0], TOP[1], '  name: ../PREP_{cut}', ...TOP.slice(3), ...EL_SOL],
    expected: [
      `${FILE}:3:9: package.name: "../PREP_{cut}" contains a path separator; expected a plain file name such as PREP2024_MICH_{cut}`,
    ],
  },
  {
    name: 'package.name ending in the notice mark',
    lines: [TOP[0], TOP[1], '  name: PREP_{cut}-aviso', ...TOP.slice(3), ...EL_SOL],
    expected: [`${FILE}:3:9: package.name: "PREP_{cut}-aviso" ends with "-aviso", which marks notice packages; end it otherwise, e.g. "PREP_{cut}"`],
  },
  {
    name: 'bad timezone',
    lines: ['timezone: Mexico/Morelia', ...TOP, ...EL_SOL],
    expected: [
      `${FILE}:1:11: timezone: unknown timezone "Mexico/Morelia"; expected an IANA name such as America/Mexico_City (see \`timedatectl list-timezones\`)`,
    ],
  },
  {
    name: 'several problems in one file, reported together in file order',
    lines: [
      'institute: IEM', // 1
      'timezone: Mars/Olympus', // 2
      'package:', // 3
      '  name: PREP', // 4
      '  format: rar', // 5
      'push:', // 6
      '  concurrency: 0', // 7
      'defaults:', // 8
      '  username: iem', // 9
      '  private_key: ./keys/id_ed25519', // 10
      'difusores:', // 11
      '  - id: el-sol', // 12
      '    host: 203.0.113.10', // 13
      '    port: 70000', // 14
      '    host_key: "SHA256:short"', // 15
      '    remote_dir: prep', // 16
      '  - id: el-sol', // 17
      '    host: 203.0.113.11', // 18
      `    host_key: "${HOST_KEY_B}"`, // 19
      '    remote_dir: /prep', // 20
      '    colour: blue', // 21
    ],
    expected: [
      `${FILE}:2:11: timezone: unknown timezone "Mars/Olympus"; expected an IANA name such as America/Mexico_City (see \`timedatectl list-timezones\`)`,
      `${FILE}:4:9: package.name: "PREP" has no {cut}; every cut needs its own package name, e.g. "PREP_{cut}"`,
      `${FILE}:5:11: package.format: expected tar.gz or zip, got "rar"`,
      `${FILE}:7:16: push.concurrency: expected a whole number from 1 to 256, got 0`,
      `${FILE}:14:11: difusores[0].port: expected a port number from 1 to 65535, got 70000`,
      // The port is wrong, so the keyscan hint cannot name it: it falls back to port 22.
      `${FILE}:15:15: difusores[0].host_key: ${EXPECTED_HOST_KEY}, got "SHA256:short"; ${HOST_KEY_HINT}`,
      `${FILE}:16:17: difusores[0].remote_dir: "prep" is not absolute; expected an absolute path on the difusor's server, e.g. /var/www/prep`,
      `${FILE}:17:9: difusores[1].id: "el-sol" is already the id of difusores[0] (line 12); ids must be unique`,
      `${FILE}:21:5: difusores[1].colour: unknown field "colour"; expected one of: ${DIFUSOR_FIELDS}`,
    ],
  },
];

/** Validates `lines` as difusores.yaml in the workspace, shown to the user as "difusores.yaml". */
async function validateLines(ws: RegistryWorkspace, lines: string[], env: NodeJS.ProcessEnv = {}) {
  const file = await ws.write(FILE, yamlLines(...lines));
  const deps: RegistryDeps = { env, displayPath: FILE };
  return { file, deps, result: await validateRegistry(file, deps) };
}

async function loadFailure(file: string, deps: RegistryDeps): Promise<PrepPushError> {
  try {
    await loadRegistry(file, deps);
  } catch (error) {
    if (error instanceof PrepPushError) return error;
    throw error;
  }
  throw new Error('loadRegistry accepted a broken registry');
}

describe('registry validation', () => {
  let ws: RegistryWorkspace;
  beforeAll(async () => {
    ws = await makeRegistryWorkspace();
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  test('the base used by the broken cases is itself valid', async () => {
    const { result } = await validateLines(ws, [...TOP, ...EL_SOL]);
    expect(result.problems).toEqual([]);
    expect(result.registry?.difusores.map((d) => d.id)).toEqual(['el-sol']);
  });

  test.each(brokenCases)('$name', async ({ lines, env, expected }) => {
    const { file, deps, result } = await validateLines(ws, lines, env);
    const wanted = typeof expected === 'function' ? expected(ws) : expected;
    expect(result.problems.map(formatProblem)).toEqual(wanted);
    expect(result.registry).toBeNull();

    const error = await loadFailure(file, deps);
    expect(error.kind).toBe('registry');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(`${FILE}: ${wanted.length} problem${wanted.length === 1 ? '' : 's'} in the registry`);
    expect(error.details).toEqual(wanted);
    expect(error.hint).toMatch(/prep-push validate/);
  });

  test('a missing file is one problem at 1:1 with a hint', async () => {
    const deps = { env: {}, displayPath: 'conf/difusores.yaml' };
    const { problems } = await validateRegistry(join(ws.dir, 'conf', 'difusores.yaml'), deps);
    expect(problems.map(formatProblem)).toEqual([
      'conf/difusores.yaml:1:1: (file): file not found; create it (see the example difusores.yaml in the README) or pass --config FILE',
    ]);
    const error = await loadFailure(join(ws.dir, 'conf', 'difusores.yaml'), deps);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe('conf/difusores.yaml: 1 problem in the registry');
  });

  test('without displayPath, messages name the path as given', async () => {
    const file = await ws.write('named/difusores.yaml', yamlLines(...TOP.slice(0, 7), 'difusores: []'));
    const { problems } = await validateRegistry(file, { env: {} });
    expect(problems.map(formatProblem)).toEqual([`${file}:8:12: difusores: the list is empty; expected at least one difusor`]);
  });

  test('an empty file and a list are refused at the top level', async () => {
    const expected = 'expected a mapping with institute, package and difusores (see the example difusores.yaml)';
    const empty = await validateLines(ws, []);
    expect(empty.result.problems.map(formatProblem)).toEqual([`${FILE}:1:1: (top level): ${expected}, got nothing`]);
    const list = await validateLines(ws, ['- el-sol']);
    expect(list.result.problems.map(formatProblem)).toEqual([`${FILE}:1:1: (top level): ${expected}, got a list`]);
  });
});

describe('the validated registry', () => {
  let ws: RegistryWorkspace;
  beforeAll(async () => {
    ws = await makeRegistryWorkspace();
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  test('host_key may be a list (rotation, several key types), entries optionally typed', async () => {
    const { result } = await validateLines(ws, [
      ...TOP,
      ...EL_SOL.slice(0, 2),
      `    host_key: ["${HOST_KEY_A}", "ssh-rsa ${HOST_KEY_B}"]`,
    ]);
    expect(result.problems).toEqual([]);
    expect(result.registry?.difusores[0]).toMatchObject({
      hostKey: HOST_KEY_A,
      hostKeys: [{ fingerprint: HOST_KEY_A }, { fingerprint: HOST_KEY_B, type: 'ssh-rsa' }],
    });
  });

  test('a bad entry of a host_key list is reported with its position in the list', async () => {
    const { result } = await validateLines(ws, [...TOP, ...EL_SOL.slice(0, 2), `    host_key: ["${HOST_KEY_A}", "ssh-foo ${HOST_KEY_B}"]`]);
    expect(result.problems.map(formatProblem)).toEqual([
      `${FILE}:11:15: difusores[0].host_key: entry 2: ${EXPECTED_HOST_KEY}, got "ssh-foo ${HOST_KEY_B}"; ${HOST_KEY_HINT}`,
    ]);
  });

  test('defaults are merged into each difusor, the difusor overriding; built-in defaults fill the rest', async () => {
    const { result } = await validateLines(ws, [
      ...TOP.slice(0, 4),
      '  port: 2222',
      ...TOP.slice(4),
      ...EL_SOL,
      '  - id: la-voz',
      '    name: La Voz de Michoacán',
      '    host: sftp.lavoz.example',
      '    port: 22',
      '    username: prep',
      `    host_key: "${HOST_KEY_B}"`,
      '    remote_dir: /srv/prep',
      '    enabled: false',
    ]);
    expect(result.problems).toEqual([]);
    const registry = result.registry!;
    expect(registry).toMatchObject({
      institute: 'IEM',
      timezone: 'America/Mexico_City',
      blockAfterMisses: 3,
      package: { name: 'PREP_{cut}', format: 'tar.gz' },
      push: { concurrency: 16, connectTimeoutS: 15, transferTimeoutS: 300, retries: 1 },
    });
    expect(registry.stateDir).toBeUndefined();
    expect(registry.difusores).toEqual([
      {
        id: 'el-sol',
        name: 'el-sol',
        host: '203.0.113.10',
        port: 2222,
        username: 'iem',
        privateKey: ws.plainKey,
        hostKey: HOST_KEY_A,
        remoteDir: '/prep',
        enabled: true,
      },
      {
        id: 'la-voz',
        name: 'La Voz de Michoacán',
        host: 'sftp.lavoz.example',
        port: 22,
        username: 'prep',
        privateKey: ws.plainKey,
        hostKey: HOST_KEY_B,
        remoteDir: '/srv/prep',
        enabled: false,
      },
    ]);
  });

  test('key and state_dir paths are resolved from the registry file’s folder, not the current folder', async () => {
    const file = await ws.write(
      'site/conf/difusores.yaml',
      yamlLines(
        'institute: IEM',
        'state_dir: ../state',
        'package:',
        '  name: "PREP_{cut}"',
        '  format: zip',
        'defaults:',
        '  username: iem',
        '  private_key: ../../keys/id_ed25519',
        '  remote_dir: /prep',
        'difusores:',
        ...EL_SOL,
      ),
    );
    // A relative path to the file, so the cwd (the repository) differs from the file's folder.
    const relativeFile = relative(process.cwd(), file);
    const registry = await loadRegistry(relativeFile, { env: {} });
    expect(registry.file).toBe(file);
    expect(registry.stateDir).toBe(join(ws.dir, 'site', 'state'));
    expect(registry.difusores[0].privateKey).toBe(ws.plainKey);
    expect(registry.package.format).toBe('zip');
  });

  test('a passphrase-protected key validates when its variable holds the passphrase', async () => {
    const { result } = await validateLines(
      ws,
      [...TOP, ...EL_SOL, '    private_key: keys/locked_ed25519', '    private_key_passphrase_env: PREP_KEY_PASS'],
      { PREP_KEY_PASS: KEY_PASSPHRASE },
    );
    expect(result.problems).toEqual([]);
    expect(result.registry?.difusores[0]).toMatchObject({ privateKey: ws.lockedKey, privateKeyPassphraseEnv: 'PREP_KEY_PASS' });
  });

  test('a command that never connects (build) can skip the login keys; validate checks them', async () => {
    const lines = [...TOP, ...EL_SOL, '    private_key: keys/not-a-key', '    private_key_passphrase_env: UNSET_PASS'];
    const checked = await validateLines(ws, lines);
    expect(checked.result.problems.map(formatProblem)).toEqual([
      `${FILE}:12:18: difusores[0].private_key: ${ws.notAKey} is not a private key ssh2 can read (Unsupported key format); expected an OpenSSH or PEM private key such as \`ssh-keygen -t ed25519\` writes`,
    ]);
    const skipped = await validateRegistry(checked.file, { ...checked.deps, checkLoginKeys: false });
    expect(skipped.problems).toEqual([]);
    expect(skipped.registry?.difusores[0].privateKey).toBe(ws.notAKey);
  });

  test('without a key, a set password variable or an ssh-agent is a way to log in', async () => {
    const noKey = [...TOP.slice(0, 5), ...TOP.slice(6), ...EL_SOL];
    const withPassword = await validateLines(ws, [...noKey, '    password_env: EL_SOL_PASSWORD'], { EL_SOL_PASSWORD: 'pw' });
    expect(withPassword.result.problems).toEqual([]);
    expect(withPassword.result.registry?.difusores[0].passwordEnv).toBe('EL_SOL_PASSWORD');
    expect(withPassword.result.registry?.difusores[0].privateKey).toBeUndefined();

    const withAgent = await validateLines(ws, noKey, { SSH_AUTH_SOCK: '/run/agent.sock' });
    expect(withAgent.result.problems).toEqual([]);
  });

  test('the example difusores.yaml validates with an empty environment', async () => {
    const { registry, problems } = await validateRegistry(EXAMPLE_REGISTRY, { env: {} });
    expect(problems.map(formatProblem)).toEqual([]);
    expect(registry?.difusores.map((d) => [d.id, d.enabled])).toEqual([
      ['el-sol', true],
      ['la-voz', true],
      ['quadratin', false],
    ]);
    expect(registry?.difusores[0].privateKey).toBe(join(process.cwd(), 'keys', 'example_ed25519'));
  });
});

describe('distinct destinations', () => {
  test('the same server and folder is fine when one of the two is disabled, or the folders differ', async () => {
    const ws = await makeRegistryWorkspace();
    try {
      for (const extra of [
        ['  - id: el-sol-old', '    host: 203.0.113.10', `    host_key: "${HOST_KEY_A}"`, '    enabled: false'],
        ['  - id: el-sol-2', '    host: 203.0.113.10', `    host_key: "${HOST_KEY_A}"`, '    remote_dir: /prep2'],
      ]) {
        const file = await ws.write(FILE, yamlLines(...TOP, ...EL_SOL, ...extra));
        const { problems } = await validateRegistry(file, { env: {}, displayPath: FILE });
        expect(problems).toEqual([]);
      }
    } finally {
      await ws.cleanup();
    }
  });
});

describe('site mode in the registry', () => {
  test('delivery and publish.keep_releases are read, delivery settable in defaults; zip cannot feed site mode', async () => {
    const ws = await makeRegistryWorkspace();
    try {
      const site = [...TOP.slice(0, 4), '  delivery: site', ...TOP.slice(4), ...EL_SOL, '  - id: la-voz', '    host: 203.0.113.11', `    host_key: "${HOST_KEY_B}"`, '    delivery: package'];
      const file = await ws.write(FILE, yamlLines(...site, 'publish:', '  keep_releases: 5'));
      const { registry, problems } = await validateRegistry(file, { env: {}, displayPath: FILE });
      expect(problems).toEqual([]);
      expect(registry!.difusores.map((d) => [d.id, d.delivery])).toEqual([['el-sol', 'site'], ['la-voz', 'package']]);
      expect(registry!.publish).toEqual({ keepReleases: 5 });

      const zip = [...TOP.slice(0, 3), '  format: zip', ...TOP.slice(3, 4), '  delivery: both', ...TOP.slice(4), ...EL_SOL];
      const zipFile = await ws.write(FILE, yamlLines(...zip));
      const result = await validateRegistry(zipFile, { env: {}, displayPath: FILE });
      expect(result.problems.map(formatProblem)).toEqual([
        `${FILE}:4:11: package.format: zip cannot feed delivery: site (used by el-sol); site mode publishes from tar.gz packages — set format: tar.gz, or delivery: package for them`,
      ]);
    } finally {
      await ws.cleanup();
    }
  });
});
