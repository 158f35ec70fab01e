// The audit's HTTP edge (SiteClient) against servers that misbehave on purpose: redirects to other
// origins (never fetched), redirect loops, endless or trickled bodies (cut at their cap or at the
// deadline), and a redirect whose own body never ends.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { FetchFailure, SiteClient } from '../../src/audit/http.js';
import { SECRET, startSecretServer, type SecretServer } from '../helpers/audit-site.js';

interface TestServer {
  url: string;
  port: number;
  /** Paths asked, in order. */
  requests: string[];
  /** Body bytes written to clients so far. */
  sent(): number;
  stop(): Promise<void>;
}

async function startServer(handler: (req: IncomingMessage, res: ServerResponse, count: (n: number) => void) => void): Promise<TestServer> {
  const requests: string[] = [];
  let sent = 0;
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.on('error', () => {});
    handler(req, res, (n) => (sent += n));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/prep/`,
    port,
    requests,
    sent: () => sent,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes `chunk` again and again for as long as the client reads (honouring back-pressure). */
function endless(res: ServerResponse, chunk: Buffer, count: (n: number) => void): void {
  const pump = (): void => {
    while (!res.destroyed && !res.writableEnded) {
      count(chunk.length);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.socket?.on('close', () => res.destroy());
  pump();
}

let secret: SecretServer;
let site: TestServer;
const MiB = 1024 * 1024;

beforeAll(async () => {
  secret = await startSecretServer();
  site = await startServer((req, res, count) => {
    const path = req.url ?? '';
    const here = `http://127.0.0.1:${(req.socket.localPort ?? 0).toString()}`;
    const redirect = (status: number, location: string) => {
      res.writeHead(status, { location, 'content-length': '0' });
      res.end();
    };
    if (path === '/prep/away') return redirect(302, `${secret.origin}/latest/meta-data/iam/security-credentials/admin?token=${SECRET}`);
    if (path === '/prep/other-host') return redirect(302, `http://localhost:${req.socket.localPort}/prep/ok?k=${SECRET}`);
    if (path === '/prep/to-https') return redirect(301, `https://127.0.0.1:${req.socket.localPort}/prep/ok`);
    if (path === '/prep/to-file') return redirect(302, 'file:///etc/passwd');
    if (path === '/prep/bad-location') return redirect(302, 'http://[::1');
    if (path === '/prep/relative') return redirect(302, 'ok');
    if (path === '/prep/absolute') return redirect(307, `${here}/prep/ok`);
    if (path === '/prep/loop') return redirect(302, '/prep/loop');
    if (path === '/prep/ok') {
      res.writeHead(200, { 'content-length': '2' });
      return res.end('ok');
    }
    if (path === '/prep/redirect-endless-body') {
      // A redirect within the site whose own body never ends: dropped after a little.
      res.writeHead(302, { location: '/prep/ok' });
      return endless(res, Buffer.alloc(16 * 1024, 'r'), count);
    }
    if (path === '/prep/endless') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return endless(res, Buffer.alloc(64 * 1024, 'x'), count);
    }
    if (path === '/prep/trickle') {
      res.writeHead(200, { 'content-length': '1000000' });
      const timer = setInterval(() => res.write('x'), 200);
      res.socket?.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(404, { 'content-length': '0' });
    res.end();
  });
});
afterAll(async () => {
  await site?.stop();
  await secret?.stop();
});

function client(timeoutS = 10): { client: SiteClient; done(): void } {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutS * 1000);
  const c = new SiteClient({ siteUrl: site.url, maxSockets: 4, signal: deadline.signal, timeoutS });
  return {
    client: c,
    done: () => {
      clearTimeout(timer);
      c.close();
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<FetchFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FetchFailure) return error;
    throw error;
  }
  throw new Error('expected a FetchFailure');
}

test('a redirect to another origin (port, host, scheme, file:) is refused before anything is sent there; the message names the status and origin only', async () => {
  const { client: c, done } = client();
  try {
    const cases: Array<[string, string]> = [
      ['away', `redirects (HTTP 302) to another origin, ${secret.origin} (the site is http://127.0.0.1:${site.port}); refused, not fetched`],
      ['other-host', `redirects (HTTP 302) to another origin, http://localhost:${site.port} (the site is http://127.0.0.1:${site.port}); refused, not fetched`],
      ['to-https', `redirects (HTTP 301) to another origin, https://127.0.0.1:${site.port} (the site is http://127.0.0.1:${site.port}); refused, not fetched`],
      ['to-file', `redirects (HTTP 302) to another origin, file: (the site is http://127.0.0.1:${site.port}); refused, not fetched`],
      ['bad-location', 'redirects (HTTP 302) to a Location that is not a URL; refused'],
    ];
    for (const [path, text] of cases) {
      const failure = await failureOf(c.get(`${site.url}${path}`, { maxBytes: 1000, keepBody: true }));
      expect([path, failure.reason, failure.message]).toEqual([path, 'redirect', `${site.url}${path}: ${text}`]);
      expect(failure.message).not.toContain(SECRET);
      expect(failure.message).not.toContain('security-credentials');
    }
    expect(secret.requests).toEqual([]);
  } finally {
    done();
  }
});

test('redirects within the site are followed (relative and absolute), at most 5', async () => {
  const { client: c, done } = client();
  try {
    for (const path of ['relative', 'absolute']) {
      const answer = await c.get(`${site.url}${path}`, { maxBytes: 1000, keepBody: true });
      expect([path, answer.status, answer.body?.toString()]).toEqual([path, 200, 'ok']);
    }
    const before = site.requests.length;
    const failure = await failureOf(c.get(`${site.url}loop`, { maxBytes: 1000 }));
    expect(failure.message).toBe(`${site.url}loop: more than 5 redirects within http://127.0.0.1:${site.port}; refused`);
    expect(site.requests.length - before).toBe(6);
  } finally {
    done();
  }
});

test("a redirect's own body is dropped after 64 KiB, and the redirect still followed", async () => {
  const { client: c, done } = client();
  try {
    const sentBefore = site.sent();
    const started = Date.now();
    const answer = await c.get(`${site.url}redirect-endless-body`, { maxBytes: 64 * MiB, keepBody: true });
    expect([answer.status, answer.body?.toString()]).toEqual([200, 'ok']);
    expect(Date.now() - started).toBeLessThan(3000);
    // What the server managed to write before the socket closed: socket buffers, not 64 MiB.
    expect(site.sent() - sentBefore).toBeLessThan(8 * MiB);
  } finally {
    done();
  }
});

test('an endless body is cut at its cap at once; a trickled one at the deadline', async () => {
  const { client: c, done } = client(2);
  try {
    let started = Date.now();
    const capped = await c.get(`${site.url}endless`, { maxBytes: 1 * MiB, keepBody: true });
    expect(capped.overCap).toBe(true);
    expect(capped.body?.length ?? 0).toBeLessThanOrEqual(1 * MiB);
    expect(Date.now() - started).toBeLessThan(1500);

    started = Date.now();
    const failure = await failureOf(c.get(`${site.url}trickle`, { maxBytes: 2 * MiB }));
    expect(failure.reason).toBe('timeout');
    expect(failure.message).toBe(`${site.url}trickle: no complete answer within the audit deadline (audit.timeout_s: 2 s)`);
    expect(Date.now() - started).toBeLessThan(3500);
  } finally {
    done();
  }
});
