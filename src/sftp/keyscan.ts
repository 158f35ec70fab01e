// Reads a server's host key fingerprints for pinning (`prep-push keyscan`): connects, takes the key
// offered in the key exchange, and hangs up before authenticating; once per key type it holds.
import ssh2, { Client } from 'ssh2';
import { HOST_KEY_ALGORITHMS_OF_TYPE } from '../registry/host-key.js';
import { DeliveryError, classifyError, describeError, formatHostPort } from './classify.js';
import { hostKeyAlgorithmOrder, keyTypesOffered, serverHostKeyAlgorithmsOf } from './host-keys.js';
import { fingerprintOfKey, keyTypeOf } from './host-keys.js';

/** One host key a server holds. */
export interface ScannedHostKey {
  /** As the key blob names it: `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`... */
  type: string;
  /** `SHA256:<base64>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/**
 * Every host key the server holds, in the order prep-push prefers them: the first handshake takes
 * the preferred key and reads the server's list of host key algorithms; one more handshake per
 * other key type on that list. Matches `ssh-keyscan -t TYPE | ssh-keygen -lf -` for each type.
 */
export async function scanHostKeys(host: string, port: number, timeoutMs: number): Promise<ScannedHostKey[]> {
  const first = await offeredHostKey(host, port, timeoutMs, hostKeyAlgorithmOrder([]));
  const others = first.serverKeyTypes.filter((type) => type !== first.key.type);
  const rest = await Promise.all(
    others.map((type) => offeredHostKey(host, port, timeoutMs, [...HOST_KEY_ALGORITHMS_OF_TYPE[type]]).then((found) => found.key)),
  );
  return [first.key, ...rest];
}

/**
 * The host key fingerprint `SHA256:<base64>` exactly as `ssh-keygen -lf` prints it, for the key
 * type prep-push itself negotiates when delivering (so pinning what this returns always matches).
 * Throws a DeliveryError (code CONNECT_REFUSED, CONNECT_TIMEOUT, HOST_UNREACHABLE, ...) otherwise.
 */
export async function scanHostKey(host: string, port: number, timeoutMs: number): Promise<string> {
  return (await offeredHostKey(host, port, timeoutMs, hostKeyAlgorithmOrder([]))).key.fingerprint;
}

interface Offered {
  key: ScannedHostKey;
  /** Every key type the server's KEXINIT lists. */
  serverKeyTypes: string[];
}

/** The key the server offers when asked for these host key algorithms. */
function offeredHostKey(host: string, port: number, timeoutMs: number, algorithms: string[]): Promise<Offered> {
  const where = formatHostPort(host, port);
  return new Promise<Offered>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let tcpConnected = false;
    let offered: ScannedHostKey | undefined;
    let serverAlgorithms: string[] = [];
    const settle = (error: DeliveryError | null, key?: ScannedHostKey): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.destroy();
      if (error) reject(error);
      else resolve({ key: key as ScannedHostKey, serverKeyTypes: keyTypesOffered(serverAlgorithms) });
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
      algorithms: { serverHostKey: algorithms as ssh2.ServerHostKeyAlgorithm[] },
      debug: (line: string) => {
        serverAlgorithms = serverHostKeyAlgorithmsOf(line) ?? serverAlgorithms;
      },
      // Refusing the key ends the key exchange: nothing past the handshake is ever sent.
      hostVerifier: (key: Buffer) => {
        offered = { type: keyTypeOf(key), fingerprint: fingerprintOfKey(key) };
        return false;
      },
    });
  });
}
