// A real nginx (Debian nginx-light) for tests and the benchmark: serves a difusor's published folder
// on 127.0.0.1 over HTTP, or HTTPS with a given certificate, as a difusor's web server would.
// Uses no jest globals: tsconfig.build.json compiles it into dist/ for the benchmark.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './net.js';

export const NGINX = '/usr/sbin/nginx';
// Generous for a loaded CI machine (quiet, nginx listens in well under a second); only a failed start waits it out.
const START_TIMEOUT_MS = 30_000;

export interface StartNginxOptions {
  /** The folder served at `urlPath` (for a difusor: `REMOTE_DIR/current`, a symlink nginx follows). */
  root: string;
  /** Path prefix the site is served under, with leading and trailing slash; default `/`. */
  urlPath?: string;
  /** Serve HTTPS with this certificate chain and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  /** Extra directives inside the `location` block, e.g. an `add_header` for `json/main.json`. */
  locationExtra?: string;
  /** Extra directives inside the `server` block (more `location`s, `return`s for fault tests). */
  serverExtra?: string;
}

export interface NginxFixture {
  port: number;
  /** `http(s)://127.0.0.1:PORT/urlPath`, with the trailing slash. */
  url: string;
  /** The generated nginx.conf, for assertions and for reading on failure. */
  configFile: string;
  errorLog: string;
  /** Re-reads the configuration (SIGHUP), waiting for the new workers. */
  reload(options?: Partial<StartNginxOptions>): Promise<void>;
  stop(): Promise<void>;
}

/** Whether nginx can run here; tests skip with this reason where it cannot. */
export function nginxUnavailableReason(): string | null {
  if (!existsSync(NGINX)) return `${NGINX} is not installed (Debian package nginx-light)`;
  return null;
}

function renderConfig(dir: string, port: number, options: StartNginxOptions): string {
  const urlPath = options.urlPath ?? '/';
  const listen = options.tls ? `listen 127.0.0.1:${port} ssl;` : `listen 127.0.0.1:${port};`;
  const tlsLines = options.tls
    ? `ssl_certificate ${options.tls.certFile};\n    ssl_certificate_key ${options.tls.keyFile};`
    : '';
  // `alias` for a sub-path, `root` for `/`: either way nginx resolves the symlinked root per request.
  const rootLine = urlPath === '/' ? `root ${options.root};` : `alias ${options.root.replace(/\/?$/, '/')};`;
  return `
daemon off;
master_process on;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  types { text/html html; application/json json; text/css css; text/csv csv; application/javascript js; image/png png; image/svg+xml svg; }
  default_type application/octet-stream;
  disable_symlinks off;
  open_file_cache off;
  keepalive_requests 100000;
  server {
    ${listen}
    ${tlsLines}
    ${options.serverExtra ?? ''}
    location ${urlPath} {
      ${rootLine}
      ${options.locationExtra ?? ''}
    }
  }
}
`;
}

function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on 127.0.0.1:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startNginx(options: StartNginxOptions): Promise<NginxFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'prep-push-nginx-'));
  const configFile = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'error.log');
  let current = options;
  const port = await freePort();
  await writeFile(configFile, renderConfig(dir, port, current));
  const check = spawnSync(NGINX, ['-t', '-q', '-p', dir, '-c', configFile], { encoding: 'utf8' });
  if (check.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`nginx -t refused the test configuration: ${check.stderr}`);
  }
  const child = spawn(NGINX, ['-p', dir, '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, Date.now() + START_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    const log = existsSync(errorLog) ? await readFile(errorLog, 'utf8') : '';
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}: ${stderr}${log}`);
  }
  const scheme = current.tls ? 'https' : 'http';
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}${current.urlPath ?? '/'}`,
    configFile,
    errorLog,
    async reload(changes = {}) {
      current = { ...current, ...changes };
      await writeFile(configFile, renderConfig(dir, port, current));
      child.kill('SIGHUP');
      // nginx answers SIGHUP by starting new workers; give them a moment before the next request.
      await new Promise((resolve) => setTimeout(resolve, 200));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
