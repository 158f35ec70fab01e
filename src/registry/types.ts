// The validated registry: what the rest of prep-push consumes. YAML's snake_case fields become
// camelCase here; defaults are already merged into each difusor and paths are absolute.

export type PackageFormat = 'tar.gz' | 'zip';

export interface Difusor {
  /** Unique, `[a-z0-9][a-z0-9-]*`. */
  id: string;
  name: string;
  host: string;
  port: number;
  username: string;
  /** Absolute path (resolved against the registry file's folder); absent: ssh-agent or password. */
  privateKey?: string;
  /** Name of the environment variable holding the key's passphrase (never the passphrase). */
  privateKeyPassphraseEnv?: string;
  /** Name of the environment variable holding a password (never the password). */
  passwordEnv?: string;
  /** Pinned host key, `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it. */
  hostKey: string;
  /** Absolute POSIX path on the difusor's server. */
  remoteDir: string;
  enabled: boolean;
  /** Public address of its PREP publication, absolute http(s), always ending with `/`. */
  url?: string;
}

/** `audit:` in the registry: how `audit` and `cut --audit` check the difusores' public sites. */
export interface AuditSettings {
  /** Absolute path of a PEM file of CA certificates trusted besides the system's. */
  caFile?: string;
  /** With `cut --audit`: a stale, unreachable or tampered site counts as a miss for that cut. */
  countsAsMiss: boolean;
  /** Files checked besides json/main.json and the files the cut changed; 'all' checks every file. */
  sample: number | 'all';
  /** Hard deadline for one difusor's whole audit. */
  timeoutS: number;
  /** Requests in flight to one difusor. */
  concurrency: number;
  /** Requests in flight over all difusores. */
  maxRequests: number;
}

export interface PushSettings {
  concurrency: number;
  connectTimeoutS: number;
  /** Hard deadline for one difusor's whole delivery, retries included. */
  transferTimeoutS: number;
  /** Extra attempts inside the same run, for errors a retry can fix. */
  retries: number;
}

export interface Registry {
  /** Absolute path of the registry file (for messages). */
  file: string;
  institute: string;
  timezone: string;
  blockAfterMisses: number;
  /** Absolute; from `state_dir` in the file, when present. */
  stateDir?: string;
  package: {
    /** Template with `{cut}`, e.g. `PREP2024_MICH_{cut}`; the extension comes from the format. */
    name: string;
    format: PackageFormat;
  };
  push: PushSettings;
  difusores: Difusor[];
  /** Absent in the file: the defaults (see auditSettingsOf in src/audit/settings.ts). */
  audit?: AuditSettings;
}
