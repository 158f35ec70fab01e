// SIGTERM / SIGINT during a cut (concurrency 1, a slow difusor in flight, two more queued): no new
// upload starts after the signal, the in-flight one ends within its deadline and is journaled, the
// lock is released, and the run exits 1. (Two overlapping cron runs are covered in cli.test.ts.)
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSftpServer, type SftpFaults, type SftpServerHandle } from '../../src/sftp-server/index.js';
import { runPrepPush, startPrepPush } from '../helpers/cli.js';
import { makeKeyPair, type KeyPair } from '../helpers/keys.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let ws: Workspace;
let key: KeyPair;
const servers: SftpServerHandle[] = [];

beforeAll(async () => {
  ws = await makeWorkspace('prep-push-signals-');
  key = await makeKeyPair(ws.dir, 'client');
  await writeFile(join(ws.sourceDir, 'bulk.bin'), randomBytes(2 * 1024 * 1024));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await ws?.remove();
});

async function serve(id: string, faults: SftpFaults = {}): Promise<SftpServerHandle> {
  const root = join(ws.dir, 'servers', id);
  await mkdir(join(root, 'prep'), { recursive: true }); // remote_dir exists: prep-push never creates it
  const server = await startSftpServer({ root, username: 'iem', authorizedKeys: [key.publicKey], faults });
  servers.push(server);
  return server;
}

function registry(stateDir: string, transferTimeoutS: number, targets: Array<[string, SftpServerHandle]>): string {
  return [
    'institute: IEM',
    'package:',
    '  name: "PREP2024_MICH_{cut}"',
    '  format: tar.gz',
    'push:',
    '  concurrency: 1',
    '  connect_timeout_s: 2',
    `  transfer_timeout_s: ${transferTimeoutS}`,
    '  retries: 0',
    'defaults:',
    '  username: iem',
    `  private_key: ${JSON.stringify(key.privateKeyPath)}`,
    '  remote_dir: /prep',
    `state_dir: ${JSON.stringify(stateDir)}`,
    'difusores:',
    ...targets.flatMap(([id, s]) => [`  - id: ${id}`, `    name: ${id}`, '    host: 127.0.0.1', `    port: ${s.port}`, `    host_key: "${s.hostKeyFingerprint}"`]),
    '',
  ].join('\n');
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each([
  // 2 MiB at 1 MiB/s within a 10 s deadline: the in-flight upload finishes and is delivered.
  ['SIGTERM', 10, 'delivered', null],
  // 2 MiB at 256 KiB/s within a 3 s deadline: the in-flight upload is cut at its deadline.
  ['SIGINT', 3, 'failed', 'TRANSFER_TIMEOUT'],
] as const)('%s during a cut', (signal, transferTimeoutS, outcome, code) => {
  test(`stops new uploads, the in-flight one is ${outcome}, journaled, lock released, exit 1`, async () => {
    const slow = await serve(`slow-${signal}`, { bytesPerSecond: outcome === 'delivered' ? 1024 * 1024 : 256 * 1024 });
    const queued1 = await serve(`queued1-${signal}`);
    const queued2 = await serve(`queued2-${signal}`);
    const stateDir = join(ws.dir, `state-${signal}`);
    const config = join(ws.dir, `difusores-${signal}.yaml`);
    await writeFile(config, registry(stateDir, transferTimeoutS, [['slow', slow], ['queued-1', queued1], ['queued-2', queued2]]));

    const run = startPrepPush(['--config', config, 'cut', '--source', ws.sourceDir, '--cut', '2024-06-02T20:20:00-06:00'], { cwd: ws.dir });
    await until(() => slow.bytesWritten > 0, 15_000, 'the slow upload to start');
    const signalledAt = performance.now();
    run.child.kill(signal);
    const result = await run.done;
    const afterSignalS = (performance.now() - signalledAt) / 1000;

    expect(result.stderr).toContain(`prep-push: ${signal}: finishing uploads in flight`);
    expect([result.code, result.signal]).toEqual([1, null]);
    // The in-flight delivery ended within its own deadline (plus teardown), not later.
    expect(afterSignalS).toBeLessThan(transferTimeoutS + 2);
    // No new upload started: the queued servers never saw a connection.
    expect([queued1.connections, queued2.connections]).toEqual([0, 0]);

    const journal = (await readFile(join(stateDir, 'journal.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const slowOutcome = journal.find((e) => e.type === 'outcome' && e.id === 'slow');
    expect(slowOutcome).toMatchObject({ cut: '20240602_2020', outcome, code });
    expect(journal.filter((e) => e.type === 'outcome' && e.id !== 'slow')).toEqual([]);
    if (outcome === 'delivered') {
      expect(await readFile(join(ws.dir, 'servers', `slow-${signal}`, 'prep', 'LATEST'), 'utf8')).toBe('PREP2024_MICH_20240602_2020.tar.gz\n');
    }

    // The lock is gone, and the next run is not refused.
    expect(existsSync(join(stateDir, 'lock'))).toBe(false);
    const next = await runPrepPush(['--config', config, 'push', '--only', 'queued-1,queued-2'], { cwd: ws.dir });
    expect(next.code).toBe(0);
    expect([queued1.connections > 0, queued2.connections > 0]).toEqual([true, true]);
  }, 40_000);
});

