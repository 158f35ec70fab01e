// Pinned host keys and the order in which host key algorithms are offered, so a server is asked
// first for the key types the registry pinned. Pure: no I/O.
import type { Difusor, PinnedHostKey } from '../registry/types.js';

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

/** Every fingerprint a difusor pins. */
export function pinnedHostKeysOf(difusor: Pick<Difusor, 'hostKey' | 'hostKeys'>): PinnedHostKey[] {
  return difusor.hostKeys && difusor.hostKeys.length > 0 ? difusor.hostKeys : [{ fingerprint: difusor.hostKey }];
}

/** Whether the key the server offered (its type and fingerprint) is one of the pins. */
export function matchesPin(pins: readonly PinnedHostKey[], type: string, fingerprint: string): boolean {
  return pins.some((pin) => pin.fingerprint === fingerprint && (pin.type === undefined || pin.type === type));
}

/**
 * Host key algorithms to offer, pinned types first (in pin order), then every other type in ssh2's
 * default order, leaving out the types in `exclude` (already seen and refused).
 */
export function hostKeyAlgorithmOrder(pins: readonly PinnedHostKey[], exclude: ReadonlySet<string> = new Set()): string[] {
  const types = [...pins.flatMap((pin) => (pin.type ? [pin.type] : [])), ...HOST_KEY_TYPES];
  const ordered = [...new Set(types)].filter((type) => !exclude.has(type));
  return ordered.flatMap((type) => HOST_KEY_ALGORITHMS_OF_TYPE[type] ?? []);
}

/** `SHA256:x` or `ssh-rsa SHA256:x, SHA256:y` for messages. */
export function describePins(pins: readonly PinnedHostKey[]): string {
  return pins.map((pin) => (pin.type ? `${pin.type} ${pin.fingerprint}` : pin.fingerprint)).join(', ');
}
