// Ports for tests: a free one, one that refuses, and one that accepts but never speaks.
import { createServer, type Socket } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the bound port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** A port nothing listens on, so a connect is refused at once (ECONNREFUSED). */
export function closedPort(): Promise<number> {
  return freePort();
}

export interface Blackhole {
  port: number;
  /** Sockets accepted so far (a test can check the client really connected). */
  readonly accepted: number;
  close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1 that accepts connections and never sends a byte: an SSH client
 * waits forever for the server's banner, which is how a hung or firewalled difusor looks.
 */
export function startBlackhole(): Promise<Blackhole> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {}); // the client hanging up is expected
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('could not read the bound port'));
        return;
      }
      resolve({
        port: address.port,
        get accepted() {
          return accepted;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
