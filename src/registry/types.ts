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
  /** Pinned host key, `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints it (the first of `hostKeys`). */
  hostKey: string;
  /**
   * Every pinned host key (`host_key` as a string or a list: rotation, several key types); the
   * server's key is accepted when it matches any. Absent: just `hostKey`.
   */
  hostKeys?: PinnedHostKey[];
  /** Absolute POSIX path on the difusor's server. */
  remoteDir: string;
  enabled: boolean;
  /** Public address of its PREP publication, absolute http(s), always ending with `/` (public list, notifications, audit). */
  url?: string;
  /** Whom the institute calls or writes about this difusor. */
  contacts?: Contact[];
  /** remote_dir as the difusor's own disk sees it (for its kit); absent: the same as remoteDir. */
  applyDir?: string;
  /** Releases the kit's prep-apply keeps (0 = all); absent: 0. */
  applyKeepReleases?: number;
  /** What the difusor receives: the package (default), the published site, or both. */
  delivery?: DeliveryMode;
  /** Absolute path of its logo (PNG, JPEG or SVG, at most 256 KB, checked at validate): its link in the public list. */
  logo?: string;
}

export interface Contact {
  name: string;
  email?: string;
  phone?: string;
}

export type SmtpTls = 'none' | 'starttls' | 'tls';

export interface EmailSettings {
  smtp: { host: string; port: number; tls: SmtpTls; username?: string; passwordEnv?: string };
  from: string;
  /** Receive every event. */
  to: string[];
  /** Events about a difusor also go to its contacts' addresses. */
  difusorContacts: boolean;
}

export interface NotifySettings {
  email?: EmailSettings;
  webhook?: { url: string };
  /** argv; the event is written as JSON on its stdin. */
  command?: string[];
  /** Bound of each attempt on each channel. */
  timeoutS: number;
}

export interface NoticeSettings {
  /** Absolute path of the template file. */
  template: string;
  /** Its text, read (and its placeholders checked) at validation. */
  html: string;
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

export type DeliveryMode = 'package' | 'site' | 'both';

export interface PublishSettings {
  /** Newest releases kept on each difusor (site mode); 0 keeps all. The current one is never removed. */
  keepReleases: number;
}

/** One pinned fingerprint, with its key type (`ssh-rsa`, `ssh-ed25519`...) when the registry names it. */
export interface PinnedHostKey {
  fingerprint: string;
  type?: string;
}

export interface PushSettings {
  concurrency: number;
  connectTimeoutS: number;
  /** Hard deadline for one difusor's whole delivery, retries included. */
  transferTimeoutS: number;
  /** Extra attempts inside the same run, for errors a retry can fix. */
  retries: number;
}

/** What `probe` checks each difusor against (registry `requirements`). */
export interface Requirements {
  /** Gigabytes (10^9 bytes) free where remote_dir lives. */
  minFreeGb: number;
  /** Megabytes (10^6 bytes) per second of SFTP upload. */
  minUploadMbS: number;
  /** Megabytes of random data the probe uploads to measure the rate. */
  probeMb: number;
}

export interface Registry {
  /** Absolute path of the registry file (for messages). */
  file: string;
  institute: string;
  timezone: string;
  blockAfterMisses: number;
  /** How far ahead of the clock `cut --cut TIME` may be without --allow-future (default 10). */
  maxFutureMinutes?: number;
  /** Absolute; from `state_dir` in the file, when present. */
  stateDir?: string;
  package: {
    /** Template with `{cut}`, e.g. `PREP2024_MICH_{cut}`; the extension comes from the format. */
    name: string;
    format: PackageFormat;
    /** Build delta packages against recent cuts, for difusores whose APPLIED names one. */
    delta?: boolean;
  };
  /** Signs every package and MANIFEST.json (src/signing); absent: nothing is signed. */
  signing?: {
    /** Absolute path of the OpenSSH ed25519 private key. */
    keyPath: string;
    passphraseEnv?: string;
  };
  push: PushSettings;
  /** Absent in registries built by hand (tests): keep every release. */
  publish?: PublishSettings;
  difusores: Difusor[];
  /** Absent only in registries built by hand (tests): read it with requirementsOf(). */
  requirements?: Requirements;
  /** Full name (`institute_name`), shown to difusores and the public; absent: `institute`. */
  instituteName?: string;
  notify?: NotifySettings;
  /** Absolute folder of difusores.json and difusores.html. */
  publicList?: PublicListSettings;
  notice?: NoticeSettings;
  /** Absent in the file: the defaults (see auditSettingsOf in src/audit/settings.ts). */
  audit?: AuditSettings;
  /** The zone in words for people (`timezone_label`); absent: derived from `timezone` (src/words/time.ts). */
  timezoneLabel?: string;
  /** The institute's own PREP site (`institute_url`): the notice links it. */
  instituteUrl?: string;
  /** The institute's PREP desk (`contact`): in every e-mail and in the kit's README. */
  contact?: Contact;
  /** `publication`: before `from`, cut and push refuse unless --drill; after `until`, a cut warns. */
  publication?: PublicationWindow;
}

export interface PublicListSettings {
  dir: string;
  /** Where the list is published (`public_list.url`): the notice links it. */
  url?: string;
  /** A blocked difusor: listed as suspended (`suspend`, the default) or left out (`remove`). */
  blocked?: 'suspend' | 'remove';
}

/** ISO 8601 times with their offsets, as written. */
export interface PublicationWindow {
  from?: string;
  until?: string;
}
