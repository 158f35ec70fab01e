// End-to-end, playing a hostile difusor against the built binary: its public site answers with
// bodies holding a secret (an error page, a forged MANIFEST.json, an altered file, a 404 page) or
// redirects to another server holding one. The secret must appear nowhere: not in `cut --audit
// --json`, `audit --json` or their stderr, not in any file of the state dir (the ledger), not in the
// notifications (the command channel gets what the e-mails and webhooks say), not in any report;
// and the other server is never asked anything. Real OpenSSH receives the cut, real nginx serves.
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { mainJsonLocation, publishBuiltCut, SECRET, startSecretServer, type SecretServer } from '../helpers/audit-site.js';
import { runPrepPush, type CliRun } from '../helpers/cli.js';
import { nginxUnavailableReason, startNginx, type NginxFixture } from '../helpers/nginx.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const CUT_TIME = '2024-06-02T20:00:00-06:00';
const CUT_ID = '20240602_2000';

/** Each hostile site: how its release is altered after publishing, and what its nginx adds. */
const SITES: Record<string, { alter?: (root: string) => Promise<void>; serverExtra?: (secret: SecretServer) => string }> = {
  // MANIFEST.json is an error page with status 200.
  pagina: { serverExtra: () => `location = /MANIFEST.json { default_type text/html; return 200 "<html><body>Error ${SECRET}</body></html>"; }` },
  // A MANIFEST.json of "another institute" whose name is the secret.
  ajeno: { alter: (root) => editManifest(root, (m) => ({ ...m, institute: SECRET })) },
  // A MANIFEST.json whose cut id is the secret.
  'corte-falso': { alter: (root) => editManifest(root, (m) => ({ ...m, cut: { ...m.cut, id: SECRET } })) },
  // The right cut, with a forged time and an extra file named after the secret; an altered file, a
  // file grown past its size, and a missing one whose 404 page holds the secret.
  alterado: {
    alter: async (root) => {
      await editManifest(root, (m) => ({
        ...m,
        cut: { ...m.cut, time: SECRET },
        files: [...m.files, { path: `${SECRET}.json`, size: 1, sha256: '0'.repeat(64) }],
      }));
      await writeFile(join(root, 'json', 'distrito_01.json'), JSON.stringify({ votos: SECRET }));
      await writeFile(join(root, 'diputaciones', 'distrito_01.html'), `<p>${SECRET}</p>`.repeat(2000));
      await rm(join(root, 'csv', 'LEEME.txt'));
      await writeFile(join(root, '404.html'), `<h1>No existe. ${SECRET}</h1>`);
    },
    serverExtra: () => 'error_page 404 /404.html;',
  },
  // One file of the cut sent to another server (a metadata service, say) that holds a secret.
  desvio: { serverExtra: (secret) => `location = /json/distrito_02.json { return 302 ${secret.origin}/latest/meta-data/iam/security-credentials/admin?t=1; }` },
  // MANIFEST.json itself sent there.
  fuera: { serverExtra: (secret) => `location = /MANIFEST.json { return 302 ${secret.origin}/latest/meta-data/iam/security-credentials/admin; }` },
};
const IDS = Object.keys(SITES);

let sshd: SshdFixture;
let ws: Workspace;
let secret: SecretServer;
let notified: string;
const servers: NginxFixture[] = [];
const skip = nginxUnavailableReason();
const maybe = skip ? test.skip : test;

async function editManifest(root: string, edit: (m: Record<string, any>) => Record<string, unknown>): Promise<void> {
  const file = join(root, 'MANIFEST.json');
  await writeFile(file, JSON.stringify(edit(JSON.parse(await readFile(file, 'utf8')))));
}

beforeAll(async () => {
  if (skip) return;
  secret = await startSecretServer();
  sshd = await startSshd({ accounts: IDS.map((id) => ({ id })) });
  ws = await makeWorkspace('prep-push-audit-secrets-');
  await chmod(ws.dir, 0o755);
  const urls: Record<string, { url: string }> = {};
  for (const id of IDS) {
    const siteDir = join(ws.dir, 'sitios', id);
    await publishBuiltCut(siteDir, ws.sourceDir, CUT_TIME, join(ws.dir, 'scratch-store'));
    const root = join(siteDir, 'current');
    await SITES[id].alter?.(root);
    const nginx = await startNginx({ root, serverExtra: `${mainJsonLocation(root)}\n${SITES[id].serverExtra?.(secret) ?? ''}` });
    servers.push(nginx);
    urls[id] = { url: nginx.url };
  }
  notified = join(ws.dir, 'avisos.txt');
  const script = join(ws.dir, 'avisar.sh');
  await writeFile(script, `cat >> ${JSON.stringify(notified)}\n`);
  await ws.writeRegistry(
    registryYamlFor(sshd, IDS, { difusores: urls }) +
      ['audit:', '  sample: all', '  timeout_s: 20', 'notify:', `  command: [sh, ${JSON.stringify(script)}]`, '  timeout_s: 10', ''].join('\n'),
  );
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  await secret?.stop();
  await sshd?.stop();
  await ws?.remove();
});

const prepPush = (args: string[]) => runPrepPush(['--config', ws.registryFile, '--state-dir', ws.stateDir, ...args], { cwd: ws.dir, timeoutMs: 120_000 });

/** Every regular file under `dir`, as bytes (latin1, so any byte sequence of the secret matches). */
async function everyFile(dir: string): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.push({ path, text: (await readFile(path)).toString('latin1') });
  }
  return out;
}

function expectNoSecret(where: string, text: string): void {
  for (const needle of [SECRET, 'security-credentials', 'meta-data']) {
    expect([where, text.includes(needle)]).toEqual([where, false]);
  }
}

maybe('a hostile site gets no byte of its bodies, nor of a redirect target, into outputs, the ledger, notifications or reports', async () => {
  const runs: Array<[string, CliRun]> = [];
  const cut = await prepPush(['cut', '--source', ws.sourceDir, '--cut', CUT_TIME, '--audit', '--json']);
  runs.push(['cut --audit --json', cut]);
  const cutReport = JSON.parse(cut.stdout);
  expect(cutReport.results.map((r: { id: string; outcome: string }) => `${r.id}:${r.outcome}`)).toEqual(IDS.map((id) => `${id}:delivered`));

  const audit = await prepPush(['audit', '--json']);
  runs.push(['audit --json', audit]);
  runs.push(['audit (human)', await prepPush(['audit'])]);
  expect(audit.code).toBe(1);
  const byId = Object.fromEntries(JSON.parse(audit.stdout).results.map((r: { id: string }) => [r.id, r]));
  expect(Object.fromEntries(IDS.map((id) => [id, byId[id].outcome]))).toEqual({
    pagina: 'stale',
    ajeno: 'stale',
    'corte-falso': 'stale',
    alterado: 'tampered',
    desvio: 'unreachable',
    fuera: 'unreachable',
  });
  // What they say instead: the file, its size and the start of its SHA-256; the status and origin.
  // (Off a terminal the CLI spells "…" as "...".)
  const sized = /\(\d+ bytes, SHA-256 [0-9a-f]{16}\.\.\.\)/;
  expect(byId.pagina.problems[0]).toMatch(/MANIFEST\.json: answered 200 with an HTML page \(Content-Type "[a-z/]+", \d+ bytes, SHA-256 [0-9a-f]{16}\.\.\.\)/);
  expect(byId.ajeno.problems[0]).toMatch(sized);
  expect(byId.ajeno.served_cut).toBeNull();
  expect(byId['corte-falso'].served_cut).toBeNull();
  expect(byId.alterado.served_cut).toBe(CUT_ID);
  expect(byId.alterado.problems).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^MANIFEST\.json \(\d+ bytes, SHA-256 [0-9a-f]{16}\.\.\.\) of cut 20240602_2000 differs from the institute's copy: another cut time than /),
      expect.stringMatching(/differs from the institute's copy: it lists 1 file the cut does not have$/),
      expect.stringMatching(/^json\/distrito_01\.json: served \d+ bytes with SHA-256 [0-9a-f]{16}\.\.\., expected/),
      expect.stringMatching(/^diputaciones\/distrito_01\.html: served more than the \d+ bytes the cut has/),
      expect.stringMatching(/^csv\/LEEME\.txt: HTTP 404/),
    ]),
  );
  expect(byId.desvio.problems).toEqual([expect.stringContaining(`json/distrito_02.json: redirects (HTTP 302) to another origin, ${secret.origin} (the site is`)]);
  expect(byId.fuera.problems).toEqual([expect.stringContaining(`MANIFEST.json: redirects (HTTP 302) to another origin, ${secret.origin} (the site is`)]);
  expect(secret.requests).toEqual([]);

  for (const format of ['html', 'json', 'md', 'csv']) {
    const out = join(ws.dir, `memoria.${format}`);
    const report = await prepPush(['report', '--out', out, '--format', format]);
    expect([format, report.code]).toEqual([format, 0]);
    runs.push([`report ${format}`, report]);
    expectNoSecret(`report ${format}`, await readFile(out, 'utf8'));
  }
  runs.push(['status --json', await prepPush(['status', '--json'])]);

  for (const [what, run] of runs) {
    expectNoSecret(`${what} stdout`, run.stdout);
    expectNoSecret(`${what} stderr`, run.stderr);
  }
  const stateFiles = await everyFile(ws.stateDir);
  expect(stateFiles.length).toBeGreaterThan(0);
  for (const f of stateFiles) expectNoSecret(f.path, f.text);

  // One audit_failed per site went out (the change from no audit to failing), none with the secret.
  const sent = await readFile(notified, 'utf8');
  const events = sent.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event: string; difusor: { id: string }; message: string });
  expect(events.filter((e) => e.event === 'audit_failed').map((e) => e.difusor.id).sort()).toEqual([...IDS].sort());
  expect(events.find((e) => e.difusor.id === 'alterado')?.message).toMatch(/Detalle técnico: .*SHA-256 [0-9a-f]{16}(…|\.\.\.)/);
  expectNoSecret('notifications', sent);
});
