// Pinned host keys and the order in which host key algorithms are offered, so a server is asked
// first for the key types the registry pinned. Pure: no I/O.
import { createHash } from 'node:crypto';
import { HOST_KEY_ALGORITHMS_OF_TYPE, HOST_KEY_TYPES, keyTypeOfAlgorithm } from '../registry/host-key.js';
import type { Difusor, PinnedHostKey } from '../registry/types.js';

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

/** The key types a server holds, from the host key algorithms its KEXINIT lists. */
export function keyTypesOffered(algorithms: readonly string[]): string[] {
  return [...new Set(algorithms.map(keyTypeOfAlgorithm).filter((type): type is string => type !== undefined))];
}

/**
 * After the server's `refused` key types matched no pin: the key types still worth a handshake,
 * those it holds that a pin could match (any type for an untyped pin), pinned types first.
 */
export function keyTypesLeftToTry(pins: readonly PinnedHostKey[], offered: readonly string[], refused: ReadonlySet<string>): string[] {
  const untyped = pins.some((pin) => pin.type === undefined);
  const order = [...new Set([...pins.flatMap((pin) => (pin.type ? [pin.type] : [])), ...HOST_KEY_TYPES])];
  return order.filter(
    (type) => offered.includes(type) && !refused.has(type) && (untyped || pins.some((pin) => pin.type === type)),
  );
}

/** A debug line of ssh2's handshake that lists the server's host key algorithms, parsed. */
export function serverHostKeyAlgorithmsOf(debugLine: string): string[] | undefined {
  const match = /^Handshake: \(remote\) Host key format: (.*)$/.exec(debugLine);
  return match ? match[1].split(',').filter(Boolean) : undefined;
}

/** `SHA256:<base64 without padding>` of a raw SSH public key blob, as `ssh-keygen -lf` prints. */
export function fingerprintOfKey(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name at the start of an SSH public key blob (`ssh-ed25519`, `ssh-rsa`...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return length > 0 && length < 64 && key.length >= 4 + length ? key.toString('latin1', 4, 4 + length) : 'unknown';
}
