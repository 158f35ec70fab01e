// Checking a difusor's private key at validation time, with the same parser the SFTP connection
// uses (ssh2), so a key that validates is a key the push can use, not a surprise on election night.
import ssh2 from 'ssh2';

export type KeyVerdict =
  | { kind: 'ok' }
  /** A `.pub` file: ssh2 parses it, but it cannot sign. */
  | { kind: 'public' }
  /** Passphrase-protected and no passphrase was given. */
  | { kind: 'encrypted' }
  | { kind: 'wrong-passphrase'; detail: string }
  | { kind: 'unparseable'; detail: string };

/** What ssh2 makes of these key bytes, with the passphrase when one is given. */
export function inspectPrivateKey(data: Buffer, passphrase?: string): KeyVerdict {
  const plain = ssh2.utils.parseKey(data);
  if (plain instanceof Error) {
    if (!/passphrase/i.test(plain.message)) return { kind: 'unparseable', detail: plain.message };
    if (passphrase === undefined) return { kind: 'encrypted' };
    const decrypted = ssh2.utils.parseKey(data, passphrase);
    if (decrypted instanceof Error) return { kind: 'wrong-passphrase', detail: decrypted.message };
    return { kind: 'ok' };
  }
  // A file holding several keys parses to a list; the first is the one ssh2 will use.
  const key = Array.isArray(plain) ? plain[0] : plain;
  if (!key) return { kind: 'unparseable', detail: 'no key in the file' };
  return key.isPrivateKey() ? { kind: 'ok' } : { kind: 'public' };
}

/** True when the bytes parse (with the passphrase) to an ed25519 key: the only type signing_key takes. */
export function isEd25519PrivateKey(data: Buffer, passphrase?: string): boolean {
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key?.type === 'ssh-ed25519';
}
