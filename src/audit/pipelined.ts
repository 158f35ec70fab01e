// The bulk of an audit: many small GETs to one site. Sent HTTP/1.1-pipelined (up to `depth`
// requests written at once per connection, answers read in order), which saves one write per file
// and a round trip each. Only plain answers are taken here (a status and a Content-Length body);
// anything else — a redirect, chunked encoding, a closed or broken connection, a body past its
// cap — hands that file back to the ordinary client (`fallback`), which reports it properly.
import { createHash, type Hash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface PipelinedItem {
  /** Path under the site's URL, already percent-encoded. */
  target: string;
  /** Past this many body bytes the file cannot be the expected one. */
  maxBytes: number;
}

export type PipelinedAnswer =
  | { kind: 'answer'; status: number; size: number; sha256: string }
  | { kind: 'too-large'; size: number }
  | { kind: 'fallback' };

export interface PipelinedOptions {
  connections: number;
  /** Requests written ahead on one connection. */
  depth: number;
  extraCa?: Buffer;
  signal: AbortSignal;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;
/** Connections in a row that close before answering anything: the site does not pipeline. */
const MAX_FRUITLESS = 3;
/** Bodies of other answers (404 pages...) read here at most; past it the ordinary client takes over. */
const MAX_ERROR_BODY = 1024 * 1024;

interface Pending {
  index: number;
  item: PipelinedItem;
}

/** Fetches every item of `base` (an http(s) URL ending with `/`); one answer per item, in order. */
export function fetchPipelined(base: string, items: PipelinedItem[], options: PipelinedOptions): Promise<PipelinedAnswer[]> {
  const url = new URL(base);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const hostHeader = url.host;
  const basePath = url.pathname;
  const answers: Array<PipelinedAnswer | undefined> = new Array(items.length);
  const queue: Pending[] = items.map((item, index) => ({ index, item }));
  let fruitless = 0;
  let open = 0;
  const sockets = new Set<net.Socket>();

  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      options.signal.removeEventListener('abort', onAbort);
      for (const s of sockets) s.destroy();
      resolve(Array.from({ length: items.length }, (_, i): PipelinedAnswer => answers[i] ?? { kind: 'fallback' }));
    };
    const onAbort = () => finish();
    options.signal.addEventListener('abort', onAbort);
    if (options.signal.aborted || items.length === 0) {
      finish();
      return;
    }

    const startConnection = (): void => {
      if (finished) return;
      if (queue.length === 0) {
        if (open === 0) finish();
        return;
      }
      if (fruitless >= MAX_FRUITLESS) {
        // Not a server to pipeline to: the rest goes through the ordinary client.
        queue.length = 0;
        if (open === 0) finish();
        return;
      }
      open += 1;
      const socket = secure
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(options.extraCa ? { ca: [...tls.rootCertificates, options.extraCa.toString('utf8')] } : {}) })
        : net.connect({ host, port });
      sockets.add(socket);
      socket.setNoDelay(true);
      const inFlight: Pending[] = [];
      let answered = 0;
      let buffer: Buffer = Buffer.alloc(0);
      // The answer being read: its head is parsed, its body is being counted and hashed.
      let body: { status: number; remaining: number; size: number; hash: Hash } | null = null;
      let closed = false;
      let connected = false;
      // Set when the server said `Connection: close`: nothing more is written on this connection.
      let lastOnThisConnection = false;

      const sendMore = () => {
        if (lastOnThisConnection) return;
        const batch: string[] = [];
        while (inFlight.length < options.depth && queue.length > 0) {
          const next = queue.shift() as Pending;
          inFlight.push(next);
          batch.push(`GET ${basePath}${next.item.target} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: prep-push-audit\r\nAccept-Encoding: identity\r\n\r\n`);
        }
        if (batch.length > 0) socket.write(batch.join(''));
        // Others took the last of the queue before this connection was up.
        else if (inFlight.length === 0) close(false);
      };
      const close = (giveBackCurrent: boolean) => {
        if (closed) return;
        closed = true;
        sockets.delete(socket);
        socket.destroy();
        open -= 1;
        // A connection that failed, or closed with questions unanswered, made no progress.
        if (answered > 0) fruitless = 0;
        else if (inFlight.length > 0 || !connected) fruitless += 1;
        // What was asked and not answered is asked again on a new connection (the current one,
        // when it is the reason to stop, goes to the ordinary client).
        const unanswered = giveBackCurrent ? inFlight.slice(1) : inFlight;
        if (giveBackCurrent && inFlight[0]) answers[inFlight[0].index] = { kind: 'fallback' };
        queue.unshift(...unanswered);
        inFlight.length = 0;
        startConnection();
      };
      const settle = (answer: PipelinedAnswer) => {
        const done = inFlight.shift() as Pending;
        answers[done.index] = answer;
        answered += 1;
      };

      const onData = (chunk: Buffer) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        for (;;) {
          if (body) {
            const take = Math.min(body.remaining, buffer.length);
            if (take > 0) {
              body.hash.update(buffer.subarray(0, take));
              body.remaining -= take;
              buffer = buffer.subarray(take);
            }
            if (body.remaining > 0) return;
            settle({ kind: 'answer', status: body.status, size: body.size, sha256: body.hash.digest('hex') });
            body = null;
            if (inFlight.length === 0 && (queue.length === 0 || lastOnThisConnection)) {
              close(false);
              return;
            }
            sendMore();
            continue;
          }
          const end = buffer.indexOf(HEADER_END);
          if (end < 0) {
            if (buffer.length > MAX_HEAD) close(true);
            return;
          }
          if (inFlight.length === 0) {
            close(false);
            return;
          }
          const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
          buffer = buffer.subarray(end + HEADER_END.length);
          const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
          const headers = new Map<string, string>();
          for (const line of head.slice(1)) {
            const colon = line.indexOf(':');
            if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
          const length = Number(headers.get('content-length'));
          const plain =
            status !== null &&
            !headers.has('transfer-encoding') &&
            Number.isInteger(length) &&
            length >= 0 &&
            !(Number(status[1]) >= 300 && Number(status[1]) < 400) &&
            Number(status[1]) >= 200;
          if (!plain) {
            close(true);
            return;
          }
          const item = inFlight[0].item;
          if (Number(status[1]) === 200 && length > item.maxBytes) {
            // Known from its length alone; the body is not read, so this connection ends here.
            settle({ kind: 'too-large', size: length });
            close(false);
            return;
          }
          if (length > Math.max(item.maxBytes, MAX_ERROR_BODY)) {
            // A huge error page: the ordinary client reads it under its cap.
            close(true);
            return;
          }
          body = { status: Number(status[1]), remaining: length, size: length, hash: createHash('sha256') };
          if (headers.get('connection')?.toLowerCase() === 'close') {
            // The server answers this one and then hangs up: the rest is asked elsewhere.
            queue.unshift(...inFlight.splice(1));
            lastOnThisConnection = true;
          }
        }
      };

      socket.on(secure ? 'secureConnect' : 'connect', () => {
        connected = true;
        sendMore();
      });
      socket.on('data', onData);
      socket.on('error', () => close(body !== null));
      socket.on('close', () => close(body !== null));
    };

    for (let i = 0; i < Math.min(options.connections, queue.length); i += 1) startConnection();
  });
}
