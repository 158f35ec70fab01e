// The registry fields of notifications, notices and the public list: a valid file becomes the
// Registry (paths absolute, defaults applied); bad addresses, URLs and templates are exit 2, located.
import path from 'node:path';
import { loadRegistry, validateRegistry } from '../../src/registry/validate.js';
import { formatProblem } from '../../src/registry/problems.js';
import { makeRegistryWorkspace, yamlLines, HOST_KEY_A, type RegistryWorkspace } from '../helpers/registry-fixtures.js';

let ws: RegistryWorkspace;
beforeAll(async () => {
  ws = await makeRegistryWorkspace();
});
afterAll(async () => {
  await ws.cleanup();
});

const head = (key: string) => [
  'institute: IEM', //                                   1
  'package: {name: "P_{cut}"}', //                       2
  `defaults: {private_key: ${key}, username: iem, remote_dir: /prep}`, // 3
  'difusores:', //                                       4
];

async function check(name: string, lines: string[], env: NodeJS.ProcessEnv = {}) {
  const file = await ws.write(name, yamlLines(...lines));
  return { file, result: await validateRegistry(file, { env, displayPath: name }) };
}

test('a complete file: every field where the rest of prep-push reads it', async () => {
  await ws.write('aviso.html', '<html lang="es"><p>{{institute}}: {{difusor}} desde {{since}} ({{reason}})</p></html>');
  const { file, result } = await check(
    'ok.yaml',
    [
      ...head(ws.plainKey),
      `  - {id: el-sol, host: 203.0.113.10, host_key: "${HOST_KEY_A}", url: "https://elsol.example/prep/", contacts: [{name: Ana Pérez, email: ana@elsol.example, phone: "+52 443 000 0000"}]}`,
      'institute_name: Instituto Electoral de Michoacán',
      'notify:',
      '  email: {smtp: {host: smtp.iem.example, tls: tls, username: prep, password_env: PREP_SMTP_PASSWORD}, from: "PREP IEM <prep@iem.example>", to: [mesa@iem.example], difusor_contacts: true}',
      '  webhook: {url: "https://hooks.iem.example/prep"}',
      '  command: [/usr/local/bin/avisar, --prep]',
      'public_list: {dir: ./publico}',
      'notice: {template: ./aviso.html}',
    ],
    { PREP_SMTP_PASSWORD: 'x' },
  );
  expect(result.problems.map(formatProblem)).toEqual([]);
  const r = result.registry!;
  expect(r.instituteName).toBe('Instituto Electoral de Michoacán');
  expect(r.difusores[0]).toMatchObject({ url: 'https://elsol.example/prep/', contacts: [{ name: 'Ana Pérez', email: 'ana@elsol.example', phone: '+52 443 000 0000' }] });
  expect(r.notify).toEqual({
    timeoutS: 10,
    email: {
      smtp: { host: 'smtp.iem.example', port: 465, tls: 'tls', username: 'prep', passwordEnv: 'PREP_SMTP_PASSWORD' },
      from: 'PREP IEM <prep@iem.example>',
      to: ['mesa@iem.example'],
      difusorContacts: true,
    },
    webhook: { url: 'https://hooks.iem.example/prep' },
    command: ['/usr/local/bin/avisar', '--prep'],
  });
  expect(r.publicList).toEqual({ dir: path.join(path.dirname(file), 'publico') });
  expect(r.notice?.template).toBe(path.join(path.dirname(file), 'aviso.html'));
  expect(r.notice?.html).toContain('{{difusor}}');
});

test('bad addresses, URLs, a missing password variable, a zero timeout: every one located', async () => {
  const { result } = await check('bad.yaml', [
    ...head(ws.plainKey),
    `  - {id: el-sol, host: h, host_key: "${HOST_KEY_A}", url: "ftp://elsol.example/", contacts: [{name: Ana, email: "ana@"}]}`, // 5
    'notify:', //                                                   6
    '  email:', //                                                  7
    '    smtp: {host: smtp.x, tls: ssl, password_env: NOT_SET}', // 8
    '    from: "prep at iem"', //                                   9
    '    to: [ok@iem.example, "x@y"]', //                           10
    '  webhook: {url: "https://user:pw@hooks.example/"}', //        11
    '  timeout_s: 0', //                                            12
  ]);
  expect(result.problems.map(formatProblem)).toEqual([
    'bad.yaml:5:96: difusores[0].url: "ftp://elsol.example/" is not http or https; expected an address such as https://elsol.example/prep/',
    'bad.yaml:5:150: difusores[0].contacts[0].email: "ana@" is not an e-mail address; expected one such as ana@elsol.example',
    'bad.yaml:8:31: notify.email.smtp.tls: expected none, starttls or tls, got "ssl"',
    'bad.yaml:8:50: notify.email.smtp.password_env: the environment variable NOT_SET is not set; set it to the SMTP password where prep-push runs (a cron job does not see your login shell\'s variables)',
    'bad.yaml:9:11: notify.email.from: "prep at iem" is not an e-mail address; expected one such as prep@iem.example or "PREP IEM <prep@iem.example>"',
    'bad.yaml:10:26: notify.email.to[1]: "x@y" is not an e-mail address; expected one such as prep@iem.example or "PREP IEM <prep@iem.example>"',
    'bad.yaml:11:18: notify.webhook.url: "https://user:pw@hooks.example/" contains a user or password; secrets never go in the registry',
    'bad.yaml:12:14: notify.timeout_s: expected a number of seconds greater than 0, got 0',
  ]);
});

test('a notice template with an unknown placeholder, or missing: exit 2, located at notice.template', async () => {
  await ws.write('typo.html', '<p>{{institute}} {{difusr}}</p>');
  const { file, result } = await check('typo.yaml', [...head(ws.plainKey), `  - {id: el-sol, host: h, host_key: "${HOST_KEY_A}"}`, 'notice: {template: ./typo.html}']);
  expect(result.problems.map(formatProblem)).toEqual([
    `typo.yaml:6:20: notice.template: notice template ${path.join(ws.dir, 'typo.html')} uses unknown placeholder {{difusr}}; known: {{institute}}, {{institute_short}}, {{difusor}}, {{difusor_id}}, {{url}}, {{since}}, {{reason}}, {{cut}}, {{institute_url}}, {{list_url}}, {{aviso}}`,
  ]);
  await expect(loadRegistry(file, { env: {} })).rejects.toMatchObject({ exitCode: 2 });

  const missing = await check('missing.yaml', [...head(ws.plainKey), `  - {id: el-sol, host: h, host_key: "${HOST_KEY_A}"}`, 'notice: {template: ./nope.html}']);
  expect(missing.result.problems.map(formatProblem)[0]).toMatch(/^missing\.yaml:6:20: notice\.template: notice template .*nope\.html does not exist/);
});
