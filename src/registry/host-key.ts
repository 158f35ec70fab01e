// The registry's `host_key` entries: a fingerprint, optionally with its key type. Pure.
import type { PinnedHostKey } from './types.js';

/** Key types (as an SSH key blob names them) and the host key algorithms that yield each, in ssh2's preference. */
export const HOST_KEY_ALGORITHMS_OF_TYPE: Readonly<Record<string, readonly string[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export const HOST_KEY_TYPES = Object.keys(HOST_KEY_ALGORITHMS_OF_TYPE);

/** `SHA256:<43 base64 characters>`, as `ssh-keygen -lf` prints it. */
export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * One `host_key` entry: `"SHA256:..."`, or `"<type> SHA256:..."` (e.g. `"ssh-rsa SHA256:..."`), the
 * type being what `prep-push keyscan` prints after `#`. Undefined when it is neither.
 */
export function parsePinnedHostKey(text: string): PinnedHostKey | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 1 && FINGERPRINT_PATTERN.test(parts[0])) return { fingerprint: parts[0] };
  if (parts.length === 2 && parts[0] in HOST_KEY_ALGORITHMS_OF_TYPE && FINGERPRINT_PATTERN.test(parts[1])) {
    return { fingerprint: parts[1], type: parts[0] };
  }
  return undefined;
}

/** The key type a host key algorithm yields (`rsa-sha2-512` -> `ssh-rsa`); undefined for unknown ones. */
export function keyTypeOfAlgorithm(algorithm: string): string | undefined {
  return HOST_KEY_TYPES.find((type) => HOST_KEY_ALGORITHMS_OF_TYPE[type].includes(algorithm));
}
