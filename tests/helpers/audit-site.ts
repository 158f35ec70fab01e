// Helpers for audit tests: a difusor's release tree laid out as site mode or prep-apply leave it
// (REMOTE_DIR/releases/<cut>/ + MANIFEST.json, REMOTE_DIR/current -> releases/<cut>), a test CA
// and server certificates made with openssl, nginx directives that set json/main.json's headers,
// and a server holding a secret that a hostile difusor would like the audit to fetch and repeat.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Manifest } from '../../src/audit/model.js';
import { readStoredManifest } from '../../src/audit/stored-manifest.js';
import { cutAt } from '../../src/core/cut.js';
import { buildPackage } from '../../src/package/build-package.js';
import { startNginx, type NginxFixture } from './nginx.js';

export const NO_CACHE = 'no-cache, no-store, must-revalidate';

/**
 * What a difusor's web server serves once the cut at `cutTime` (ISO, Mexico City) is published to
 * `siteDir`: the same package `cut` builds (IEM, PREP2024_MICH_{cut}), built in a scratch store.
 */
export async function publishBuiltCut(siteDir: string, sourceDir: string, cutTime: string, scratchDir: string): Promise<void> {
  const pkg = await buildPackage({
    sourceDir,
    cut: cutAt(Date.parse(cutTime), 'America/Mexico_City'),
    institute: 'IEM',
    nameTemplate: 'PREP2024_MICH_{cut}',
    format: 'tar.gz',
    storeDir: scratchDir,
  });
  await publishRelease(siteDir, sourceDir, await readStoredManifest(pkg));
  await rm(scratchDir, { recursive: true, force: true });
}

/** nginx serving `siteDir/current` with json/main.json's headers, as a difusor would. */
export function serveSite(siteDir: string): Promise<NginxFixture> {
  const root = join(siteDir, 'current');
  return startNginx({ root, serverExtra: mainJsonLocation(root) });
}

/** Lays out `remoteDir/releases/<cut>/` from `sourceDir` plus `manifest`, and points `current` at it. */
export async function publishRelease(remoteDir: string, sourceDir: string, manifest: Manifest): Promise<string> {
  const release = join(remoteDir, 'releases', manifest.cut.id);
  await mkdir(join(remoteDir, 'releases'), { recursive: true });
  await cp(sourceDir, release, { recursive: true });
  await writeFile(join(release, 'MANIFEST.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(join(remoteDir, 'current'), { force: true });
  await symlink(join('releases', manifest.cut.id), join(remoteDir, 'current'));
  return join(remoteDir, 'current');
}

/** An exact-match location for json/main.json with the calls' Cache-Control (or none). */
export function mainJsonLocation(root: string, urlPath = '/', cacheControl: string | null = NO_CACHE): string {
  const header = cacheControl === null ? '' : `add_header Cache-Control "${cacheControl}" always;`;
  const rootLine = urlPath === '/' ? `root ${root};` : `alias ${join(root, 'json', 'main.json')};`;
  return `location = ${urlPath}json/main.json { ${rootLine} ${header} }`;
}

export interface TestPki {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A CA and a certificate for 127.0.0.1 signed by it, with openssl, in `dir`. */
export function makeTestPki(dir: string, name: string): TestPki {
  const file = (suffix: string) => join(dir, `${name}-${suffix}`);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} test CA`, '-keyout', file('ca.key'), '-out', file('ca.pem')]);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr')]);
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${file('ext.cnf')}`]);
  run([
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', file('ext.cnf'), '-out', file('server.pem'),
  ]);
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}

/** What a hostile difusor would like to see repeated in the ledger and the e-mails. */
export const SECRET = 'SECRETO-AKIA-9f3b1c0de';

export interface SecretServer {
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Every request it received (method and path). */
  readonly requests: string[];
  stop(): Promise<void>;
}

/**
 * An HTTP server on another port of 127.0.0.1, standing for a cloud metadata service or an
 * intranet page: it answers anything with a body holding SECRET and records what it was asked.
 */
export async function startSecretServer(): Promise<SecretServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ AccessKeyId: SECRET, Token: SECRET }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    origin: `http://127.0.0.1:${address.port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
