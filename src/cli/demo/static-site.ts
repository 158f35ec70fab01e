// A tiny web server for the demo: serves a difusor's REMOTE_DIR/current as its nginx would,
// resolving the `current` symlink on every request, so a switch shows at the next request.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticSite {
  url: string;
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 (a free port); `json/main.json` with the calls' no-cache rule. */
export async function serveStaticSite(root: string): Promise<StaticSite> {
  const server = http.createServer((request, response) => {
    const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const relative = path.posix.normalize(urlPath).replace(/^\/+/, '') || 'index.html';
    if (relative.split('/').includes('..') || relative.split('/').some((s) => s.startsWith('.'))) {
      response.writeHead(404).end();
      return;
    }
    readFile(path.join(root, relative)).then(
      (body) => {
        const headers: Record<string, string> = { 'content-type': TYPES[path.extname(relative)] ?? 'application/octet-stream' };
        if (relative === 'json/main.json') headers['cache-control'] = 'no-cache, no-store, must-revalidate';
        response.writeHead(200, headers).end(body);
      },
      () => response.writeHead(404).end(),
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
