// An SFTP server inside the Node process, serving a local directory: the `demo` command's
// difusores, and the tests' broken ones (stalls, drops, full disks, slow links, refused logins).
import { createHash, timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';

import ssh2 from 'ssh2';
import type { AuthContext, ParsedKey } from 'ssh2';

import { PrepPushError } from '../core/errors.js';
import { advertiseExtensions } from './openssh-extensions.js';
import { extensionsOffered, serveSftpSession, type ConnectionState, type ServerState } from './session.js';
import type { SftpServerHandle, StartSftpServerOptions } from './types.js';

export type { SftpFaults, SftpServerHandle, StartSftpServerOptions } from './types.js';

/** `SHA256:<base64 without padding>` of a public key blob, the form `ssh-keygen -lf` prints. */
export function sha256Fingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

function parseKeyOrThrow(text: string | Buffer, what: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(text);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || key === undefined) {
    throw new PrepPushError('usage', `SFTP server: cannot read ${what}: ${key instanceof Error ? key.message : 'no key found'}`, {
      hint: 'pass an OpenSSH or PEM key',
      cause: key,
    });
  }
  return key;
}

/**
 * A fresh ed25519 host key. About 1 in 200 keys ssh2's generateKeyPairSync writes cannot be read
 * back by its own parseKey ("Malformed OpenSSH private key"), which made servers fail to start at
 * random; generate again until the key parses.
 */
function generateReadableHostKey(): string {
  return generateReadableKeyPair().private;
}

/**
 * An ed25519 key pair whose both halves ssh2 reads back (about 1 in 230 generated pairs is not:
 * its public half comes out 31 bytes). For the demo's keys and the tests' servers.
 */
export function generateReadableKeyPair(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
}

/** Starts listening and resolves once the port is bound. */
export async function startSftpServer(opts: StartSftpServerOptions): Promise<SftpServerHandle> {
  const root = resolve(opts.root);
  const rootStats = await stat(root).catch(() => null);
  if (!rootStats?.isDirectory()) {
    throw new PrepPushError('io', `SFTP server: root ${root} is not a directory`, { hint: 'create the directory first' });
  }
  const faults = opts.faults ?? {};
  const host = opts.host ?? '127.0.0.1';
  const hostKey = opts.hostKey ?? generateReadableHostKey();
  const parsedHostKey = parseKeyOrThrow(hostKey, 'the host key');
  const hostKeyFingerprint = sha256Fingerprint(parsedHostKey.getPublicSSH());
  const hostPublicKey = `${parsedHostKey.type} ${parsedHostKey.getPublicSSH().toString('base64')}`;
  const allowedKeys = (opts.authorizedKeys ?? []).map((line, i) => parseKeyOrThrow(line, `authorized key #${i + 1}`));
  const allowedMethods: Array<'publickey' | 'password'> = [
    ...(allowedKeys.length > 0 ? (['publickey'] as const) : []),
    ...(opts.password !== undefined ? (['password'] as const) : []),
  ];

  const serverState: ServerState = { bytesWritten: 0, bytesCommitted: 0, diskFull: false, fsyncs: 0 };
  const sockets = new Set<Socket>();
  /** Connection state by the client's address, so the ssh2 connection can find its socket's. */
  const connectionsByPeer = new Map<string, ConnectionState>();
  let connections = 0;
  let authAttempts = 0;
  let activeSessions = 0;
  let maxConcurrentSessions = 0;

  const authenticate = (ctx: AuthContext): void => {
    authAttempts += 1;
    if (faults.refuseAll || !sameText(ctx.username, opts.username)) return ctx.reject(allowedMethods);
    if (ctx.method === 'password' && opts.password !== undefined && sameText(ctx.password, opts.password)) return ctx.accept();
    if (ctx.method === 'publickey') {
      const key = allowedKeys.find((k) => ctx.key.data.equals(k.getPublicSSH()));
      // Without a signature the client only asks whether the key would do; with one, it must verify.
      if (key && (!ctx.signature || (ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true))) return ctx.accept();
    }
    ctx.reject(allowedMethods);
  };

  const sshServer = new ssh2.Server({ hostKeys: [hostKey] }, (client, info) => {
    client.on('error', () => {}); // a client that disappears is normal here
    const connection = connectionsByPeer.get(`${info.ip}:${info.port}`);
    if (!connection) {
      client.end();
      return;
    }
    client.on('authentication', authenticate);
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp, rejectSftp) => {
          if (faults.refuseSftp) {
            rejectSftp();
            return;
          }
          const sftp = acceptSftp();
          advertiseExtensions(sftp, extensionsOffered(opts.quirks));
          activeSessions += 1;
          maxConcurrentSessions = Math.max(maxConcurrentSessions, activeSessions);
          sftp.once('close', () => (activeSessions -= 1));
          serveSftpSession(sftp, { root, faults, connection, server: serverState, quirks: opts.quirks });
        });
      });
    });
  });

  const tcpServer = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const state: ConnectionState = {
      bytesReceived: 0,
      linkFaulty: faults.onlyFirstConnections === undefined || connections <= faults.onlyFirstConnections,
      stalled: false,
      throttledUntil: 0,
      // A cut link is a reset, not a polite close: destroy() sends a FIN whenever the receive buffer
      // happens to be empty, and the client then sees an orderly end instead of ECONNRESET.
      drop: () => socket.resetAndDestroy(),
    };
    connectionsByPeer.set(peer, state);
    socket.on('error', () => {});
    socket.once('close', () => {
      sockets.delete(socket);
      connectionsByPeer.delete(peer);
    });
    sshServer.injectSocket(socket);
  });

  await new Promise<void>((done, fail) => {
    tcpServer.once('error', (error) =>
      fail(new PrepPushError('io', `SFTP server: cannot listen on ${host}:${opts.port ?? 0}: ${error.message}`, { cause: error })),
    );
    tcpServer.listen(opts.port ?? 0, host, () => done());
  });
  const address = tcpServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    host,
    port,
    hostKeyFingerprint,
    hostPublicKey,
    activeSessions: () => activeSessions,
    get maxConcurrentSessions() {
      return maxConcurrentSessions;
    },
    get bytesWritten() {
      return serverState.bytesWritten;
    },
    get fsyncs() {
      return serverState.fsyncs;
    },
    get connections() {
      return connections;
    },
    get authAttempts() {
      return authAttempts;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        tcpServer.close(() => done());
      }),
  };
}

/** Compares secrets without leaking their length through timing of the first differing byte. */
function sameText(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
