// Reads a server's host key fingerprint for pinning (`prep-push keyscan`): connects, takes the key
// offered in the key exchange, and hangs up before authenticating.
import { Client } from 'ssh2';
import { DeliveryError, classifyError, describeError, formatHostPort } from './classify.js';
import { fingerprintOfKey, keyTypeOf } from './transport.js';

/** A host key as `keyscan` shows it: its type (read out over the phone) and its fingerprint. */
export interface ScannedHostKey {
  keyType: string;
  fingerprint: string;
}

/**
 * The host key fingerprint `SHA256:<base64>` exactly as `ssh-keygen -lf` prints it, for the key
 * type prep-push itself negotiates when delivering (so pinning what this returns always matches).
 * Throws a DeliveryError (code CONNECT_REFUSED, CONNECT_TIMEOUT, HOST_UNREACHABLE, ...) otherwise.
 */
export function scanHostKey(host: string, port: number, timeoutMs: number): Promise<string> {
  return scanHostKeyWithType(host, port, timeoutMs).then((k) => k.fingerprint);
}

/** As scanHostKey, with the key's type (`ssh-ed25519`, `ssh-rsa`...). */
export function scanHostKeyWithType(host: string, port: number, timeoutMs: number): Promise<ScannedHostKey> {
  const where = formatHostPort(host, port);
  return new Promise<ScannedHostKey>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let tcpConnected = false;
    let offered: ScannedHostKey | undefined;
    const settle = (error: DeliveryError | null, key?: ScannedHostKey): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      if (error) reject(error);
      else resolve(key as ScannedHostKey);
    };
    const timer = setTimeout(() => {
      const what = tcpConnected ? 'connected but the server sent no host key' : 'no TCP connection';
      settle(new DeliveryError('CONNECT_TIMEOUT', `${where}: ${what} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    client.on('connect', () => {
      tcpConnected = true;
    });
    client.on('error', (error: Error) => {
      if (offered !== undefined) return settle(null, offered);
      const code = classifyError(error, { stage: 'connect' });
      settle(new DeliveryError(code, `${where}: ${describeError(error)}`, { cause: error }));
    });
    client.on('close', () => {
      if (offered !== undefined) return settle(null, offered);
      settle(new DeliveryError('CONNECTION_LOST', `${where}: the server closed the connection before offering a host key`));
    });
    client.connect({
      host,
      port,
      username: 'prep-push-keyscan',
      // Our own timer decides (with the clearer CONNECT_TIMEOUT); ssh2's is only a backstop.
      readyTimeout: timeoutMs + 1000,
      // Refusing the key ends the key exchange: nothing past the handshake is ever sent.
      hostVerifier: (key: Buffer) => {
        offered = { keyType: keyTypeOf(key), fingerprint: fingerprintOfKey(key) };
        return false;
      },
    });
  });
}
