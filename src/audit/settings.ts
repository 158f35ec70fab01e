// The registry's `audit:` block with its defaults applied, and the extra CA file read once.
import { readFile } from 'node:fs/promises';
import { PrepPushError } from '../core/errors.js';
import { DEFAULT_AUDIT } from '../registry/schema.js';
import type { AuditSettings, Registry } from '../registry/types.js';

export function auditSettingsOf(registry: Registry): AuditSettings {
  return (
    registry.audit ?? {
      countsAsMiss: DEFAULT_AUDIT.counts_as_miss,
      sample: DEFAULT_AUDIT.sample,
      timeoutS: DEFAULT_AUDIT.timeout_s,
      concurrency: DEFAULT_AUDIT.concurrency,
      maxRequests: DEFAULT_AUDIT.max_requests,
    }
  );
}

/** The PEM of `audit.ca_file`, or undefined when none is set. A file that cannot be read is a registry error (exit 2). */
export async function readExtraCa(settings: AuditSettings): Promise<Buffer | undefined> {
  if (settings.caFile === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = await readFile(settings.caFile);
  } catch (error) {
    throw new PrepPushError('registry', `audit.ca_file: cannot read ${settings.caFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
      hint: 'point audit.ca_file at a PEM file of CA certificates (relative to the registry file)',
      cause: error,
    });
  }
  if (!pem.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
    throw new PrepPushError('registry', `audit.ca_file: ${settings.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, {
      hint: 'point audit.ca_file at a PEM file of CA certificates',
    });
  }
  return pem;
}

/** `--sample N|all` → the registry's form; a usage error otherwise. */
export function parseSample(text: string): number | 'all' {
  if (text === 'all') return 'all';
  if (/^\d+$/.test(text)) return Number(text);
  throw new PrepPushError('usage', `--sample: expected a whole number of files or "all", got "${text}"`, { hint: 'e.g. --sample 200 or --sample all' });
}
