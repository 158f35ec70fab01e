// The pipelined bulk path against a server that answers pipelined GETs in order, with every kind of
// answer it must take (200, 404, a body past its cap) or hand back (chunked, a redirect, a
// connection closed mid-body), and one that refuses connections.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';

import { fetchPipelined, type PipelinedItem } from '../../src/audit/pipelined.js';
import { closedPort } from '../helpers/net.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

function answerFor(path: string): { text: string; close?: boolean } {
  const plain = (status: string, body: string, extra = '') => `HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
  if (path.startsWith('/f/')) return { text: plain('200 OK', `file ${path}`) };
  if (path === '/missing') return { text: plain('404 Not Found', 'no') };
  if (path === '/big') return { text: plain('200 OK', 'x'.repeat(1000)) };
  if (path === '/chunked') return { text: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' };
  if (path === '/moved') return { text: plain('301 Moved Permanently', '', 'Location: /f/1\r\n') };
  if (path === '/last') return { text: plain('200 OK', 'last one', 'Connection: close\r\n'), close: true };
  // Promises 100 bytes, sends 3, hangs up.
  if (path === '/cut') return { text: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc', close: true };
  return { text: plain('500 Internal Server Error', '') };
}

const SPLIT_BODY = 'abcdefghij'.repeat(30_000);
let server: Server;
let port: number;
const seen: string[] = [];
let connections = 0;

beforeAll(async () => {
  server = createServer((socket: Socket) => {
    connections += 1;
    let buffer = '';
    // Answers go out in order, some of them after a pause.
    let queue = Promise.resolve();
    const send = (text: string, afterMs = 0) => {
      queue = queue.then(() => new Promise<void>((resolve) => setTimeout(() => (socket.destroyed ? resolve() : socket.write(text, () => resolve())), afterMs)));
    };
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
        const head = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        const path = /^GET (\S+) HTTP\/1\.1/.exec(head)?.[1] ?? '?';
        seen.push(path);
        if (path === '/split') {
          // A head, then its body in three pieces a little apart: hashed across chunks.
          send(`HTTP/1.1 200 OK\r\nContent-Length: ${SPLIT_BODY.length}\r\n\r\n${SPLIT_BODY.slice(0, 10)}`);
          send(SPLIT_BODY.slice(10, 200_000), 20);
          send(SPLIT_BODY.slice(200_000), 20);
          continue;
        }
        const { text, close } = answerFor(path);
        send(text);
        if (close) {
          queue = queue.then(() => void socket.end());
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const item = (target: string, maxBytes = 100): PipelinedItem => ({ target, maxBytes });

test('plain answers are taken, everything unusual is handed back, and nothing is lost when the server hangs up', async () => {
  const files = Array.from({ length: 40 }, (_, i) => item(`f/${i}`));
  const items = [...files.slice(0, 10), item('missing'), item('big', 10), item('chunked'), ...files.slice(10, 20), item('moved'), item('last'), ...files.slice(20), item('cut')];
  const answers = await fetchPipelined(`http://127.0.0.1:${port}/`, items, { connections: 2, depth: 8, signal: new AbortController().signal });
  const byTarget = new Map(items.map((it, i) => [it.target, answers[i]]));
  for (const f of files) {
    const body = `file /${f.target}`;
    expect([f.target, byTarget.get(f.target)]).toEqual([f.target, { kind: 'answer', status: 200, size: body.length, sha256: sha(body) }]);
  }
  expect(byTarget.get('missing')).toMatchObject({ kind: 'answer', status: 404 });
  expect(byTarget.get('big')).toEqual({ kind: 'too-large', size: 1000 });
  expect(byTarget.get('chunked')).toEqual({ kind: 'fallback' });
  expect(byTarget.get('moved')).toEqual({ kind: 'fallback' });
  expect(byTarget.get('last')).toEqual({ kind: 'answer', status: 200, size: 8, sha256: sha('last one') });
  expect(byTarget.get('cut')).toEqual({ kind: 'fallback' });
  // Pipelined indeed: far fewer connections than files, each file asked for at least once.
  expect(connections).toBeLessThan(15);
  for (const f of files) expect(seen).toContain(`/${f.target}`);
});

test('a body that arrives in pieces is hashed whole, and the answers after it are still in order', async () => {
  const items = [item('f/a'), item('split', SPLIT_BODY.length), item('f/b')];
  const answers = await fetchPipelined(`http://127.0.0.1:${port}/`, items, { connections: 1, depth: 8, signal: new AbortController().signal });
  expect(answers).toEqual([
    { kind: 'answer', status: 200, size: 9, sha256: sha('file /f/a') },
    { kind: 'answer', status: 200, size: SPLIT_BODY.length, sha256: sha(SPLIT_BODY) },
    { kind: 'answer', status: 200, size: 9, sha256: sha('file /f/b') },
  ]);
});

test('a refused port gives every item back to the ordinary client, promptly', async () => {
  const dead = await closedPort();
  const started = Date.now();
  const answers = await fetchPipelined(`http://127.0.0.1:${dead}/`, [item('a'), item('b'), item('c')], { connections: 4, depth: 8, signal: new AbortController().signal });
  expect(answers).toEqual([{ kind: 'fallback' }, { kind: 'fallback' }, { kind: 'fallback' }]);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('an aborted deadline ends it at once', async () => {
  const controller = new AbortController();
  controller.abort();
  const answers = await fetchPipelined(`http://127.0.0.1:${port}/`, [item('f/1')], { connections: 1, depth: 8, signal: controller.signal });
  expect(answers).toEqual([{ kind: 'fallback' }]);
});
