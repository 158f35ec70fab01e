// One cut id, one content (CONTRACT "One cut id, one content", issue #23 item 2), through the built
// binary: a second build or cut of a stored cut id from a different source is refused with exit 2
// before anything is stored or pushed, naming the stored cut's time and SHA-256 and what to do;
// the same content again reuses the stored package, byte for byte.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSftpServer, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { runPrepPush } from '../helpers/cli.js';
import { makeKeyPair } from '../helpers/keys.js';
import { FIXTURE_SITE } from '../helpers/workspace.js';

const CUT = '2024-06-02T20:20:00-06:00';
const PACKAGE = 'PREP2024_MICH_20240602_2020.tar.gz';

let work: string;
let served: string;
let server: SftpServerHandle;
let registry: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'prep-one-content-'));
  const key = await makeKeyPair(work, 'client');
  served = join(work, 'served');
  mkdirSync(join(served, 'prep'), { recursive: true });
  server = await startSftpServer({ root: served, username: 'iem', authorizedKeys: [key.publicKey] });
  registry = join(work, 'difusores.yaml');
  writeFileSync(
    registry,
    [
      'institute: IEM',
      'package:',
      '  name: "PREP2024_MICH_{cut}"',
      'push: {concurrency: 2, connect_timeout_s: 5, transfer_timeout_s: 30, retries: 0}',
      'difusores:',
      `  - {id: el-sol, name: El Sol, host: 127.0.0.1, port: ${server.port}, host_key: "${server.hostKeyFingerprint}", username: iem, private_key: "${key.privateKeyPath}", remote_dir: /prep}`,
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

let caseDir: string;
let stateDir: string;
beforeEach(async () => {
  caseDir = await mkdtemp(join(work, 'case-'));
  stateDir = join(caseDir, 'state');
});

/** A copy of the fixture site; `edit` changes one file's content. */
function source(name: string, edit?: string): string {
  const dir = join(caseDir, name);
  cpSync(FIXTURE_SITE, dir, { recursive: true });
  if (edit !== undefined) writeFileSync(join(dir, 'index.html'), edit);
  return dir;
}

const prepPush = (args: string[]) => runPrepPush(['--config', registry, '--state-dir', stateDir, ...args], { env: { NO_COLOR: '1' } });

/** Every file of the store with its bytes' SHA-256 and mtime: what "the store is unchanged" compares. */
function storeSnapshot(): Record<string, string> {
  const dir = join(stateDir, 'packages');
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, `${createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')} ${statSync(join(dir, name)).mtimeMs}`]),
  );
}

const sha256Printed = (stdout: string) => /^sha256\s+([0-9a-f]{64})$/m.exec(stdout)?.[1];
const fileSha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('build: the same minute with a different source is refused (exit 2) naming the stored cut, and the store is unchanged', async () => {
  const first = await prepPush(['build', '--source', source('a'), '--cut', CUT]);
  expect(first.code).toBe(0);
  const sha = sha256Printed(first.stdout) as string;
  expect(fileSha256(join(stateDir, 'packages', PACKAGE))).toBe(sha);
  const before = storeSnapshot();

  const second = await prepPush(['build', '--source', source('b', '<h1>otro contenido</h1>\n'), '--cut', CUT]);
  expect(second.code).toBe(2);
  expect(second.stdout).toBe('');
  // The stored cut's time and SHA-256, and both ways out.
  expect(second.stderr).toContain(`cut 20240602_2020 is already stored from a different source: ${PACKAGE} (cut time ${CUT}`);
  expect(second.stderr).toContain(`SHA-256 ${sha}`);
  expect(second.stderr).toContain('--cut 2024-06-02T20:21-06:00');
  expect(second.stderr).toContain('prep-push retract 20240602_2020 --reason');
  expect(storeSnapshot()).toEqual(before);
  expect(fileSha256(join(stateDir, 'packages', PACKAGE))).toBe(sha);
});

test('build: the same content again exits 0 with the same SHA-256 and leaves the stored package untouched', async () => {
  const dir = source('a');
  const first = await prepPush(['build', '--source', dir, '--cut', CUT]);
  expect(first.code).toBe(0);
  const before = storeSnapshot();
  // A copy elsewhere is the same content: a cut id names content, not a folder.
  const again = await prepPush(['build', '--source', source('copia'), '--cut', CUT]);
  expect([again.code, again.stderr]).toEqual([0, '']);
  expect(sha256Printed(again.stdout)).toBe(sha256Printed(first.stdout));
  expect(again.stdout).toBe(first.stdout);
  expect(storeSnapshot()).toEqual(before);
});

test('cut: a second cut of the same minute with a different source pushes nothing (exit 2); the same content is delivered again', async () => {
  const first = await prepPush(['cut', '--source', source('a'), '--cut', CUT, '--json']);
  expect(first.code).toBe(0);
  const report = JSON.parse(first.stdout);
  expect(report.results.map((r: { outcome: string }) => r.outcome)).toEqual(['delivered']);
  const latest = readFileSync(join(served, 'prep', 'LATEST'), 'utf8');
  const delivered = fileSha256(join(served, 'prep', PACKAGE));
  expect(delivered).toBe(report.package.sha256);
  const before = storeSnapshot();
  const connections = server.connections;

  const second = await prepPush(['cut', '--source', source('b', '<h1>otro contenido</h1>\n'), '--cut', CUT, '--json']);
  expect(second.code).toBe(2);
  expect(second.stderr).toContain(`SHA-256 ${report.package.sha256}`);
  expect(server.connections).toBe(connections);
  expect(storeSnapshot()).toEqual(before);
  expect(readFileSync(join(served, 'prep', 'LATEST'), 'utf8')).toBe(latest);
  expect(fileSha256(join(served, 'prep', PACKAGE))).toBe(delivered);

  const again = await prepPush(['cut', '--source', source('copia'), '--cut', CUT, '--json']);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout).package.sha256).toBe(report.package.sha256);
  expect(storeSnapshot()).toEqual(before);
});
