// `audit` against real nginx (Debian nginx-light) serving real release trees built from stored
// packages: every outcome, TLS with a test CA, redirects, error pages, huge bodies, a slow-loris server.
import { appendFile, chmod, cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readStoredManifest } from '../../src/audit/stored-manifest.js';
import { audit } from '../../src/commands/audit.js';
import { status } from '../../src/commands/status.js';
import { systemClock } from '../../src/core/clock.js';
import { cutAt } from '../../src/core/cut.js';
import { openJournal, readJournal } from '../../src/ledger/journal.js';
import { buildPackage } from '../../src/package/build-package.js';
import type { BuiltPackage } from '../../src/package/types.js';
import type { AuditSettings, Difusor } from '../../src/registry/types.js';
import { makeTestPki, mainJsonLocation, publishRelease, startSecretServer, type TestPki } from '../helpers/audit-site.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';
import { closedPort } from '../helpers/net.js';
import { nginxUnavailableReason, startNginx, type NginxFixture } from '../helpers/nginx.js';
import { mulberry32 } from '../helpers/prng.js';
import { FIXTURE_SITE } from '../helpers/workspace.js';



const TZ = 'America/Mexico_City';
const OLD_CUT = '20240602_2000';
const NEW_CUT = '20240602_2020';

let work: string;
let stateDir: string;
let oldSource: string;
let newSource: string;
let oldPkg: BuiltPackage;
let newPkg: BuiltPackage;
let pki: TestPki;
let strangerPki: TestPki;
const servers: Array<{ stop(): Promise<void> }> = [];

const skip = nginxUnavailableReason();
const maybe = skip ? test.skip : test;

beforeAll(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), 'prep-audit-'));
  // nginx's workers run as an unprivileged user when the tests run as root.
  await chmod(work, 0o755);
  stateDir = join(work, 'state');
  oldSource = join(work, 'old');
  newSource = join(work, 'new');
  await cp(FIXTURE_SITE, oldSource, { recursive: true });
  await cp(FIXTURE_SITE, newSource, { recursive: true });
  // The newer cut changes main.json and one district; the rest is as in the cut before.
  await writeFile(join(newSource, 'json', 'main.json'), '{"fecha_corte":"02/06/2024 20:20","actas":1234}\n');
  await appendFile(join(newSource, 'json', 'distrito_02.json'), '\n');
  const build = (sourceDir: string, iso: string) =>
    buildPackage({ sourceDir, cut: cutAt(Date.parse(iso), TZ), institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'tar.gz', storeDir: join(stateDir, 'packages') });
  oldPkg = await build(oldSource, '2024-06-02T20:00:00-06:00');
  newPkg = await build(newSource, '2024-06-02T20:20:00-06:00');
  pki = makeTestPki(work, 'iem');
  strangerPki = makeTestPki(work, 'stranger');
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A difusor's remote dir serving `pkg`'s release (optionally altered) through nginx. */
async function site(
  name: string,
  pkg: BuiltPackage,
  options: { cacheControl?: string | null; alter?: (root: string) => Promise<void>; tls?: TestPki; serverExtra?: string; urlPath?: string } = {},
): Promise<{ nginx: NginxFixture; root: string }> {
  const remoteDir = join(work, 'difusores', name);
  const root = await publishRelease(remoteDir, pkg.cutId === NEW_CUT ? newSource : oldSource, await readStoredManifest(pkg));
  if (options.alter) await options.alter(root);
  const urlPath = options.urlPath ?? '/';
  const nginx = await startNginx({
    root,
    urlPath,
    tls: options.tls ? { certFile: options.tls.certFile, keyFile: options.tls.keyFile } : undefined,
    serverExtra: `${mainJsonLocation(root, urlPath, options.cacheControl === undefined ? undefined : options.cacheControl)}\n${options.serverExtra ?? ''}`,
  });
  servers.push(nginx);
  return { nginx, root };
}

async function recordDelivered(ids: string[], cut: string): Promise<void> {
  const journal = await openJournal(stateDir);
  try {
    for (const id of ids) {
      await journal.append({
        type: 'outcome', at: new Date().toISOString(), cut, id, outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1,
      });
    }
  } finally {
    await journal.close();
  }
}

const SETTINGS: AuditSettings = { countsAsMiss: false, sample: 'all', timeoutS: 20, concurrency: 4, maxRequests: 32 };

async function runAudit(difusores: Difusor[], settings: Partial<AuditSettings> = {}) {
  await recordDelivered(difusores.map((d) => d.id), NEW_CUT);
  const registry = aRegistry(difusores, { audit: { ...SETTINGS, ...settings } });
  const report = await audit(registry, stateDir, { ids: difusores.map((d) => d.id) }, { clock: systemClock, random: mulberry32(1) });
  return { report, byId: Object.fromEntries(report.results.map((r) => [r.id, r])) };
}

maybe('ok, stale, tampered, misconfigured and a closed port, each named by its problem; all journaled; status shows them', async () => {
  const ok = await site('ok', newPkg);
  const stale = await site('stale', oldPkg);
  const tampered = await site('tampered', newPkg, {
    // An unchanged file edited by the difusor's staff: found by the sample (all).
    alter: (root) => writeFile(join(root, 'diputaciones', 'distrito_01.html'), '<h1>Resultados "ajustados"</h1>\n'),
  });
  const misconfigured = await site('misconfigured', newPkg, { cacheControl: null });
  const port = await closedPort();
  const { report, byId } = await runAudit([
    aDifusor('ok', { url: ok.nginx.url }),
    aDifusor('stale', { url: stale.nginx.url }),
    aDifusor('tampered', { url: tampered.nginx.url }),
    aDifusor('misconfigured', { url: misconfigured.nginx.url }),
    aDifusor('down', { url: `http://127.0.0.1:${port}/` }),
  ]);

  expect(byId.ok).toMatchObject({ outcome: 'ok', served_cut: NEW_CUT, expected_cut: NEW_CUT, problems: [] });
  // Every file of the cut was fetched and hashed (sample: all).
  expect(byId.ok.checked_files).toBe((await readStoredManifest(newPkg)).files.length);

  expect(byId.stale).toMatchObject({ outcome: 'stale', served_cut: OLD_CUT, expected_cut: NEW_CUT });
  expect(byId.stale.problems[0]).toContain(`serves cut ${OLD_CUT} (an older cut); expected ${NEW_CUT}`);

  expect(byId.tampered).toMatchObject({ outcome: 'tampered', served_cut: NEW_CUT });
  expect(byId.tampered.problems).toHaveLength(1);
  expect(byId.tampered.problems[0]).toMatch(/^diputaciones\/distrito_01\.html: served \d+ bytes with SHA-256 .*\(altered\)$/);

  expect(byId.misconfigured).toMatchObject({ outcome: 'misconfigured', served_cut: NEW_CUT });
  expect(byId.misconfigured.problems).toEqual([
    'json/main.json: no Cache-Control header, lacking no-cache, no-store, must-revalidate; the calls require "Cache-Control: no-cache, no-store, must-revalidate" on it',
  ]);

  expect(byId.down).toMatchObject({ outcome: 'unreachable', served_cut: null });
  expect(byId.down.problems[0]).toContain('connection refused');
  expect(report.exit_code).toBe(1);

  const { events } = await readJournal(stateDir);
  const audits = events.filter((e) => e.type === 'audit');
  expect(audits.map((e) => (e.type === 'audit' ? `${e.id}:${e.outcome}` : '')).sort()).toEqual(
    ['down:unreachable', 'misconfigured:misconfigured', 'ok:ok', 'stale:stale', 'tampered:tampered'],
  );
  const registry = aRegistry([aDifusor('ok'), aDifusor('stale')]);
  const shown = await status(registry, stateDir);
  expect(shown.difusores[0].last_audit).toMatchObject({ outcome: 'ok', served_cut: NEW_CUT, expected_cut: NEW_CUT });
  expect(shown.difusores[1].last_audit).toMatchObject({ outcome: 'stale', served_cut: OLD_CUT, expected_cut: NEW_CUT });
  expect(shown.difusores[0].consecutive_misses + shown.difusores[1].consecutive_misses).toBe(0);
});

maybe('HTTPS: a certificate from an unknown CA is unreachable with the TLS reason; with audit.ca_file it is ok', async () => {
  const trusted = await site('tls-ok', newPkg, { tls: pki });
  const stranger = await site('tls-stranger', newPkg, { tls: strangerPki });
  const { byId } = await runAudit(
    [aDifusor('tls-ok', { url: trusted.nginx.url }), aDifusor('tls-stranger', { url: stranger.nginx.url })],
    { caFile: pki.caFile },
  );
  expect(trusted.nginx.url.startsWith('https://')).toBe(true);
  expect(byId['tls-ok']).toMatchObject({ outcome: 'ok', served_cut: NEW_CUT, problems: [] });
  expect(byId['tls-stranger'].outcome).toBe('unreachable');
  expect(byId['tls-stranger'].problems[0]).toMatch(/TLS: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER).*audit\.ca_file/);

  // Without the extra CA even the institute's own test CA is unknown.
  const { byId: without } = await runAudit([aDifusor('tls-ok', { url: trusted.nginx.url })], { caFile: undefined });
  expect(without['tls-ok'].outcome).toBe('unreachable');
});

maybe('redirects: within the site followed; to another scheme, host or port refused unfetched, naming the status and origin only', async () => {
  const secret = await startSecretServer();
  servers.push(secret);
  const moved = await site('moved', newPkg, { serverExtra: 'location /viejo/ { rewrite ^/viejo/(.*)$ /$1 permanent; }' });
  const port = moved.nginx.port;
  const toHttps = await site('to-https', newPkg, { serverExtra: `location /seguro/ { return 301 https://127.0.0.1:${port}/$request_uri; }` });
  // The manifest, and on another site one file of the cut, sent to another port of the same host.
  const away = `${secret.origin}/latest/meta-data/iam/security-credentials/admin?token=abc123`;
  const manifestAway = await site('manifest-away', newPkg, { serverExtra: `location = /MANIFEST.json { return 302 ${away}; }` });
  const fileAway = await site('file-away', newPkg, { serverExtra: `location = /json/distrito_01.json { return 302 ${away}; }` });
  const sub = await site('sub', newPkg, { urlPath: '/prep/' });
  const { byId } = await runAudit([
    aDifusor('moved', { url: `${moved.nginx.url}viejo/` }),
    aDifusor('to-https', { url: `${toHttps.nginx.url}seguro/` }),
    aDifusor('manifest-away', { url: manifestAway.nginx.url }),
    aDifusor('file-away', { url: fileAway.nginx.url }),
    // As the registry normalises `url: http://host/prep` (see the registry tests).
    aDifusor('sub', { url: sub.nginx.url }),
  ]);
  expect(byId.moved).toMatchObject({ outcome: 'ok', served_cut: NEW_CUT, problems: [] });
  expect(byId['to-https'].outcome).toBe('unreachable');
  expect(byId['to-https'].problems[0]).toBe(
    `${toHttps.nginx.url}seguro/MANIFEST.json: redirects (HTTP 301) to another origin, https://127.0.0.1:${port} (the site is http://127.0.0.1:${toHttps.nginx.port}); refused, not fetched`,
  );
  expect(byId['manifest-away']).toMatchObject({ outcome: 'unreachable', served_cut: null });
  expect(byId['manifest-away'].problems).toEqual([
    `${manifestAway.nginx.url}MANIFEST.json: redirects (HTTP 302) to another origin, ${secret.origin} (the site is http://127.0.0.1:${manifestAway.nginx.port}); refused, not fetched`,
  ]);
  expect(byId['file-away']).toMatchObject({ outcome: 'unreachable', served_cut: NEW_CUT });
  expect(byId['file-away'].problems).toEqual([
    `json/distrito_01.json: ${fileAway.nginx.url}json/distrito_01.json: redirects (HTTP 302) to another origin, ${secret.origin} (the site is http://127.0.0.1:${fileAway.nginx.port}); refused, not fetched`,
  ]);
  // Never asked: not the manifest, not the file, not once.
  expect(secret.requests).toEqual([]);
  expect(byId.sub).toMatchObject({ outcome: 'ok', served_cut: NEW_CUT, problems: [] });
});

maybe('a file redirected within the site is followed and checked (absolute URL of the same origin)', async () => {
  const root = join(work, 'difusores', 'file-here', 'current');
  const here = await site('file-here', newPkg, {
    serverExtra: `location = /json/distrito_01.json { root ${root}; if ($arg_v = "") { return 302 $scheme://$http_host/json/distrito_01.json?v=1; } }`,
  });
  const { byId } = await runAudit([aDifusor('file-here', { url: here.nginx.url })]);
  expect(byId['file-here']).toMatchObject({ outcome: 'ok', served_cut: NEW_CUT, problems: [] });
  expect(byId['file-here'].checked_files).toBe((await readStoredManifest(newPkg)).files.length);
});

maybe('an HTML error page with status 200, a 404, a huge MANIFEST.json and a file grown huge', async () => {
  const html = await site('html', newPkg, {
    serverExtra: 'location = /MANIFEST.json { default_type text/html; return 200 "<!DOCTYPE html><html><body>Página no encontrada</body></html>"; }',
  });
  const missing = await site('missing', newPkg, { alter: (root) => rm(join(root, 'MANIFEST.json')) });
  const huge = await site('huge', newPkg, { alter: (root) => truncate(join(root, 'MANIFEST.json'), 80 * 1024 * 1024) });
  const grown = await site('grown', newPkg, { alter: (root) => truncate(join(root, 'csv', 'LEEME.txt'), 200 * 1024 * 1024) });
  const started = Date.now();
  const { byId } = await runAudit([
    aDifusor('html', { url: html.nginx.url }),
    aDifusor('missing', { url: missing.nginx.url }),
    aDifusor('huge', { url: huge.nginx.url }),
    aDifusor('grown', { url: grown.nginx.url }),
  ]);
  expect(byId.html).toMatchObject({ outcome: 'stale', served_cut: null });
  // Named by its size and hash; not a byte of it quoted.
  expect(byId.html.problems[0]).toMatch(/answered 200 with an HTML page \(Content-Type "[a-z/]+", 62 bytes, SHA-256 [0-9a-f]{16}…\)/);
  expect(byId.html.problems[0]).not.toMatch(/DOCTYPE|Página/);
  expect(byId.missing.outcome).toBe('stale');
  expect(byId.missing.problems[0]).toContain('HTTP 404');
  expect(byId.huge.outcome).toBe('stale');
  expect(byId.huge.problems[0]).toContain('more than 64 MiB');
  expect(byId.grown.outcome).toBe('tampered');
  expect(byId.grown.problems[0]).toMatch(/^csv\/LEEME\.txt: served more than the \d+ bytes the cut has/);
  // The 200 MiB body was cut at the expected size, not read to its end.
  expect(byId.grown.seconds).toBeLessThan(5);
  expect(Date.now() - started).toBeLessThan(30_000);
});

/** Answers every connection with one byte per second, forever: headers never end. */
async function startSlowLoris(): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const text = 'HTTP/1.1 200 OK\r\nX-Slow: ';
    let i = 0;
    const timer = setInterval(() => socket.write(text[i++ % text.length]), 1000);
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

maybe('a slow-loris site hits its deadline while the other difusores finish on time', async () => {
  const slow = await startSlowLoris();
  servers.push(slow);
  const healthy = await site('healthy', newPkg);
  const finished: Array<{ id: string; at: number }> = [];
  const started = Date.now();
  await recordDelivered(['slow', 'healthy'], NEW_CUT);
  const registry = aRegistry(
    [aDifusor('slow', { url: `http://127.0.0.1:${slow.port}/` }), aDifusor('healthy', { url: healthy.nginx.url })],
    { audit: { ...SETTINGS, timeoutS: 3 } },
  );
  const report = await audit(registry, stateDir, {}, { clock: systemClock, random: mulberry32(2), onResult: (r) => finished.push({ id: r.id, at: Date.now() - started }) });
  const byId = Object.fromEntries(report.results.map((r) => [r.id, r]));
  expect(byId.healthy.outcome).toBe('ok');
  expect(byId.slow.outcome).toBe('unreachable');
  expect(byId.slow.problems[0]).toContain('no complete answer within the audit deadline (audit.timeout_s: 3 s)');
  expect(byId.slow.seconds).toBeGreaterThanOrEqual(2.9);
  expect(byId.slow.seconds).toBeLessThan(6);
  // The healthy one did not wait for the slow one.
  expect(finished[0].id).toBe('healthy');
  expect(finished[0].at).toBeLessThan(2500);
});

maybe('pipelining: a server that closes every connection after 2 answers still gets every file checked', async () => {
  const closing = await site('closing', newPkg, { serverExtra: 'keepalive_requests 2;' });
  const { byId } = await runAudit([aDifusor('closing', { url: closing.nginx.url })]);
  expect(byId.closing).toMatchObject({ outcome: 'ok', problems: [] });
  expect(byId.closing.checked_files).toBe((await readStoredManifest(newPkg)).files.length);
});

maybe('the stored manifest reader reads zip packages too', async () => {
  const zipStore = join(work, 'zip-store');
  await mkdir(zipStore);
  const pkg = await buildPackage({
    sourceDir: newSource, cut: cutAt(Date.parse('2024-06-02T20:20:00-06:00'), TZ), institute: 'IEM', nameTemplate: 'PREP_{cut}', format: 'zip', storeDir: zipStore,
  });
  const fromZip = await readStoredManifest(pkg);
  expect(fromZip).toEqual(await readStoredManifest(newPkg));
  expect(JSON.parse(await readFile(join(newSource, 'json', 'main.json'), 'utf8'))).toEqual({ fecha_corte: '02/06/2024 20:20', actas: 1234 });
});
