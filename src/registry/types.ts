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
  /** What the difusor receives: the package (default), the published site, or both. */
  delivery?: DeliveryMode;
}

export type DeliveryMode = 'package' | 'site' | 'both';

export interface PublishSettings {
  /** Newest releases kept on each difusor (site mode); 0 keeps all. The current one is never removed. */
  keepReleases: number;
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
  /** Absent in registries built by hand (tests): keep every release. */
  publish?: PublishSettings;
  difusores: Difusor[];
}
