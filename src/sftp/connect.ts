// Connecting to a difusor: host key pinned during the key exchange (before any credential is sent),
// a hard connect deadline, keepalives, Nagle off, then the SFTP subsystem as an Ssh2Session.
import ssh2, { Client } from 'ssh2';
import type { Difusor } from '../registry/types.js';
import { HOST_KEY_ALGORITHMS_OF_TYPE } from '../registry/host-key.js';
import { DeliveryError, SUBSYSTEM_REFUSED_HINT, describeError } from './classify.js';
import { authMethodsFor, credentialsFor, type Credentials } from './credentials.js';
import {
  describePins,
  fingerprintOfKey,
  hostKeyAlgorithmOrder,
  keyTypeOf,
  keyTypesLeftToTry,
  keyTypesOffered,
  matchesPin,
  pinnedHostKeysOf,
  serverHostKeyAlgorithmsOf,
} from './host-keys.js';
import type { ConnectOptions, SftpSession, SftpTransport } from './session.js';
import { Ssh2Session } from './ssh2-session.js';

// Keepalives make a peer that vanished (no FIN, no RST) visible in ~20 s even without a deadline.
const KEEPALIVE_INTERVAL_MS = 5000;
const KEEPALIVE_COUNT_MAX = 3;

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** A key the server offered that no pin matches. */
interface OfferedKey {
  type: string;
  fingerprint: string;
}

/** The handshake was refused because the offered key matches no pin. */
class HostKeyRefused extends DeliveryError {
  constructor(
    readonly offered: OfferedKey,
    /** Every key type the server's KEXINIT lists. */
    readonly serverKeyTypes: string[],
    message: string,
    cause: unknown,
  ) {
    super('HOST_KEY_MISMATCH', message, { cause });
  }
}

/**
 * Connects, pins the host key during the key exchange (before authenticating) and opens SFTP.
 * The pinned key types are negotiated first; when a pin has no type and the server's first key
 * matches none, the other key types the server may hold are asked for, one handshake each (a
 * refused handshake sends no credentials), so a difusor pinned by its RSA key stays reachable.
 */
async function connectSsh2(difusor: Difusor, options: ConnectOptions): Promise<SftpSession> {
  const pins = pinnedHostKeysOf(difusor);
  const startedAt = Date.now();
  const refused = new Set<string>();
  const offered: OfferedKey[] = [];
  let algorithms = hostKeyAlgorithmOrder(pins);
  for (;;) {
    const connectTimeoutMs = Math.max(1, options.connectTimeoutMs - (Date.now() - startedAt));
    try {
      return await connectOnce(difusor, { ...options, connectTimeoutMs }, algorithms);
    } catch (error) {
      if (!(error instanceof HostKeyRefused)) throw error;
      offered.push(error.offered);
      refused.add(error.offered.type);
      const left = keyTypesLeftToTry(pins, error.serverKeyTypes, refused);
      if (left.length > 0) {
        algorithms = left.flatMap((type) => [...HOST_KEY_ALGORITHMS_OF_TYPE[type]]);
        continue;
      }
      // Every key type the server holds that a pin could match was offered: none matched.
      const seen = offered.map((key) => `${key.type} ${key.fingerprint}`).join(', ');
      throw new DeliveryError('HOST_KEY_MISMATCH', `host key mismatch: pinned ${describePins(pins)}, server offered ${seen}`, {
        cause: error,
      });
    }
  }
}

function connectOnce(difusor: Difusor, options: ConnectOptions, hostKeyAlgorithms: string[]): Promise<SftpSession> {
  const { connectTimeoutMs, signal } = options;
  const pins = pinnedHostKeysOf(difusor);
  return new Promise<SftpSession>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let credentials: Credentials;
    try {
      credentials = credentialsFor(difusor, options.env);
    } catch (error) {
      reject(error);
      return;
    }

    const client = new Client();
    let settled = false;
    let tcpConnected = false;
    let mismatch: { type: string; fingerprint: string } | undefined;
    let serverHostKeyAlgorithms: string[] = [];

    const settle = (error: unknown, session?: SftpSession): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (session) {
        resolve(session);
      } else {
        client.destroy();
        reject(error);
      }
    };
    const onAbort = (): void => settle(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    // Our own timer, not only ssh2's readyTimeout: readyTimeout does not cover opening the SFTP
    // channel, and a deadline must hold whatever stage the server freezes in.
    const timer = setTimeout(() => {
      const what = tcpConnected
        ? 'TCP connected but SSH handshake, authentication and SFTP start did not finish'
        : 'TCP connection not established';
      settle(new DeliveryError('CONNECT_TIMEOUT', `${what} within connect_timeout_s (${seconds(connectTimeoutMs)})`));
    }, connectTimeoutMs);

    client.on('connect', () => {
      tcpConnected = true;
      // Nagle off: with it, ssh2's SERVICE_REQUEST sat in the kernel until the server's delayed ACK
      // (40 ms) of the packet before it. Traced on the bench sshd with ssh2's debug output:
      // authenticated after 74-107 ms with Nagle, 36-68 ms without. Bulk writes are whole SSH packets anyway.
      client.setNoDelay(true);
    });
    // ssh2 emits 'error' more than once (and after destroy); an unheard one would crash the process.
    client.on('error', (error: Error) => {
      if (mismatch) {
        settle(
          new HostKeyRefused(
            mismatch,
            keyTypesOffered(serverHostKeyAlgorithms),
            `host key mismatch: pinned ${describePins(pins)}, server offered ${mismatch.type} ${mismatch.fingerprint}`,
            error,
          ),
        );
      } else {
        // Which server refused us tells a refused key from an account it never lets in (authFailureHint).
        if ((error as { level?: unknown }).level === 'client-authentication') {
          Object.assign(error, { serverSoftware: (client as unknown as { _remoteVer?: string })._remoteVer });
        }
        settle(error);
      }
    });
    client.on('close', () => settle(Object.assign(new Error('Connection closed before SFTP was ready'), { code: 'ECONNRESET' })));
    client.on('ready', () => {
      client.sftp((error, sftp) => {
        if (!error) {
          settle(undefined, new Ssh2Session(client, sftp));
          return;
        }
        const refused = /unable to start subsystem/i.test(error.message);
        settle(
          refused
            ? new DeliveryError('AUTH_FAILED', `logged in as ${difusor.username}, but ${error.message}`, {
                cause: error,
                hint: SUBSYSTEM_REFUSED_HINT,
              })
            : error,
        );
      });
    });

    try {
      client.connect({
        host: difusor.host,
        port: difusor.port,
        username: difusor.username,
        // Explicit methods, in order: ssh2 takes an already-parsed (decrypted) key only this way.
        authHandler: authMethodsFor(difusor.username, credentials),
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        algorithms: { serverHostKey: hostKeyAlgorithms as ssh2.ServerHostKeyAlgorithm[] },
        // The only public view of the server's KEXINIT: which host key types it holds.
        debug: (line: string) => {
          serverHostKeyAlgorithms = serverHostKeyAlgorithmsOf(line) ?? serverHostKeyAlgorithms;
        },
        // Raw key blob in, decision out; ssh2 aborts the key exchange on false, so no
        // authentication (and nothing else) is ever sent to a server we did not pin.
        hostVerifier: (key: Buffer) => {
          const fingerprint = fingerprintOfKey(key);
          const type = keyTypeOf(key);
          if (matchesPin(pins, type, fingerprint)) return true;
          mismatch = { type, fingerprint };
          return false;
        },
      });
    } catch (error) {
      // ssh2 throws synchronously for an unparsable key or a wrong passphrase.
      settle(new DeliveryError('AUTH_FAILED', `private_key ${difusor.privateKey ?? ''}: ${describeError(error)}`, { cause: error }));
    }
  });
}

export const ssh2Transport: SftpTransport = { connect: connectSsh2 };
