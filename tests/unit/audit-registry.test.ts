// The registry's audit fields: `url` per difusor (normalised to a folder) and the `audit:` block.
import { validateRegistry } from '../../src/registry/validate.js';
import { formatProblem } from '../../src/registry/problems.js';
import { HOST_KEY_A, makeRegistryWorkspace, yamlLines, type RegistryWorkspace } from '../helpers/registry-fixtures.js';

let ws: RegistryWorkspace;
beforeAll(async () => {
  ws = await makeRegistryWorkspace();
});
afterAll(() => ws.cleanup());

const top = ['institute: IEM', 'package:', '  name: "PREP_{cut}"', 'defaults:', '  username: iem', '  private_key: ./keys/id_ed25519', '  remote_dir: /prep'];
const difusor = (url: string) => ['difusores:', '  - id: el-sol', '    host: 203.0.113.10', `    host_key: "${HOST_KEY_A}"`, `    url: ${url}`];

async function validate(lines: string[]) {
  const file = await ws.write('difusores.yaml', yamlLines(...lines));
  return validateRegistry(file, { env: {}, displayPath: 'difusores.yaml' });
}

test.each([
  ['https://elsol.example/prep/', 'https://elsol.example/prep/'],
  ['https://elsol.example/prep', 'https://elsol.example/prep/'],
  ['http://203.0.113.10:8080', 'http://203.0.113.10:8080/'],
])('url %s becomes %s', async (url, normalised) => {
  const { registry, problems } = await validate([...top, ...difusor(url)]);
  expect(problems.map(formatProblem)).toEqual([]);
  expect(registry?.difusores[0].url).toBe(normalised);
  expect(registry?.audit).toBeUndefined();
});

test.each([
  ['elsol.example/prep', 'is not a URL'],
  ['ftp://elsol.example/prep/', 'is not http or https'],
  ['https://user:pw@elsol.example/', 'contains a user or password'],
  ['https://elsol.example/prep/?a=1', 'has a query or fragment'],
])('url %s is refused at its line', async (url, message) => {
  const { problems } = await validate([...top, ...difusor(url)]);
  expect(problems.map(formatProblem)).toEqual([expect.stringMatching(new RegExp(`^difusores.yaml:12:10: difusores\\[0\\]\\.url: .*${message.replace(/[?]/g, '\\?')}`))]);
});

test('the audit block: defaults, relative ca_file, sample all, and its problems', async () => {
  const ok = await validate([...top, ...difusor('https://x.example/'), 'audit:', '  ca_file: ./ca/iem.pem', '  sample: all', '  counts_as_miss: true']);
  expect(ok.problems).toEqual([]);
  expect(ok.registry?.audit).toEqual({
    caFile: `${ws.dir}/ca/iem.pem`,
    countsAsMiss: true,
    sample: 'all',
    timeoutS: 60,
    concurrency: 8,
    maxRequests: 64,
  });
  const bad = await validate([...top, ...difusor('https://x.example/'), 'audit:', '  sample: some', '  timeout: 5']);
  expect(bad.problems.map(formatProblem)).toEqual([
    'difusores.yaml:14:11: audit.sample: expected a whole number of files (0 or more) or "all", got "some"',
    'difusores.yaml:15:3: audit.timeout: unknown field "timeout"; did you mean "timeout_s"? expected one of: ca_file, counts_as_miss, sample, timeout_s, concurrency, max_requests',
  ]);
});
