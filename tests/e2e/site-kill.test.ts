// The built binary SIGKILLed in the middle of publishing a release: `current` still names the
// complete previous release, and the next run removes the leftovers and publishes with nobody acting.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSftpServer, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { runPrepPush, startPrepPush } from '../helpers/cli.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';
import { generateReadableKeyPair } from '../../src/sftp-server/index.js';

let ws: Workspace;
let key: KeyPair;
const servers: SftpServerHandle[] = [];
const hostKey = generateReadableKeyPair().private;

beforeAll(async () => {
  ws = await makeWorkspace('prep-push-site-kill-');
  key = await makeKeyPair(ws.dir, 'client');
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await ws?.remove();
});

async function serve(root: string, bytesPerSecond?: number): Promise<SftpServerHandle> {
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [key.publicKey], hostKey, faults: { bytesPerSecond } });
  servers.push(server);
  return server;
}

async function writeRegistry(server: SftpServerHandle): Promise<void> {
  await ws.writeRegistry(
    [
      'institute: IEM',
      'package:',
      '  name: "PREP_{cut}"',
      'push:',
      '  connect_timeout_s: 5',
      '  transfer_timeout_s: 60',
      '  retries: 0',
      `state_dir: ${JSON.stringify(ws.stateDir)}`,
      'difusores:',
      '  - id: el-sol',
      '    host: 127.0.0.1',
      `    port: ${server.port}`,
      `    host_key: "${server.hostKeyFingerprint}"`,
      '    username: iem',
      `    private_key: ${JSON.stringify(key.privateKeyPath)}`,
      '    remote_dir: /prep',
      '    delivery: site',
      '',
    ].join('\n'),
  );
}

test('SIGKILL mid-release: current stays on the complete previous release; the next run recovers', async () => {
  const root = join(ws.dir, 'server');
  const prep = join(root, 'prep');
  await mkdir(prep, { recursive: true });
  const healthy = await serve(root);
  const slow = await serve(root, 400_000);
  const args = ['--config', ws.registryFile];

  await writeFile(join(ws.sourceDir, 'json-main.json'), '{"cut":1}');
  await writeRegistry(healthy);
  const first = await runPrepPush([...args, 'cut', '--source', ws.sourceDir, '--cut', '2024-06-02T20:00:00-06:00']);
  expect(first.code).toBe(0);

  await writeFile(join(ws.sourceDir, 'json-main.json'), '{"cut":2}');
  await writeFile(join(ws.sourceDir, 'grande.bin'), randomBytes(4 * 1024 * 1024));
  await writeRegistry(slow);
  const killed = startPrepPush([...args, 'cut', '--source', ws.sourceDir, '--cut', '2024-06-02T20:20:00-06:00']);
  const releases = join(prep, 'releases');
  const deadline = Date.now() + 30_000;
  let staging: string | undefined;
  while (!staging && Date.now() < deadline) {
    staging = (await readdir(releases)).find((n) => n.startsWith('.staging-') && existsSync(join(releases, n, 'grande.bin')));
    if (!staging) await new Promise((r) => setTimeout(r, 50));
  }
  expect(staging).toBeDefined();
  killed.child.kill('SIGKILL');
  await killed.done;

  expect(await readlink(join(prep, 'current'))).toBe('releases/20240602_2000');
  expect(await readFile(join(prep, 'current', 'json-main.json'), 'utf8')).toBe('{"cut":1}');
  expect(await readdir(releases)).toContain(staging);

  await writeRegistry(healthy);
  const next = await runPrepPush([...args, 'push', '--json']);
  expect(next.code).toBe(0);
  expect(JSON.parse(next.stdout).results[0]).toMatchObject({ outcome: 'delivered', publish: { release: '20240602_2020' } });
  expect(await readFile(join(prep, 'current', 'json-main.json'), 'utf8')).toBe('{"cut":2}');
  expect((await readdir(releases)).sort()).toEqual(['20240602_2000', '20240602_2020']);
  expect((await readdir(prep)).sort()).toEqual(['current', 'releases']);
}, 120_000);
