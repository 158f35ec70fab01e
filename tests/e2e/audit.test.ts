// End-to-end: `audit --json` and `cut --audit` under audit.counts_as_miss, on the built binary,
// with real OpenSSH receiving the packages and real nginx serving the difusores' public sites.
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';

import { publishBuiltCut, serveSite } from '../helpers/audit-site.js';
import { runPrepPush } from '../helpers/cli.js';
import { nginxUnavailableReason, type NginxFixture } from '../helpers/nginx.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CUT_TIMES = ['2024-06-02T20:00:00-06:00', '2024-06-02T20:20:00-06:00', '2024-06-02T20:40:00-06:00', '2024-06-02T21:00:00-06:00'];
const CUT_IDS = ['20240602_2000', '20240602_2020', '20240602_2040', '20240602_2100'];

let sshd: SshdFixture;
let ws: Workspace;
// "fiel" serves every cut as it is delivered; "congelado" keeps serving the first one.
let fiel: NginxFixture;
let congelado: NginxFixture;
const skip = nginxUnavailableReason();
const maybe = skip ? test.skip : test;

beforeAll(async () => {
  if (skip) return;
  sshd = await startSshd({ accounts: [{ id: 'fiel' }, { id: 'congelado' }, { id: 'sin-url' }] });
  ws = await makeWorkspace('prep-push-audit-e2e-');
  await chmod(ws.dir, 0o755);
  // Both sites start with the first cut, laid out as site mode would leave it.
  await publishCut(0, 'fiel');
  await publishCut(0, 'congelado');
  const serve = (name: string) => serveSite(join(ws.dir, 'sitios', name));
  fiel = await serve('fiel');
  congelado = await serve('congelado');
  await ws.writeRegistry(
    registryYamlFor(sshd, ['fiel', 'congelado', 'sin-url'], {
      difusores: { fiel: { url: fiel.url.replace(/\/$/, '') }, congelado: { url: congelado.url } },
    }) + ['audit:', '  counts_as_miss: true', '  sample: all', '  timeout_s: 20', ''].join('\n'),
  );
});
afterAll(async () => {
  await fiel?.stop();
  await congelado?.stop();
  await sshd?.stop();
  await ws?.remove();
});

async function publishCut(n: number, name: string): Promise<void> {
  await publishBuiltCut(join(ws.dir, 'sitios', name), ws.sourceDir, CUT_TIMES[n], join(ws.dir, 'scratch-store'));
}

const prepPush = (args: string[]) => runPrepPush(['--config', ws.registryFile, '--state-dir', ws.stateDir, ...args], { cwd: ws.dir, timeoutMs: 120_000 });

maybe('cut --audit with counts_as_miss: a site frozen on an old cut misses every cut and is blocked at the third; audit --json has the contract shape', async () => {
  for (let n = 0; n < 3; n += 1) {
    if (n > 0) await publishCut(n, 'fiel');
    const run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', CUT_TIMES[n], '--audit', '--json']);
    const report = JSON.parse(run.stdout);
    const byId = Object.fromEntries(report.results.map((r: { id: string }) => [r.id, r]));
    // Delivered over SFTP either way; the audit decides whether the cut counts.
    expect(report.results.map((r: { outcome: string }) => r.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(byId.fiel.audit).toMatchObject({ outcome: 'ok', problems: [], counts_as_miss: false });
    expect(byId['sin-url'].audit).toBeUndefined();
    if (n === 0) {
      expect(byId.congelado.audit).toMatchObject({ outcome: 'ok' });
      expect(run.code).toBe(0);
    } else {
      expect(byId.congelado.audit).toMatchObject({ outcome: 'stale', served_cut: CUT_IDS[0], expected_cut: CUT_IDS[n], counts_as_miss: true });
      expect(byId.congelado.audit.problems[0]).toContain(`serves cut ${CUT_IDS[0]} (an older cut); expected ${CUT_IDS[n]}`);
      expect(run.code).toBe(1);
    }
    expect(report.exit_code).toBe(run.code);
    expect(run.stderr).toMatch(/audit ok\s+fiel/);
  }
  // Cuts 2 and 3 were missed (the site kept serving cut 1): two misses, not yet blocked (block_after_misses: 3).
  let status = JSON.parse((await prepPush(['status', '--json'])).stdout);
  let congeladoStatus = status.difusores.find((d: { id: string }) => d.id === 'congelado');
  expect(congeladoStatus).toMatchObject({ state: 'active', consecutive_misses: 2, last_delivered_cut: CUT_IDS[2] });
  expect(congeladoStatus.last_audit).toMatchObject({ outcome: 'stale', served_cut: CUT_IDS[0], expected_cut: CUT_IDS[2] });
  expect(typeof congeladoStatus.last_audit.time).toBe('string');
  expect(status.difusores.find((d: { id: string }) => d.id === 'sin-url').last_audit).toBeNull();

  // A plain audit never counts as a miss, whatever it finds.
  const audit = await prepPush(['audit', '--json']);
  expect(audit.code).toBe(1);
  const doc = JSON.parse(audit.stdout);
  expect(Object.keys(doc)).toEqual(['results', 'exit_code']);
  expect(doc.exit_code).toBe(1);
  expect(doc.results.map((r: { id: string }) => r.id)).toEqual(['fiel', 'congelado']);
  for (const r of doc.results) {
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['id', 'outcome', 'served_cut', 'expected_cut', 'problems']));
  }
  expect(doc.results[0]).toMatchObject({ id: 'fiel', outcome: 'ok', served_cut: CUT_IDS[2], expected_cut: CUT_IDS[2], problems: [] });
  expect(doc.results[1]).toMatchObject({ id: 'congelado', outcome: 'stale', served_cut: CUT_IDS[0], expected_cut: CUT_IDS[2] });
  status = JSON.parse((await prepPush(['status', '--json'])).stdout);
  congeladoStatus = status.difusores.find((d: { id: string }) => d.id === 'congelado');
  expect(congeladoStatus.consecutive_misses).toBe(2);

  // The fourth cut, still frozen: the third miss blocks it, and the run exits 1 naming it.
  await publishCut(3, 'fiel');
  const fourth = await prepPush(['cut', '--source', ws.sourceDir, '--cut', CUT_TIMES[3], '--audit', '--json']);
  const report = JSON.parse(fourth.stdout);
  expect(report.results.find((r: { id: string }) => r.id === 'fiel').audit).toMatchObject({ outcome: 'ok', counts_as_miss: false });
  expect(report.newly_blocked).toEqual(['congelado']);
  expect(fourth.code).toBe(1);
  status = JSON.parse((await prepPush(['status', '--json'])).stdout);
  expect(status.difusores.find((d: { id: string }) => d.id === 'congelado')).toMatchObject({ state: 'blocked', consecutive_misses: 3 });

  // Human status shows each difusor's last audit.
  const human1 = await prepPush(['status']);
  expect(human1.stdout).toMatch(/^congelado\s+blocked\s+3\s+20240602_2100\s+-\s+stale: serves 20240602_2000 \(expected 20240602_2100\)$/m);
  expect(human1.stdout).toMatch(/^congelado: blocked since [^ ]+ \(auto: missed 3 consecutive cuts\)$/m);
  expect(human1.stdout).toMatch(/^fiel\s+active\s+0\s+20240602_2100\s+-\s+ok 20240602_2100$/m);

  // Human output: one id, a table, exit 1; usage errors exit 2.
  const human = await prepPush(['audit', 'congelado']);
  expect(human.code).toBe(1);
  expect(human.stdout).toMatch(/^congelado\s+stale\s+20240602_2000\s+20240602_2100/m);
  expect((await prepPush(['audit', 'sin-url'])).code).toBe(2);
  expect((await prepPush(['audit', '--sample', 'many'])).code).toBe(2);
});
