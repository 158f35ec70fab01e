// `keyscan ID` or `keyscan HOST[:PORT]`: the host key fingerprint to pin, for onboarding a difusor.
import { PrepPushError } from '../core/errors.js';
import { HINT_OF_CODE, isDeliveryError } from '../sftp/classify.js';
import { describePins, matchesPin, pinnedHostKeysOf } from '../sftp/host-keys.js';
import { scanHostKeys, type ScannedHostKey } from '../sftp/keyscan.js';
import type { PinnedHostKey } from '../registry/types.js';
import { loadRegistryFor } from './context.js';
import type { CommandEnv, GlobalOptions } from './context.js';

export interface KeyscanResult {
  lines: string[];
  /** For stderr: why the server could not be asked. */
  errorLines?: string[];
  exitCode: number;
}

const HOST_PORT = /^(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?$/;

export async function keyscan(target: string, timeoutS: number, global: GlobalOptions, ctx: CommandEnv): Promise<KeyscanResult> {
  if (!(timeoutS > 0)) throw new PrepPushError('usage', `--timeout: "${timeoutS}" is not a positive number of seconds`);
  let host: string;
  let port: number;
  let pinned: PinnedHostKey[] | undefined;
  let label: string;
  if (/^[a-z0-9][a-z0-9-]*$/.test(target) && !target.includes('.') && target !== 'localhost') {
    const registry = await loadRegistryFor(global, ctx);
    const difusor = registry.difusores.find((d) => d.id === target);
    if (!difusor) {
      throw new PrepPushError('usage', `keyscan: no difusor "${target}" in the registry`, {
        hint: 'give a difusor id from the registry, or HOST[:PORT] for a server not yet registered',
      });
    }
    ({ host, port } = difusor);
    pinned = pinnedHostKeysOf(difusor);
    label = `${difusor.id} (${host}:${port})`;
  } else {
    const m = HOST_PORT.exec(target);
    if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
      throw new PrepPushError('usage', `keyscan: "${target}" is neither a difusor id nor HOST[:PORT]`, { hint: 'e.g. keyscan el-sol, or keyscan 203.0.113.10:2222' });
    }
    host = m[1].replace(/^\[|\]$/g, '');
    port = m[2] ? Number(m[2]) : 22;
    label = `${host}:${port}`;
  }
  let keys: ScannedHostKey[];
  try {
    keys = await scanHostKeys(host, port, timeoutS * 1000);
  } catch (error) {
    if (!isDeliveryError(error)) throw error;
    // The server could not be asked: reported like a failed delivery to it (exit 1).
    return { lines: [], errorLines: [`prep-push: keyscan: ${error.code}: ${error.message}`, `hint: ${HINT_OF_CODE[error.code]}`], exitCode: 1 };
  }
  return { lines: keyscanLines(label, keys, pinned), exitCode: pinned === undefined || keys.some((k) => matchesPin(pinned, k.type, k.fingerprint)) ? 0 : 1 };
}

/**
 * One `host_key:` line per key type the server holds (the type after `#`, as `ssh-keyscan -t TYPE |
 * ssh-keygen -lf -` names it), then how to pin several, or how they compare with the pins.
 */
export function keyscanLines(label: string, keys: ScannedHostKey[], pinned: PinnedHostKey[] | undefined): string[] {
  const lines = [
    `${label} offers ${keys.length === 1 ? 'one host key' : `${keys.length} host keys`}:`,
    ...keys.map((key) => `host_key: "${key.fingerprint}"  # ${key.type}`),
  ];
  if (keys.length > 1) {
    lines.push(
      'to pin several (key rotation, several types), list them with their types, so prep-push asks for those types first:',
      `host_key: [${keys.map((key) => `"${key.type} ${key.fingerprint}"`).join(', ')}]`,
    );
  }
  if (pinned === undefined) {
    lines.push('confirm these fingerprints with the difusor by another channel (phone, signed mail) before pinning one');
    return lines;
  }
  const matching = keys.filter((key) => matchesPin(pinned, key.type, key.fingerprint));
  if (matching.length > 0) return [...lines, `matches the pinned host_key (${matching.map((key) => key.type).join(', ')})`];
  return [
    ...lines,
    `DOES NOT MATCH the pinned ${describePins(pinned)}: confirm with the difusor whether they rotated their key before updating host_key`,
  ];
}
