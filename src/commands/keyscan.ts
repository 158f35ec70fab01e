// `keyscan ID` or `keyscan HOST[:PORT]`: the host key fingerprint to pin, for onboarding a difusor.
import { PrepPushError } from '../core/errors.js';
import { HINT_OF_CODE, isDeliveryError } from '../delivery/classify.js';
import { scanHostKeyWithType } from '../delivery/keyscan.js';
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
  let pinned: string | undefined;
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
    pinned = difusor.hostKey;
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
  let fingerprint: string;
  let keyType: string;
  try {
    ({ fingerprint, keyType } = await scanHostKeyWithType(host, port, timeoutS * 1000));
  } catch (error) {
    if (!isDeliveryError(error)) throw error;
    // The server could not be asked: reported like a failed delivery to it (exit 1).
    return { lines: [], errorLines: [`prep-push: keyscan: ${error.code}: ${error.message}`, `hint: ${HINT_OF_CODE[error.code]}`], exitCode: 1 };
  }
  // The type is what the difusor's admin reads out over the phone next to the fingerprint.
  const lines = [`${label} offers ${keyType} host key ${fingerprint}`, `host_key: "${fingerprint}"`];
  if (pinned === undefined) {
    lines.push('confirm this fingerprint with the difusor by another channel (phone, signed mail) before pinning it');
    return { lines, exitCode: 0 };
  }
  if (pinned === fingerprint) return { lines: [...lines, 'matches the pinned host_key'], exitCode: 0 };
  return {
    lines: [...lines, `DOES NOT MATCH the pinned ${pinned}: confirm with the difusor whether they rotated their key before updating host_key`],
    exitCode: 1,
  };
}
