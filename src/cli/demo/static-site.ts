// A tiny web server for the demo: serves a folder as a difusor's nginx would serve REMOTE_DIR/current
// (resolving the `current` symlink on every request, so a switch shows at the next request), or the
// institute's own pages. With `fallbackToIndex`, a missing path answers /index.html, as the kit's web
// server snippets do, so while a difusor is blocked every deep link shows its notice.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

export interface StaticSite {
  url: string;
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 (a free port); `json/main.json` with the calls' no-cache rule. */
export async function serveStaticSite(root: string, options: { fallbackToIndex?: boolean } = {}): Promise<StaticSite> {
  const send = (response: http.ServerResponse, relative: string, body: Buffer, status = 200) => {
    const headers: Record<string, string> = { 'content-type': TYPES[path.extname(relative)] ?? 'application/octet-stream' };
    if (relative === 'json/main.json' || relative === 'index.html') headers['cache-control'] = 'no-cache, no-store, must-revalidate';
    response.writeHead(status, headers).end(body);
  };
  const server = http.createServer((request, response) => {
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    } catch {
      response.writeHead(400).end();
      return;
    }
    const asked = path.posix.normalize(urlPath).replace(/^\/+/, '');
    const relative = asked === '' || asked.endsWith('/') ? `${asked}index.html` : asked;
    if (relative.split('/').includes('..') || relative.split('/').some((s) => s.startsWith('.'))) {
      response.writeHead(404).end();
      return;
    }
    readFile(path.join(root, relative)).then(
      (body) => send(response, relative, body),
      () => {
        if (!options.fallbackToIndex) return response.writeHead(404).end();
        // A missing path shows /index.html with the 404 status, as the kit's nginx `error_page 404 /index.html` does.
        readFile(path.join(root, 'index.html')).then(
          (body) => send(response, 'index.html', body, 404),
          () => response.writeHead(404).end(),
        );
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
