// A push's fixed cost is part of every cut's wall time (figure 5 of the benchmark counts the whole
// process): the built binary must load only what delivering needs before it connects, and
// PREP_PUSH_TRACE=1 must show the timeline that lets anyone check where the time goes.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runPrepPush } from '../helpers/cli.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let sshd: SshdFixture;
let ws: Workspace;

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'el-sol' }] });
  ws = await makeWorkspace();
  await ws.writeRegistry(registryYamlFor(sshd, ['el-sol']));
  const built = await runPrepPush(['--config', ws.registryFile, '--state-dir', ws.stateDir, 'build', '--source', ws.sourceDir, '--cut', '2024-06-02T20:20:00-06:00']);
  expect(built.code).toBe(0);
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
});

const push = (env: NodeJS.ProcessEnv = {}) =>
  runPrepPush(['--config', ws.registryFile, '--state-dir', ws.stateDir, 'push', '--json'], { env: { NO_COLOR: '1', ...env }, timeoutMs: 60_000 });

/** A module hook (loaded with --import) that writes every URL the process loads to `listFile`. */
function moduleListingImport(listFile: string): string {
  const hooks = path.join(ws.dir, 'list-hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\n` +
      `let out;\nexport function initialize(data) { out = data.out; }\n` +
      `export async function load(url, context, next) { appendFileSync(out, url + '\\n'); return next(url, context); }\n`,
  );
  const register = path.join(ws.dir, 'list-register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: { out: ${JSON.stringify(listFile)} } });\n`,
  );
  return `--import=${pathToFileURL(register).href}`;
}

test('a package-mode push loads no build, site, delta, notice or e-mail code', async () => {
  const listFile = path.join(ws.dir, 'loaded.txt');
  writeFileSync(listFile, '');
  const run = await push({ NODE_OPTIONS: moduleListingImport(listFile) });
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).results.map((r: { outcome: string }) => r.outcome)).toEqual(['delivered']);
  const loaded = readFileSync(listFile, 'utf8').split('\n');
  const ours = (file: string) => loaded.some((url) => url.endsWith(`/dist/src/${file}`));
  // The listing sees the modules a push does need, so the absences below mean something.
  expect(ours('sftp/connect.js')).toBe(true);
  expect(ours('cut/follow-up.js')).toBe(true);
  for (const file of ['package/build-package.js', 'signing/load-signing-key.js', 'publish/release.js', 'publish/site-tree.js', 'package/delta.js', 'delivery/notice-publisher.js']) {
    expect([file, ours(file)]).toEqual([file, false]);
  }
  expect(loaded.filter((url) => url.includes('/node_modules/nodemailer/'))).toEqual([]);
});

test('PREP_PUSH_TRACE=1 prints the timeline on stderr, in order, ending at exit; without it nothing', async () => {
  const traced = await push({ PREP_PUSH_TRACE: '1' });
  expect(traced.code).toBe(0);
  const marks = traced.stderr
    .split('\n')
    .map((line) => /^prep-push trace: \+ *([0-9.]+) ms {2}(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ ms: Number(m[1]), label: m[2] }));
  const labels = marks.map((m) => m.label);
  const order = ['cli: push modules loaded', 'registry loaded and validated', 'lock taken', 'el-sol: connecting', 'el-sol: connected and authenticated', 'el-sol: delivered', 'run report written', 'exit'];
  expect(order.map((label) => labels.indexOf(label))).toEqual([...order.map((label) => labels.indexOf(label))].sort((a, b) => a - b));
  expect(order.filter((label) => !labels.includes(label))).toEqual([]);
  expect(labels[labels.length - 1]).toBe('exit');
  const times = marks.map((m) => m.ms);
  expect(times).toEqual([...times].sort((a, b) => a - b));
  // The JSON document on stdout is untouched by tracing.
  expect(JSON.parse(traced.stdout).exit_code).toBe(0);

  const quiet = await push();
  expect(quiet.code).toBe(0);
  expect(quiet.stderr).not.toContain('prep-push trace:');
});
