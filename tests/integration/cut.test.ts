// The cut pipeline on real OpenSSH: five cuts with difusores going down and coming back, blocking
// at the third consecutive miss, manual unblock and re-push, and `push --failed`.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { status } from '../../src/commands/status.js';
import { unblock } from '../../src/commands/block.js';
import { runCut, runPush } from '../../src/cut/run.js';
import type { RunReport } from '../../src/cut/report.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { closedPort } from '../helpers/net.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CUT_TIMES = [
  '2024-06-02T20:00:00-06:00',
  '2024-06-02T20:20:00-06:00',
  '2024-06-02T20:40:00-06:00',
  '2024-06-02T21:00:00-06:00',
  '2024-06-02T21:20:00-06:00',
];
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };

let sshd: SshdFixture;
let ws: Workspace;
let deadPort: number;

beforeAll(async () => {
  sshd = await startSshd({ accounts: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
  ws = await makeWorkspace();
  deadPort = await closedPort();
});
afterAll(async () => {
  await sshd?.stop();
  await ws?.remove();
});

/** The registry as it is for a cut: the difusores listed in `down` point at a closed port. */
async function registryWith(down: string[]) {
  const difusores = Object.fromEntries(down.map((id) => [id, { port: deadPort }]));
  await ws.writeRegistry(registryYamlFor(sshd, ['a', 'b', 'c'], { difusores, push: { retries: 0 } }));
  return loadRegistry(ws.registryFile, { env: {} });
}

function outcomes(report: RunReport): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.error ? `${r.outcome} ${r.error.code}` : r.outcome]));
}

async function missesOf(id: string): Promise<number> {
  const registry = await registryWith([]);
  return (await status(registry, ws.stateDir)).difusores.find((d) => d.id === id)!.consecutive_misses;
}

test('A down for cuts 1-3 is blocked at cut 3 and skipped at 4; B down for 1-2 is never blocked; unblock + push brings A back', async () => {
  const runCutAt = async (n: number, down: string[]) => {
    const registry = await registryWith(down);
    const cut = parseCutTime(CUT_TIMES[n], registry.timezone, Date.now);
    return runCut({ registry, stateDir: ws.stateDir, sourceDir: ws.sourceDir, cut }, deps);
  };

  const cut1 = await runCutAt(0, ['a', 'b']);
  expect(outcomes(cut1)).toEqual({ a: 'failed CONNECT_REFUSED', b: 'failed CONNECT_REFUSED', c: 'delivered' });
  expect(cut1.exit_code).toBe(1);

  // push --failed after a cut with failures targets exactly the failed ones (still down: a miss is not counted twice).
  const retry = await runPush({ registry: await registryWith(['a', 'b']), stateDir: ws.stateDir, failed: true }, deps);
  expect(Object.keys(outcomes(retry)).sort()).toEqual(['a', 'b']);
  expect(await missesOf('a')).toBe(1);

  const cut2 = await runCutAt(1, ['a', 'b']);
  expect(cut2.exit_code).toBe(1);
  expect(cut2.newly_blocked).toEqual([]);

  const cut3 = await runCutAt(2, ['a']);
  expect(outcomes(cut3)).toEqual({ a: 'failed CONNECT_REFUSED', b: 'delivered', c: 'delivered' });
  expect(cut3.newly_blocked).toEqual(['a']);
  expect(cut3.exit_code).toBe(1);
  expect(await missesOf('b')).toBe(0);

  const cut4 = await runCutAt(3, []);
  expect(outcomes(cut4)).toEqual({ a: 'skipped', b: 'delivered', c: 'delivered' });
  expect(cut4.results.find((r) => r.id === 'a')!.skip_reason).toBe('blocked');
  expect(cut4.exit_code).toBe(0);

  const cut5 = await runCutAt(4, []);
  expect(cut5.exit_code).toBe(0);
  const registry = await registryWith([]);
  const before = (await status(registry, ws.stateDir)).difusores;
  expect(before.map((d) => [d.id, d.state, d.consecutive_misses])).toEqual([
    ['a', 'blocked', 3],
    ['b', 'active', 0],
    ['c', 'active', 0],
  ]);
  expect(before[0].blocked_reason).toBe('auto: missed 3 consecutive cuts');

  await unblock(registry, ws.stateDir, 'a', systemClock);
  const repush = await runPush({ registry, stateDir: ws.stateDir, only: ['a'] }, deps);
  expect(outcomes(repush)).toEqual({ a: 'delivered' });
  expect(repush.cut.id).toBe('20240602_2120');
  expect(repush.exit_code).toBe(0);

  const after = (await status(registry, ws.stateDir)).difusores.find((d) => d.id === 'a')!;
  expect(after).toMatchObject({ state: 'active', consecutive_misses: 0, last_delivered_cut: '20240602_2120' });
  // What A's server holds now: the latest package, its .sha256, and LATEST naming it.
  const latest = await readFile(path.join(sshd.accounts.a.dir, 'LATEST'), 'utf8');
  expect(latest).toBe('PREP2024_MICH_20240602_2120.tar.gz\n');

  // Re-pushing an older cut by hand (for the difusor's archive) delivers it but leaves LATEST alone.
  const older = await runPush({ registry, stateDir: ws.stateDir, cutId: '20240602_2000', only: ['a'] }, deps);
  expect(outcomes(older)).toEqual({ a: 'delivered' });
  expect(await readFile(path.join(sshd.accounts.a.dir, 'PREP2024_MICH_20240602_2000.tar.gz.sha256'), 'utf8')).toMatch(/^[0-9a-f]{64}  /);
  expect(await readFile(path.join(sshd.accounts.a.dir, 'LATEST'), 'utf8')).toBe('PREP2024_MICH_20240602_2120.tar.gz\n');
  expect(await missesOf('a')).toBe(0);
});

test('a run killed between a third miss and its block: the next cut blocks it before planning, so it is not targeted', async () => {
  const killed = await makeWorkspace();
  try {
    await killed.writeRegistry(registryYamlFor(sshd, ['a', 'b'], { push: { retries: 0 } }));
    const registry = await loadRegistry(killed.registryFile, { env: {} });
    await mkdir(killed.stateDir, { recursive: true });
    const miss = (cut: string) =>
      JSON.stringify({ type: 'outcome', at: '2024-06-03T02:00:00.000Z', cut, id: 'a', outcome: 'failed', code: 'CONNECT_REFUSED', message: 'down', via: 'cut', seconds: 0, attempts: 1 });
    await writeFile(path.join(killed.stateDir, 'journal.jsonl'), `${['20240602_2000', '20240602_2020', '20240602_2040'].map(miss).join('\n')}\n`);

    const cut = parseCutTime('2024-06-02T21:00:00-06:00', registry.timezone, Date.now);
    const report = await runCut({ registry, stateDir: killed.stateDir, sourceDir: killed.sourceDir, cut }, deps);
    expect(outcomes(report)).toEqual({ a: 'skipped', b: 'delivered' });
    expect(report.newly_blocked).toEqual(['a']);
    expect(report.exit_code).toBe(1);
    expect((await status(registry, killed.stateDir)).difusores[0]).toMatchObject({ state: 'blocked', blocked_reason: 'auto: missed 3 consecutive cuts' });
  } finally {
    await killed.remove();
  }
});
