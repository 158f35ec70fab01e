// The credentials a difusor's entry names (key file, passphrase or password from the environment,
// else the ssh-agent), read once per key and process.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ParsedKey } from 'ssh2';
import type { Difusor } from '../registry/types.js';
import { keyProblemMessage, readPrivateKey } from '../registry/keys.js';
import { DeliveryError, describeError } from './classify.js';

export interface Credentials {
  privateKey?: ParsedKey;
  password?: string;
  agent?: string;
}

// A passphrase-protected OpenSSH key takes its KDF (bcrypt, ~1-2 s of CPU) to decrypt. ssh2 would do
// that again inside every connect, for every difusor, inside the connect deadline; decrypting once
// per key and process and handing ssh2 the parsed key (which it passes through) avoids both.
// Keyed by path and a hash of the passphrase, so the passphrase itself is not kept as a key.
const parsedKeys = new Map<string, ParsedKey | DeliveryError>();

function decryptedKey(file: string, passphrase: string | undefined, passphraseEnv: string | undefined): ParsedKey {
  const cacheKey = `${file}\0${passphrase === undefined ? '' : createHash('sha256').update(passphrase).digest('hex')}`;
  let parsed = parsedKeys.get(cacheKey);
  if (parsed === undefined) {
    parsed = parsePrivateKey(file, passphrase, passphraseEnv);
    parsedKeys.set(cacheKey, parsed);
  }
  if (parsed instanceof DeliveryError) throw parsed;
  return parsed;
}

function parsePrivateKey(file: string, passphrase: string | undefined, passphraseEnv: string | undefined): ParsedKey | DeliveryError {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    return new DeliveryError('AUTH_FAILED', `cannot read private_key ${file}: ${describeError(error)}`, { cause: error });
  }
  const reading = readPrivateKey(data, passphrase);
  if (reading.kind === 'ok') return reading.key;
  return new DeliveryError('AUTH_FAILED', `cannot use private_key: ${keyProblemMessage(reading, file, 'private_key', passphraseEnv)}`);
}

/** The credentials a difusor's entry names, read from the key file and the environment. */
export function credentialsFor(difusor: Difusor, env: NodeJS.ProcessEnv): Credentials {
  const credentials: Credentials = {};
  if (difusor.privateKey !== undefined) {
    let passphrase: string | undefined;
    if (difusor.privateKeyPassphraseEnv !== undefined) {
      passphrase = env[difusor.privateKeyPassphraseEnv];
      if (passphrase === undefined) {
        throw new DeliveryError(
          'AUTH_FAILED',
          `environment variable ${difusor.privateKeyPassphraseEnv} (private_key_passphrase_env) is not set`,
        );
      }
    }
    credentials.privateKey = decryptedKey(difusor.privateKey, passphrase, difusor.privateKeyPassphraseEnv);
  }
  if (difusor.passwordEnv !== undefined) {
    const password = env[difusor.passwordEnv];
    if (password === undefined) {
      throw new DeliveryError('AUTH_FAILED', `environment variable ${difusor.passwordEnv} (password_env) is not set`);
    }
    credentials.password = password;
  }
  if (credentials.privateKey === undefined && credentials.password === undefined) {
    if (!env.SSH_AUTH_SOCK) {
      throw new DeliveryError('AUTH_FAILED', 'no private_key, no password_env and no ssh-agent (SSH_AUTH_SOCK unset)');
    }
    credentials.agent = env.SSH_AUTH_SOCK;
  }
  return credentials;
}

export type AuthMethod =
  | { type: 'publickey'; username: string; key: ParsedKey }
  | { type: 'password'; username: string; password: string }
  | { type: 'agent'; username: string; agent: string };

export function authMethodsFor(username: string, credentials: Credentials): AuthMethod[] {
  const methods: AuthMethod[] = [];
  if (credentials.privateKey) methods.push({ type: 'publickey', username, key: credentials.privateKey });
  if (credentials.password !== undefined) methods.push({ type: 'password', username, password: credentials.password });
  if (credentials.agent !== undefined) methods.push({ type: 'agent', username, agent: credentials.agent });
  return methods;
}
