// The registry fields of the public texts and the publication window: timezone_label, institute_url,
// contact, public_list.url/blocked, publication, and a difusor's logo, judged by its content at
// `validate` (PNG, JPEG or SVG of at most 256 KB; an SVG that could run script is refused), each
// problem at its line.
import { symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { validateRegistry } from '../../src/registry/validate.js';
import { formatProblem } from '../../src/registry/problems.js';
import { judgeLogo } from '../../src/registry/logo.js';
import { makeRegistryWorkspace, yamlLines, HOST_KEY_A, type RegistryWorkspace } from '../helpers/registry-fixtures.js';
import { PNG_LOGO, SVG_LOGO } from '../helpers/logos.js';

let ws: RegistryWorkspace;
beforeAll(async () => {
  ws = await makeRegistryWorkspace();
  await writeFile(path.join(ws.dir, 'sol.png'), PNG_LOGO);
  await writeFile(path.join(ws.dir, 'voz.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0]));
  await writeFile(path.join(ws.dir, 'radio.svg'), SVG_LOGO);
  await writeFile(path.join(ws.dir, 'big.png'), Buffer.concat([PNG_LOGO, Buffer.alloc(300 * 1024)]));
  await writeFile(path.join(ws.dir, 'not-an-image.png'), 'GIF89a, or a text file named .png\n');
  await writeFile(path.join(ws.dir, 'script.svg'), '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n');
  await writeFile(path.join(ws.dir, 'onload.svg'), '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>\n');
  await symlink('/etc/passwd', path.join(ws.dir, 'link.png'));
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
const difusor = (id: string, extra = '') => `  - {id: ${id}, host: ${id}.example, host_key: "${HOST_KEY_A}"${extra}}`;

async function check(name: string, lines: string[]) {
  const file = await ws.write(name, yamlLines(...lines));
  return { file, result: await validateRegistry(file, { env: {}, displayPath: name }) };
}

test('every field where the rest of prep-push reads it; logos as absolute paths', async () => {
  const { file, result } = await check('ok.yaml', [
    ...head(ws.plainKey),
    difusor('el-sol', ', logo: ./sol.png'),
    difusor('la-voz', ', logo: voz.jpg'),
    difusor('radio', ', logo: ./radio.svg'),
    'timezone_label: hora del centro',
    'institute_url: "https://prep.iem.example/"',
    'contact: {name: Mesa del PREP, email: mesa@iem.example, phone: "+52 443 322 1400"}',
    'public_list: {dir: ./publico, url: "https://iem.example/difusores.html", blocked: remove}',
    'publication: {from: "2024-06-02T20:00:00-06:00", until: "2024-06-03T20:00:00-06:00"}',
  ]);
  expect(result.problems.map(formatProblem)).toEqual([]);
  const r = result.registry!;
  const dir = path.dirname(file);
  expect(r.difusores.map((d) => d.logo)).toEqual([path.join(dir, 'sol.png'), path.join(dir, 'voz.jpg'), path.join(dir, 'radio.svg')]);
  expect(r.timezoneLabel).toBe('hora del centro');
  expect(r.instituteUrl).toBe('https://prep.iem.example/');
  expect(r.contact).toEqual({ name: 'Mesa del PREP', email: 'mesa@iem.example', phone: '+52 443 322 1400' });
  expect(r.publicList).toEqual({ dir: path.join(dir, 'publico'), url: 'https://iem.example/difusores.html', blocked: 'remove' });
  expect(r.publication).toEqual({ from: '2024-06-02T20:00:00-06:00', until: '2024-06-03T20:00:00-06:00' });
});

test('a logo that is too big, not an image, an SVG that could run script, a symlink, missing: each at its line', async () => {
  const { result } = await check('bad-logos.yaml', [
    ...head(ws.plainKey),
    difusor('a', ', logo: ./big.png'), //           5
    difusor('b', ', logo: ./not-an-image.png'), //  6
    difusor('c', ', logo: ./script.svg'), //        7
    difusor('d', ', logo: ./onload.svg'), //        8
    difusor('e', ', logo: ./link.png'), //          9
    difusor('f', ', logo: ./nope.png'), //          10
  ]);
  const problems = result.problems.map(formatProblem);
  expect(problems).toHaveLength(6);
  expect(problems[0]).toMatch(/^bad-logos\.yaml:5:\d+: difusores\[0\]\.logo: logo .*big\.png is 30\d KB; a logo may be at most 256 KB/);
  expect(problems[1]).toMatch(/^bad-logos\.yaml:6:\d+: difusores\[1\]\.logo: logo .*not-an-image\.png is not a PNG, JPEG or SVG file \(judged by its content, not its name\)$/);
  expect(problems[2]).toMatch(/^bad-logos\.yaml:7:\d+: difusores\[2\]\.logo: logo .*script\.svg is an SVG holding a <script> element/);
  expect(problems[3]).toMatch(/^bad-logos\.yaml:8:\d+: difusores\[3\]\.logo: logo .*onload\.svg is an SVG holding an event attribute/);
  expect(problems[4]).toMatch(/^bad-logos\.yaml:9:\d+: difusores\[4\]\.logo: logo .*link\.png is a symbolic link; point logo at the file itself$/);
  expect(problems[5]).toMatch(/^bad-logos\.yaml:10:\d+: difusores\[5\]\.logo: logo .*nope\.png does not exist/);
});

test('bad URLs, contact, publication times and list mode: each at its line', async () => {
  const { result } = await check('bad.yaml', [
    ...head(ws.plainKey),
    difusor('el-sol'), //                                                        5
    'institute_url: "ftp://prep.iem.example/"', //                              6
    'contact: {name: Mesa, email: "mesa@"}', //                                  7
    'public_list: {dir: ./p, url: "nope", blocked: hide}', //                    8
    'publication: {from: "2024-06-02 20:00", until: "2024-06-01T20:00:00-06:00"}', // 9
    'timezone_label: ""', //                                                      10
  ]);
  expect(result.problems.map(formatProblem)).toEqual([
    'bad.yaml:6:16: institute_url: "ftp://prep.iem.example/" is not http or https; expected an address such as https://elsol.example/prep/',
    'bad.yaml:7:30: contact.email: "mesa@" is not an e-mail address; expected one such as ana@elsol.example',
    'bad.yaml:8:30: public_list.url: "nope" is not a URL; expected an http(s) address such as https://elsol.example/prep/',
    'bad.yaml:8:47: public_list.blocked: expected suspend (a blocked difusor is listed as suspended, without a link) or remove (left out of the list), got "hide"',
    'bad.yaml:9:21: publication.from: "2024-06-02 20:00" is not an ISO 8601 time with its offset; expected one such as 2024-06-02T20:00:00-06:00',
    'bad.yaml:10:17: timezone_label: must not be empty',
  ]);
  const order = await check('order.yaml', [...head(ws.plainKey), difusor('el-sol'), 'publication: {from: "2024-06-02T20:00:00-06:00", until: "2024-06-02T19:00:00-06:00"}']);
  expect(order.result.problems.map(formatProblem)).toEqual([
    'order.yaml:6:57: publication.until: "2024-06-02T19:00:00-06:00" is not after from (2024-06-02T20:00:00-06:00); until ends the window that from opens',
  ]);
});

test.each<[string, string, string | null]>([
  ['a PNG', PNG_LOGO.toString('latin1'), 'png'],
  ['an SVG after an XML declaration, a comment and a DOCTYPE', '<?xml version="1.0"?><!-- logo --><!DOCTYPE svg><svg viewBox="0 0 1 1"/>', 'svg'],
  ['a namespaced SVG root', '<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>', 'svg'],
  ['an HTML page', '<!doctype html><html><svg/></html>', null],
  ['an SVG linking javascript:', '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>', null],
  ['an SVG embedding HTML', '<svg><foreignObject><div/></foreignObject></svg>', null],
  ['an SVG declaring entities', '<!DOCTYPE svg [<!ENTITY a "b">]><svg>&a;</svg>', null],
])('judged by content: %s', (_name, text, type) => {
  const verdict = judgeLogo(Buffer.from(text, 'latin1'));
  expect(verdict.ok ? verdict.type : null).toBe(type);
});
