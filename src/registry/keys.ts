// The one OpenSSH private key reader, with one set of words for what can be wrong with a key:
// `validate` (private_key, signing_key), the SFTP connection and the signer all read keys here, with
// the same parser the connection uses (ssh2), so a key that validates is a key the push can use.
//
// ssh2 is required on the first key actually parsed, not when this file loads: loading it costs
// about 45 ms of CPU (25 files, a native module probe), a third of what `prep-push build` spent
// before building (2026-12 measurement, 2 cores), and `build` without a signing key parses no key.
import { createRequire } from 'node:module';
import type { ParsedKey } from 'ssh2';

type Ssh2 = typeof import('ssh2');
let ssh2: Ssh2 | undefined;
function ssh2Module(): Ssh2 {
  ssh2 ??= createRequire(import.meta.url)('ssh2') as Ssh2;
  return ssh2;
}

export type KeyReading =
  | { kind: 'ok'; key: ParsedKey }
  /** A `.pub` file: ssh2 parses it, but it cannot sign. */
  | { kind: 'public' }
  /** Passphrase-protected and no passphrase was given. */
  | { kind: 'encrypted' }
  | { kind: 'wrong-passphrase'; detail: string }
  | { kind: 'unparseable'; detail: string };

export type KeyProblem = Exclude<KeyReading, { kind: 'ok' }> | { kind: 'not-ed25519'; type: string };

/** What ssh2 makes of these key bytes, with the passphrase when one is given. */
export function readPrivateKey(data: Buffer, passphrase?: string): KeyReading {
  const { parseKey } = ssh2Module().utils;
  const plain = parseKey(data);
  if (plain instanceof Error) {
    if (!/passphrase/i.test(plain.message)) return { kind: 'unparseable', detail: plain.message };
    if (passphrase === undefined) return { kind: 'encrypted' };
    const decrypted = parseKey(data, passphrase);
    if (decrypted instanceof Error) return { kind: 'wrong-passphrase', detail: decrypted.message };
    const key = Array.isArray(decrypted) ? decrypted[0] : decrypted;
    return key ? { kind: 'ok', key } : { kind: 'unparseable', detail: 'no key in the file' };
  }
  // A file holding several keys parses to a list; the first is the one ssh2 will use.
  const key = Array.isArray(plain) ? plain[0] : plain;
  if (!key) return { kind: 'unparseable', detail: 'no key in the file' };
  return key.isPrivateKey() ? { kind: 'ok', key } : { kind: 'public' };
}

/** A key that must sign (signing_key): an ed25519 private key, or the problem with it. */
export function readSigningKey(data: Buffer, passphrase?: string): { kind: 'ok'; key: ParsedKey } | KeyProblem {
  const reading = readPrivateKey(data, passphrase);
  if (reading.kind !== 'ok') return reading;
  return reading.key.type === 'ssh-ed25519' ? reading : { kind: 'not-ed25519', type: reading.key.type };
}

/**
 * What is wrong with the key in `file`, named by its registry `field`, and what to do about it.
 * `passphraseEnv` is the variable the registry names for its passphrase, if any.
 */
export function keyProblemMessage(problem: KeyProblem, file: string, field: 'private_key' | 'signing_key', passphraseEnv?: string): string {
  switch (problem.kind) {
    case 'public':
      return `${file} is a public key; point ${field} at the private half (the file without .pub)`;
    case 'unparseable':
      return field === 'private_key'
        ? `${file} is not a private key ssh2 can read (${problem.detail}); expected an OpenSSH or PEM private key such as \`ssh-keygen -t ed25519\` writes`
        : `${file} is not an OpenSSH private key (${problem.detail}); create one with \`ssh-keygen -t ed25519 -f ${file}\``;
    case 'encrypted':
      return passphraseEnv === undefined
        ? `${file} is protected by a passphrase; name the environment variable that holds it in ${field}_passphrase_env and set that variable where prep-push runs`
        : `${file} is protected by a passphrase and the environment variable ${passphraseEnv} is not set; set it where prep-push runs (a cron job does not see your login shell's variables)`;
    case 'wrong-passphrase':
      return `the passphrase in ${passphraseEnv ?? 'the passphrase variable'} does not decrypt ${file} (${problem.detail}); check the value of ${passphraseEnv ?? `${field}_passphrase_env`}`;
    case 'not-ed25519':
      return `${file} is not an ed25519 key; signatures are made with ed25519: create one with \`ssh-keygen -t ed25519 -f ${file}\``;
  }
}
