// End-to-end: `audit_failed` and `probe_failed` go out through the outbox on a real channel (a
// command appending each event to a file), exactly once per change of outcome, and the incident
// report lists them. Real OpenSSH receives the cuts and is probed; real nginx serves the sites.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { publishBuiltCut, serveSite } from '../helpers/audit-site.js';
import { runPrepPush } from '../helpers/cli.js';
import { nginxUnavailableReason, type NginxFixture } from '../helpers/nginx.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CUT_TIMES = ['2024-06-02T20:00:00-06:00', '2024-06-02T20:20:00-06:00', '2024-06-02T20:40:00-06:00'];
const CUT_IDS = ['20240602_2000', '20240602_2020', '20240602_2040'];

let sshd: SshdFixture;
let ws: Workspace;
// "fiel" serves every cut as it is delivered; "congelado" keeps serving the first one.
let fiel: NginxFixture;
let congelado: NginxFixture;
let eventsFile: string;
const skip = nginxUnavailableReason();
const maybe = skip ? test.skip : test;

beforeAll(async () => {
  if (skip) return;
  sshd = await startSshd({ accounts: [{ id: 'fiel' }, { id: 'congelado' }] });
  ws = await makeWorkspace('prep-push-events-e2e-');
  await chmod(ws.dir, 0o755);
  await publishCut(0, 'fiel');
  await publishCut(0, 'congelado');
  const serve = (name: string) => serveSite(join(ws.dir, 'sitios', name));
  fiel = await serve('fiel');
  congelado = await serve('congelado');
  eventsFile = join(ws.dir, 'eventos.jsonl');
  const script = join(ws.dir, 'avisar.sh');
  await writeFile(script, `cat >> ${JSON.stringify(eventsFile)}\n`);
  await ws.writeRegistry(
    registryYamlFor(sshd, ['fiel', 'congelado'], { difusores: { fiel: { url: fiel.url }, congelado: { url: congelado.url } } }) +
      [
        'institute_name: Instituto Electoral de Michoacán',
        'audit:',
        '  sample: all',
        '  timeout_s: 20',
        // No server has a petabyte free: every probe fails on free space, nothing else.
        'requirements: {min_free_gb: 1000000, min_upload_mb_s: 0, probe_mb: 1}',
        'notify:',
        `  command: [sh, ${JSON.stringify(script)}]`,
        '  timeout_s: 10',
        '',
      ].join('\n'),
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

interface Sent {
  event: string;
  institute: string;
  difusor: { id: string };
  cut: string | null;
  message: string;
  code?: string;
}
async function sent(): Promise<Sent[]> {
  const text = await readFile(eventsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Sent);
}

maybe('an audit failure and a probe failure each notify once on the command channel, not again on a repeated run with the same outcome', async () => {
  // Cut 1: both sites serve it. Nothing to tell.
  let run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', CUT_TIMES[0], '--audit', '--json']);
  expect(run.code).toBe(0);
  expect(await sent()).toEqual([]);

  // Cut 2: "congelado" still serves cut 1 → stale: one audit_failed for the cut it should show.
  await publishCut(1, 'fiel');
  run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', CUT_TIMES[1], '--audit', '--json']);
  expect(JSON.parse(run.stdout).results.find((r: { id: string }) => r.id === 'congelado').audit).toMatchObject({ outcome: 'stale' });
  let all = await sent();
  expect(all.map((n) => `${n.event}:${n.difusor.id}:${n.cut}`)).toEqual([`audit_failed:congelado:${CUT_IDS[1]}`]);
  expect(all[0]).toMatchObject({ institute: 'Instituto Electoral de Michoacán', code: 'stale' });
  expect(all[0].message).toContain('su sitio público no muestra el último corte que se le entregó (stale)');
  expect(all[0].message).toContain(`El sitio muestra el corte ${CUT_IDS[0]}, y debía mostrar el corte ${CUT_IDS[1]}.`);

  // Cut 3 and a plain audit: still stale, the same outcome: nothing new, although the cut changed.
  await publishCut(2, 'fiel');
  run = await prepPush(['cut', '--source', ws.sourceDir, '--cut', CUT_TIMES[2], '--audit', '--json']);
  expect(run.code).toBe(0); // without audit.counts_as_miss a stale site is told, not a miss
  expect(JSON.parse(run.stdout).results.find((r: { id: string }) => r.id === 'congelado').audit).toMatchObject({ outcome: 'stale' });
  const audit = await prepPush(['audit', '--json']);
  expect(audit.code).toBe(1);
  expect(JSON.parse(audit.stdout).results.map((r: { outcome: string }) => r.outcome)).toEqual(['ok', 'stale']);
  expect(await sent()).toHaveLength(1);

  // A probe below the requirements: one probe_failed; the probe's own result and exit code unchanged.
  const probe = await prepPush(['probe', 'congelado', '--json']);
  expect(probe.code).toBe(1);
  expect(JSON.parse(probe.stdout).results[0]).toMatchObject({ id: 'congelado', ok: false });
  all = await sent();
  expect(all.map((n) => `${n.event}:${n.difusor.id}:${n.cut}`)).toEqual([`audit_failed:congelado:${CUT_IDS[1]}`, `probe_failed:congelado:${CUT_IDS[2]}`]);
  expect(all[1].message).toMatch(/^La prueba que hizo el IEM del servidor SFTP del difusor Difusor congelado encontró problemas\. Detalle técnico: free space .* below the required 1000000 GB/);

  // The same probe again: the same result, no second notification; a probe is never a miss.
  expect((await prepPush(['probe', 'congelado', '--json'])).code).toBe(1);
  expect(await sent()).toHaveLength(2);
  const status = JSON.parse((await prepPush(['status', '--json'])).stdout);
  expect(status.difusores.find((d: { id: string }) => d.id === 'congelado')).toMatchObject({ state: 'active', consecutive_misses: 0 });

  // The site catches up: a recovery (a report line, no notification), then a new failure is told again.
  await publishCut(2, 'congelado');
  expect((await prepPush(['audit', 'congelado', '--json'])).code).toBe(0);
  expect(await sent()).toHaveLength(2);

  // The report lists the audit failure, its recovery and each notification sent, in Spanish.
  const out = join(ws.dir, 'memoria.json');
  expect((await prepPush(['report', '--out', out, '--format', 'json'])).code).toBe(0);
  const report = JSON.parse(await readFile(out, 'utf8'));
  const congelado = report.difusores.find((d: { id: string }) => d.id === 'congelado');
  const lines = congelado.incidents.filter((i: { kind: string }) => i.kind === 'event').map((i: { summary: string }) => i.summary);
  expect(lines).toEqual([
    expect.stringContaining('Revisión del sitio público: su sitio público no muestra el último corte que se le entregó (stale)'),
    'Revisión del sitio público: volvió a servir el último corte sin alteraciones (antes: muestra un corte anterior)',
  ]);
  // The notifications sent are in the report's appendix, apart from the incidents.
  const appendix = report.notifications.filter((i: { difusor?: string }) => i.difusor === 'congelado');
  expect(appendix.map((i: { summary: string }) => i.summary)).toEqual([
    'Notificación enviada por comando: problemas en su sitio público',
    'Notificación enviada por comando: servidor sin los requisitos de la convocatoria',
  ]);
});
