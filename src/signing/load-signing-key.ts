// Loading the institute's signing key (an OpenSSH ed25519 private key) at the edge: file, optional
// passphrase from the environment, and ssh2's parser, the same one that reads the SFTP keys.
import { createPrivateKey, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PrepPushError } from '../core/errors.js';
import { keyProblemMessage, readSigningKey } from '../registry/keys.js';
import type { SshSigner } from './sshsig.js';

export interface SigningKeySettings {
  /** Absolute path of the private key. */
  keyPath: string;
  /** Name of the environment variable that holds its passphrase. */
  passphraseEnv?: string;
}

/** Reads and parses the signing key; every problem is a 'registry' error naming the file and what to do. */
export async function loadSigningKey(settings: SigningKeySettings, env: NodeJS.ProcessEnv): Promise<SshSigner> {
  let data: Buffer;
  try {
    data = await readFile(settings.keyPath);
  } catch (error) {
    throw new PrepPushError('registry', `signing_key: cannot read ${settings.keyPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'create it with `ssh-keygen -t ed25519 -f FILE` or fix signing_key in the registry',
      cause: error,
    });
  }
  const passphrase = settings.passphraseEnv === undefined ? undefined : env[settings.passphraseEnv];
  return signerFromKeyData(data, passphrase, settings.keyPath);
}

/** An Ed25519 signer from OpenSSH private key bytes. */
export function signerFromKeyData(data: Buffer, passphrase: string | undefined, where: string): SshSigner {
  const reading = readSigningKey(data, passphrase);
  if (reading.kind !== 'ok') {
    throw new PrepPushError('registry', `signing_key: ${keyProblemMessage(reading, where, 'signing_key')}`, {
      hint: 'signing_key must be an OpenSSH ed25519 private key (`ssh-keygen -t ed25519`); a passphrase comes from the variable named in signing_key_passphrase_env',
    });
  }
  const { key } = reading;
  const privateKey = createPrivateKey(key.getPrivatePEM());
  return {
    publicKeyBlob: Buffer.from(key.getPublicSSH()),
    signRaw: (message) => sign(null, message, privateKey),
  };
}

/** What buildPackage needs from the registry to sign and to build deltas (spread into its input). */
export async function packageSigningOptions(
  registry: { signing?: SigningKeySettings; package: { delta?: boolean } },
  env: NodeJS.ProcessEnv,
): Promise<{ signer?: SshSigner; delta?: boolean }> {
  const options: { signer?: SshSigner; delta?: boolean } = {};
  if (registry.signing) options.signer = await loadSigningKey(registry.signing, env);
  if (registry.package.delta) options.delta = true;
  return options;
}
