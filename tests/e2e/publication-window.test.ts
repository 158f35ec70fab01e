// The calls' publication window through the built binary: before `publication.from`, `cut` and `push`
// refuse (exit 2, nothing pushed) unless `--drill`; a drill cut is journaled as a drill and its
// MANIFEST.json (as the difusor serves it) says "drill": true; after `publication.until` a cut warns
// and proceeds.
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startSftpServer, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { runPrepPush } from '../helpers/cli.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let ws: Workspace;
let key: KeyPair;
let server: SftpServerHandle;
let root: string;

beforeAll(async () => {
  ws = await makeWorkspace('prep-push-window-e2e-');
  key = await makeKeyPair(ws.dir, 'client');
  root = path.join(ws.dir, 'server');
  await mkdir(path.join(root, 'prep'), { recursive: true });
  server = await startSftpServer({ root, username: 'iem', authorizedKeys: [key.publicKey] });
}, 30_000);
afterAll(async () => {
  await server?.close();
  await ws?.remove();
});

/** A registry in its own folder with this publication window; one site-mode difusor, its own remote_dir. */
async function registryWith(name: string, publication: string): Promise<string> {
  const dir = path.join(ws.dir, name);
  await mkdir(dir, { recursive: true });
  await mkdir(path.join(root, 'prep', name), { recursive: true });
  const config = path.join(dir, 'difusores.yaml');
  await writeFile(
    config,
    [
      'institute: IEM',
      'package: {name: "PREP_{cut}"}',
      'push: {retries: 0, connect_timeout_s: 5, transfer_timeout_s: 30}',
      'state_dir: ./state',
      publication,
      'difusores:',
      `  - {id: sitio, host: 127.0.0.1, port: ${server.port}, username: iem, private_key: ${JSON.stringify(key.privateKeyPath)}, ` +
        `host_key: "${server.hostKeyFingerprint}", remote_dir: /prep/${name}, delivery: site}`,
      '',
    ].join('\n'),
  );
  return config;
}

const journalOf = async (config: string) => {
  const file = path.join(path.dirname(config), 'state', 'journal.jsonl');
  return existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; drill?: boolean }) : [];
};

test('before publication.from: cut and push refuse, exit 2, nothing pushed; --drill goes out, recorded and marked as a drill', async () => {
  const config = await registryWith('antes', 'publication: {from: "2099-06-02T20:00:00-06:00", until: "2099-06-03T20:00:00-06:00"}');
  const cut = await runPrepPush(['--config', config, 'cut', '--source', ws.sourceDir]);
  expect(cut.code).toBe(2);
  expect(cut.stderr).toMatch(/^prep-push: cut: the publication window opens at 2099-06-02T20:00:00-06:00 \(publication\.from\), \d+ days from now .*nothing was built or pushed$/m);
  expect(cut.stderr).toMatch(/^hint: for a drill \(simulacro\) add --drill/m);
  expect(cut.stdout).toBe('');
  const push = await runPrepPush(['--config', config, 'push']);
  expect(push.code).toBe(2);
  expect(push.stderr).toMatch(/^prep-push: push: the publication window opens at 2099-06-02T20:00:00-06:00/m);
  expect(await readdir(path.join(root, 'prep', 'antes'))).toEqual([]);
  expect(await journalOf(config)).toEqual([]);

  const drill = await runPrepPush(['--config', config, 'cut', '--source', ws.sourceDir, '--drill', '--json']);
  expect(drill.stderr).not.toMatch(/warning/);
  expect(drill.code).toBe(0);
  const report = JSON.parse(drill.stdout);
  expect(report).toMatchObject({ drill: true, exit_code: 0, results: [{ id: 'sitio', outcome: 'delivered' }] });
  const cuts = (await journalOf(config)).filter((e) => e.type === 'cut');
  expect(cuts).toEqual([expect.objectContaining({ cut: report.cut.id, drill: true })]);
  const served = JSON.parse(await readFile(path.join(root, 'prep', 'antes', 'current', 'MANIFEST.json'), 'utf8'));
  expect(served).toMatchObject({ cut: { id: report.cut.id }, drill: true });
  expect(Object.keys(served)).toEqual(['cut', 'institute', 'drill', 'files']);

  // A manual re-push of that drill before the window: with --drill only.
  expect((await runPrepPush(['--config', config, 'push'])).code).toBe(2);
  const repush = await runPrepPush(['--config', config, 'push', '--drill', '--json']);
  expect(repush.code).toBe(0);
  expect(JSON.parse(repush.stdout)).toMatchObject({ command: 'push', drill: true });
}, 120_000);

test('inside the window: an election cut, no drill mark; after publication.until: a warning, and the cut goes out', async () => {
  const open = await registryWith('abierta', 'publication: {from: "2023-06-02T20:00:00-06:00"}');
  const cut = await runPrepPush(['--config', open, 'cut', '--source', ws.sourceDir, '--json']);
  expect(cut.code).toBe(0);
  expect(cut.stderr).not.toMatch(/warning/);
  expect(JSON.parse(cut.stdout)).toMatchObject({ drill: false });
  expect((await journalOf(open)).filter((e) => e.type === 'cut')).toEqual([expect.not.objectContaining({ drill: true })]);
  expect(JSON.parse(await readFile(path.join(root, 'prep', 'abierta', 'current', 'MANIFEST.json'), 'utf8'))).not.toHaveProperty('drill');

  const closed = await registryWith('cerrada', 'publication: {from: "2023-06-02T20:00:00-06:00", until: "2023-06-03T20:00:00-06:00"}');
  const late = await runPrepPush(['--config', closed, 'cut', '--source', ws.sourceDir]);
  expect(late.code).toBe(0);
  expect(late.stderr).toMatch(/^warning: the publication window closed at 2023-06-03T20:00:00-06:00 \(publication\.until\); this cut is delivered anyway/m);
  expect(late.stdout).toMatch(/delivered 1\/1/);
}, 120_000);
