// Test key pairs made by the real `ssh-keygen`, so fingerprints are exactly what operators see.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  /** The public key line, `ssh-ed25519 AAAA... comment`. */
  publicKey: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export interface KeyPairOptions {
  passphrase?: string;
  type?: 'ed25519' | 'rsa';
}

/** Generates `dir/name` and `dir/name.pub` with ssh-keygen (OpenSSH format private key). */
export async function makeKeyPair(dir: string, name: string, opts: KeyPairOptions = {}): Promise<KeyPair> {
  const privateKeyPath = join(dir, name);
  const type = opts.type ?? 'ed25519';
  const sizeArgs = type === 'rsa' ? ['-b', '2048'] : [];
  await run('ssh-keygen', ['-q', '-t', type, ...sizeArgs, '-N', opts.passphrase ?? '', '-C', `${name}@prep-push-test`, '-f', privateKeyPath]);
  const publicKeyPath = `${privateKeyPath}.pub`;
  const publicKey = (await readFile(publicKeyPath, 'utf8')).trim();
  return { privateKeyPath, publicKeyPath, publicKey, fingerprint: await fingerprintOf(publicKeyPath) };
}

/** The SHA256 fingerprint of a public key file (or a private key without passphrase), via `ssh-keygen -lf`. */
export async function fingerprintOf(publicKeyFile: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile]);
  const match = /\b(SHA256:[A-Za-z0-9+/]+)/.exec(stdout);
  if (!match) throw new Error(`ssh-keygen -lf ${publicKeyFile} printed no SHA256 fingerprint: ${stdout}`);
  return match[1];
}
