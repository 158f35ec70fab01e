// The shape of difusores.yaml as written (snake_case, defaults not merged yet), as zod schemas,
// plus the rules that need a sentence of their own. Every object is strict: an unknown key is an
// error, because a misspelt `prot: 2222` silently ignored would push to the wrong port on election night.
import { z } from 'zod';

import { assertTimeZone } from '../core/cut.js';
import { parsePinnedHostKey } from './host-key.js';


export const DEFAULT_TIMEZONE = 'America/Mexico_City';
export const DEFAULT_BLOCK_AFTER_MISSES = 3;
export const DEFAULT_MAX_FUTURE_MINUTES = 10;
export const DEFAULT_PORT = 22;
export const DEFAULT_PUSH = { concurrency: 16, connect_timeout_s: 15, transfer_timeout_s: 300, retries: 1 } as const;
/** What the calls ask of a difusor's server (IEM 2024, OPLEV 2021): 20 GB free, 40 MB/s of SFTP upload. */
export const DEFAULT_REQUIREMENTS = { min_free_gb: 20, min_upload_mb_s: 40, probe_mb: 64 } as const;
export const DELIVERY_MODES = ['package', 'site', 'both'] as const;
export const DEFAULT_PUBLISH = { keep_releases: 0 } as const;
/** `public_list.blocked`: a blocked difusor listed as suspended (default), or left out of the list. */
export const PUBLIC_LIST_BLOCKED = ['suspend', 'remove'] as const;

const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `ssh-keygen -lf` prints SHA256 fingerprints as unpadded base64 of 32 bytes: 43 characters. */
const HOST_KEY_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** What each field must be, in words; used for every type or range error of that field. */
export const EXPECTED: Record<string, string> = {
  '': 'a mapping with institute, package and difusores (see the example difusores.yaml)',
  institute: "the institute's short name, e.g. IEM",
  timezone: 'an IANA timezone name such as America/Mexico_City',
  block_after_misses: 'a whole number of consecutive missed cuts, 1 or more',
  state_dir: 'a folder path (relative to the registry file)',
  max_future_minutes: 'a whole number of minutes, 0 or more',
  package: 'a mapping with name and format',
  'package.name': 'a file name template containing {cut}, e.g. "PREP2024_MICH_{cut}"',
  'package.format': 'tar.gz or zip',
  'package.delta': 'true or false (send difusores that run prep-apply only the files that changed)',
  signing_key: 'the path of an OpenSSH ed25519 private key (relative to the registry file)',
  signing_key_passphrase_env: 'the name of an environment variable, e.g. PREP_SIGNING_PASSPHRASE',
  push: 'a mapping with concurrency, connect_timeout_s, transfer_timeout_s and retries',
  'push.concurrency': 'a whole number from 1 to 256',
  'push.connect_timeout_s': 'a number of seconds greater than 0',
  'push.transfer_timeout_s': 'a number of seconds greater than 0',
  'push.retries': 'a whole number from 0 to 10',
  requirements: 'a mapping with min_free_gb, min_upload_mb_s and probe_mb',
  'requirements.min_free_gb': 'a number of gigabytes (10^9 bytes), 0 or more',
  'requirements.min_upload_mb_s': 'a number of megabytes (10^6 bytes) per second, 0 or more',
  'requirements.probe_mb': 'a number of megabytes (10^6 bytes) from 1 to 1024 to upload when probing',
  defaults: 'a mapping of difusor fields (any but id)',
  difusores: 'a list of difusores',
  difusor: 'a mapping with the fields of one difusor (id, host, host_key, ...)',
  'difusor.id': 'an id of lowercase letters, digits and dashes, e.g. el-sol',
  'difusor.name': 'a display name (a non-empty string)',
  'difusor.host': 'a host name or IP address',
  'difusor.port': 'a port number from 1 to 65535',
  'difusor.username': 'the SSH user name: lowercase letters, digits, "_" or "-", starting with a letter or "_" (at most 32)',
  'difusor.host_key': 'the pinned host key "SHA256:<base64>" as ssh-keygen -lf prints it',
  'difusor.remote_dir': "an absolute path on the difusor's server, e.g. /var/www/prep",
  'difusor.enabled': 'true or false',
  'difusor.private_key': 'the path of a private key file (relative to the registry file)',
  'difusor.private_key_passphrase_env': 'the name of an environment variable, e.g. PREP_KEY_PASSPHRASE',
  'difusor.password_env': 'the name of an environment variable, e.g. PREP_SFTP_PASSWORD',
  'difusor.url': 'the public address of its PREP publication, an absolute http(s) URL such as https://elsol.example/prep/',
  institute_name: "the institute's full name, e.g. Instituto Electoral de Michoacán",
  'difusor.contacts': 'a list of contacts, each {name, email, phone}',
  'difusor.contacts.name': "the contact's name",
  'difusor.contacts.email': 'an e-mail address, e.g. ana@elsol.example',
  'difusor.contacts.phone': 'a phone number as text, e.g. "+52 443 000 0000"',
  notify: 'a mapping with email, webhook, command and timeout_s (each optional)',
  'notify.email': 'a mapping with smtp, from, to and difusor_contacts',
  'notify.email.smtp': 'a mapping with host, port, tls, username and password_env',
  'notify.email.smtp.host': 'the SMTP server host name or IP address',
  'notify.email.smtp.port': 'a port number from 1 to 65535',
  'notify.email.smtp.tls': 'none, starttls or tls',
  'notify.email.smtp.username': 'the SMTP user name',
  'notify.email.smtp.password_env': 'the name of an environment variable, e.g. PREP_SMTP_PASSWORD',
  'notify.email.from': 'a sender address, e.g. "PREP IEM <prep@iem.example>"',
  'notify.email.to': 'a list of e-mail addresses that receive every event',
  'notify.email.difusor_contacts': 'true or false',
  'notify.webhook': 'a mapping with url',
  'notify.webhook.url': 'an http(s) URL that receives each event as a JSON POST',
  'notify.command': 'a command as a list of arguments, e.g. [/usr/local/bin/avisar]',
  'notify.timeout_s': 'a number of seconds greater than 0',
  public_list: 'a mapping with dir',
  'public_list.dir': 'a folder path (relative to the registry file)',
  notice: 'a mapping with template',
  'notice.template': 'the path of an HTML template file (relative to the registry file)',
  audit: 'a mapping with ca_file, counts_as_miss, sample, timeout_s, concurrency and max_requests',
  'audit.ca_file': 'the path of a PEM file of extra CA certificates (relative to the registry file)',
  'audit.counts_as_miss': 'true or false',
  'audit.sample': 'a whole number of files (0 or more) or "all"',
  'audit.timeout_s': 'a number of seconds greater than 0',
  'audit.concurrency': 'a whole number from 1 to 64',
  'audit.max_requests': 'a whole number from 1 to 1024',
  'difusor.apply_dir': "the absolute path of remote_dir on the difusor's own disk (where prep-apply runs), e.g. /srv/sftp/iem/prep",
  'difusor.apply_keep_releases': 'a whole number of releases prep-apply keeps, 0 = all',
  'difusor.delivery': 'package, site or both',
  publish: 'a mapping with keep_releases',
  'publish.keep_releases': 'a whole number of releases to keep on each difusor, 0 for all',
  timezone_label: 'the zone in Spanish words as people read it, e.g. "hora del centro de México" (the offset is added)',
  institute_url: "the address of the institute's own PREP site, an absolute http(s) URL such as https://prep.iem.example/",
  contact: "the institute's PREP desk: a mapping with name, email and phone",
  'contact.name': 'the name of the desk or person, e.g. Mesa del PREP',
  'contact.email': 'an e-mail address, e.g. mesa-prep@iem.example',
  'contact.phone': 'a phone number as text, e.g. "+52 443 322 1400"',
  'public_list.url': 'the address where the list is published, an absolute http(s) URL',
  'public_list.blocked': 'suspend (a blocked difusor is listed as suspended, without a link) or remove (left out of the list)',
  publication: 'a mapping with from and until (each optional)',
  'publication.from': 'an ISO 8601 time with its offset, e.g. 2024-06-02T20:00:00-06:00: before it, cut and push refuse unless --drill',
  'publication.until': 'an ISO 8601 time with its offset, e.g. 2024-06-03T20:00:00-06:00: after it, a cut warns',
  'difusor.logo': 'the path of a PNG, JPEG or SVG file of at most 256 KB (relative to the registry file)',
};

/** The EXPECTED key of a field path: difusores[3].port and defaults.port are both `difusor.port`. */
export function expectationKey(path: ReadonlyArray<string | number>): string {
  if (path[0] === 'defaults' && path.length >= 2) return `difusor.${String(path[1])}`;
  if (path[0] === 'difusores' && path.length === 2) return 'difusor';
  if (path[0] === 'difusores' && path.length >= 3) return `difusor.${namesOnly(path.slice(2))}`;
  return namesOnly(path);
}

/** `['notify', 'email', 'to', 1]` → `notify.email.to`: list positions share their field's expectation. */
function namesOnly(path: ReadonlyArray<string | number>): string {
  return path.filter((s) => typeof s === 'string').join('.');
}

/** A rule returns a sentence when the value breaks it, else null. */
type Rule<T> = (value: T) => string | null;

function withRules<T>(schema: z.ZodType<T>, rules: Rule<T>[]): z.ZodType<T> {
  return schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      const message = rule(value);
      if (message !== null) {
        ctx.addIssue({ code: 'custom', message });
        return;
      }
    }
  });
}

const notBlank: Rule<string> = (v) => (v.trim() === '' ? 'must not be empty' : null);

export const checkTimezone: Rule<string> = (v) => {
  try {
    assertTimeZone(v);
    return null;
  } catch {
    return `unknown timezone "${v}"; expected an IANA name such as America/Mexico_City (see \`timedatectl list-timezones\`)`;
  }
};

export const checkPackageName: Rule<string> = (v) => {
  if (/[/\\]/.test(v)) return `"${v}" contains a path separator; expected a plain file name such as PREP2024_MICH_{cut}`;
  if (v.includes('..')) return `"${v}" contains ".."; expected a plain file name such as PREP2024_MICH_{cut}`;
  if (/[\u0000-\u001f\u007f]/.test(v)) return `"${JSON.stringify(v).slice(1, -1)}" contains control characters; expected a plain file name`;
  if (v.startsWith('.') || v.startsWith('-')) return `"${v}" starts with "${v[0]}"; expected a name starting with a letter or digit`;
  const unknownPlaceholder = /\{(?!cut\})[^}]*\}/.exec(v);
  if (unknownPlaceholder) return `unknown placeholder ${unknownPlaceholder[0]} in "${v}"; only {cut} is replaced`;
  if (!v.includes('{cut}')) return `"${v}" has no {cut}; every cut needs its own package name, e.g. "${v}_{cut}"`;
  if (/\.(tar\.gz|tgz|zip)$/i.test(v)) return `"${v}" ends with an extension; drop it, package.format adds it`;
  // `<package>-aviso.tar.gz` is a notice package (src/notice/package.ts): prep-apply tells them by name.
  if (/-aviso$/i.test(v)) return `"${v}" ends with "-aviso", which marks notice packages; end it otherwise, e.g. "${v.replace(/-aviso$/i, '')}"`;
  return null;
};

/** `~` is a shell feature; a path starting with it would be taken literally. */
const noTilde: Rule<string> = (v) =>
  v.startsWith('~') ? `"${v}" starts with ~, which is not expanded here; write an absolute path or one relative to the registry file` : null;

export const checkId: Rule<string> = (v) =>
  ID_PATTERN.test(v) ? null : `"${v}" is not a valid id; expected lowercase letters, digits and dashes, starting with a letter or digit (e.g. el-sol)`;

export const checkHost: Rule<string> = (v) => {
  if (/\s/.test(v)) return `"${v}" contains spaces; expected a host name or IP address`;
  if (/^[^:]+:\d+$/.test(v)) return `"${v}" looks like HOST:PORT; put the host here and the port in port`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return `"${v}" is a URL; expected only the host name or IP address`;
  return null;
};

/** remote_dir and apply_dir are pasted into the kit's sh, sshd, nginx, Apache and systemd files. */
const SAFE_PATH_CHARACTERS = /^[A-Za-z0-9._/-]*$/;

export const checkRemoteDir: Rule<string> = (v) => {
  if (!v.startsWith('/')) return `"${v}" is not absolute; expected an absolute path on the difusor's server, e.g. /var/www/prep`;
  if (v.split('/').includes('..')) return `"${v}" contains a ".." segment; write the folder's real absolute path`;
  if (!SAFE_PATH_CHARACTERS.test(v)) {
    const shown = JSON.stringify(v).slice(1, -1);
    const offending = [...new Set([...v].filter((c) => !SAFE_PATH_CHARACTERS.test(c)))].map((c) => JSON.stringify(c)).join(' ');
    return `"${shown}" contains ${offending}; expected an absolute path of letters A-Z a-z, digits, ".", "_", "-" and "/" only (it is written into the kit's sh, sshd and web server files), e.g. /var/www/prep`;
  }
  return null;
};

/** What sshd's `Match User`, useradd and the kit's units accept as an account name. */
const USERNAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

export const checkUsername: Rule<string> = (v) =>
  USERNAME_PATTERN.test(v)
    ? null
    : `"${JSON.stringify(v).slice(1, -1)}" is not an account name the kit can use; expected 1 to 32 lowercase letters, digits, "_" or "-", starting with a lowercase letter or "_" (it is written into sshd's Match User and the set-up commands), e.g. iem`;

const checkEnvName: Rule<string> = (v) =>
  ENV_NAME_PATTERN.test(v)
    ? null
    : `"${v}" is not an environment variable name; expected letters, digits and _ (e.g. PREP_KEY_PASSPHRASE), the name of the variable and never the secret itself`;

/** A public web address: http or https, with a host, without user:password. */
export const checkUrl: Rule<string> = (v) => {
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `"${v}" is not a URL; expected an http(s) address such as https://elsol.example/prep/`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${v}" is not http or https; expected an address such as https://elsol.example/prep/`;
  if (url.hostname === '') return `"${v}" has no host; expected an address such as https://elsol.example/prep/`;
  if (url.username !== '' || url.password !== '') return `"${v}" contains a user or password; secrets never go in the registry`;
  return null;
};

const EMAIL_PATTERN = /^[^\s@<>(),;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export const checkEmail: Rule<string> = (v) =>
  EMAIL_PATTERN.test(v.trim()) ? null : `"${v}" is not an e-mail address; expected one such as ana@elsol.example`;

/** `prep@iem.example` or `PREP IEM <prep@iem.example>`. */
export const checkMailbox: Rule<string> = (v) => {
  const named = /^[^<>]*<([^<>]+)>\s*$/.exec(v);
  return checkEmail(named ? named[1] : v) === null ? null : `"${v}" is not an e-mail address; expected one such as prep@iem.example or "PREP IEM <prep@iem.example>"`;
};

/** Host keys are checked after merging defaults, so the message can name the difusor's HOST:PORT. */
export function checkHostKey(value: string, hostPort: string): string | null {
  if (HOST_KEY_PATTERN.test(value) || parsePinnedHostKey(value) !== undefined) return null;
  const keyscan = `get it with \`prep-push keyscan ${hostPort}\` and confirm it with the difusor`;
  const expected = 'expected "SHA256:<base64>" as ssh-keygen -lf prints it';
  let why = '';
  if (/^SHA256:[A-Za-z0-9+/]{43}=$/.test(value)) why = ' (drop the trailing "=")';
  else if (/^(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(value)) why = ' (that is an MD5 fingerprint)';
  else if (/^(ssh-|ecdsa-)\S+ AAAA/.test(value)) why = ' (that is the public key itself, not its fingerprint)';
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return `${expected}, got "${shown}"${why}; ${keyscan}`;
}

const nonEmpty = withRules(z.string(), [notBlank]);

const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A publication bound: ISO 8601 with its offset (a bare local time would depend on the machine's TZ). */
export const checkZonedTime: Rule<string> = (v) => {
  if (!ZONED_TIME.test(v) || Number.isNaN(Date.parse(v))) {
    return `"${v}" is not an ISO 8601 time with its offset; expected one such as 2024-06-02T20:00:00-06:00`;
  }
  return null;
};

/** A difusor's public address: a web address (checkUrl) of a folder, without query or fragment. */
export const checkPublicUrl: Rule<string> = (v) => {
  const problem = checkUrl(v);
  if (problem !== null) return problem;
  const url = new URL(v);
  if (url.search || url.hash) return `"${v}" has a query or fragment; expected the folder's address, e.g. https://elsol.example/prep/`;
  return null;
};

/** `https://a.example/prep` → `https://a.example/prep/`: the publication is a folder. */
export function normalizeUrl(v: string): string {
  const url = new URL(v);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
}

export const DEFAULT_AUDIT = { counts_as_miss: false, sample: 50, timeout_s: 60, concurrency: 8, max_requests: 64 } as const;

/** One difusor as written: every field optional here, because defaults may supply it. */
const difusorFields = {
  id: withRules(z.string(), [checkId]),
  name: nonEmpty.optional(),
  host: withRules(z.string(), [notBlank, checkHost]).optional(),
  port: z.number().int().safe().min(1).max(65535).optional(),
  username: withRules(z.string(), [notBlank, checkUsername]).optional(),
  host_key: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  remote_dir: withRules(z.string(), [checkRemoteDir]).optional(),
  enabled: z.boolean().optional(),
  private_key: withRules(z.string(), [notBlank, noTilde]).optional(),
  private_key_passphrase_env: withRules(z.string(), [checkEnvName]).optional(),
  password_env: withRules(z.string(), [checkEnvName]).optional(),
  url: withRules(z.string(), [checkPublicUrl]).optional(),
  contacts: z
    .array(
      z.strictObject({
        name: nonEmpty,
        email: withRules(z.string(), [checkEmail]).optional(),
        phone: nonEmpty.optional(),
      }),
    )
    .optional(),
  // For the difusor kit (src/kit): remote_dir as the difusor's own machine sees it, when a chroot
  // makes the two differ, and how many releases its prep-apply keeps.
  apply_dir: withRules(z.string(), [checkRemoteDir]).optional(),
  apply_keep_releases: z.number().int().safe().min(0).optional(),
  delivery: z.enum(DELIVERY_MODES).optional(),
  // The official public list (src/public): the difusor's logo, shown as its link (checked in registry/logo.ts).
  logo: withRules(z.string(), [notBlank, noTilde]).optional(),
};

export const DIFUSOR_FIELD_NAMES = Object.keys(difusorFields);

export const difusorEntrySchema = z.strictObject(difusorFields);

export const DEFAULT_NOTIFY_TIMEOUT_S = 10;
/** The SMTP port each tls mode usually listens on. */
export const DEFAULT_SMTP_PORT = { none: 25, starttls: 587, tls: 465 } as const;

const notifySchema = z.strictObject({
  email: z
    .strictObject({
      smtp: z.strictObject({
        host: withRules(z.string(), [notBlank, checkHost]),
        port: z.number().int().safe().min(1).max(65535).optional(),
        tls: z.enum(['none', 'starttls', 'tls']).default('starttls'),
        username: nonEmpty.optional(),
        password_env: withRules(z.string(), [checkEnvName]).optional(),
      }),
      from: withRules(z.string(), [checkMailbox]),
      to: z.array(withRules(z.string(), [checkMailbox])).default([]),
      difusor_contacts: z.boolean().default(false),
    })
    .optional(),
  webhook: z.strictObject({ url: withRules(z.string(), [checkUrl]) }).optional(),
  command: z.array(nonEmpty).min(1).optional(),
  timeout_s: z.number().finite().positive().default(DEFAULT_NOTIFY_TIMEOUT_S),
});
export const defaultsSchema = difusorEntrySchema.omit({ id: true });

export const registryFileSchema = z.strictObject({
  institute: nonEmpty,
  timezone: withRules(z.string(), [checkTimezone]).default(DEFAULT_TIMEZONE),
  block_after_misses: z.number().int().safe().min(1).default(DEFAULT_BLOCK_AFTER_MISSES),
  state_dir: withRules(z.string(), [notBlank, noTilde]).optional(),
  max_future_minutes: z.number().int().safe().min(0).default(DEFAULT_MAX_FUTURE_MINUTES),
  package: z.strictObject({
    name: withRules(z.string(), [checkPackageName]),
    format: z.enum(['tar.gz', 'zip']).default('tar.gz'),
    delta: z.boolean().default(false),
  }),
  signing_key: withRules(z.string(), [notBlank, noTilde]).optional(),
  signing_key_passphrase_env: withRules(z.string(), [checkEnvName]).optional(),
  push: z
    .strictObject({
      concurrency: z.number().int().safe().min(1).max(256).default(DEFAULT_PUSH.concurrency),
      connect_timeout_s: z.number().finite().positive().default(DEFAULT_PUSH.connect_timeout_s),
      transfer_timeout_s: z.number().finite().positive().default(DEFAULT_PUSH.transfer_timeout_s),
      retries: z.number().int().safe().min(0).max(10).default(DEFAULT_PUSH.retries),
    })
    .default({ ...DEFAULT_PUSH }),
  publish: z
    .strictObject({ keep_releases: z.number().int().safe().min(0).default(DEFAULT_PUBLISH.keep_releases) })
    .default({ ...DEFAULT_PUBLISH }),
  defaults: defaultsSchema.optional(),
  difusores: z.array(difusorEntrySchema).min(1),
  requirements: z
    .strictObject({
      min_free_gb: z.number().finite().min(0).default(DEFAULT_REQUIREMENTS.min_free_gb),
      min_upload_mb_s: z.number().finite().min(0).default(DEFAULT_REQUIREMENTS.min_upload_mb_s),
      probe_mb: z.number().finite().min(1).max(1024).default(DEFAULT_REQUIREMENTS.probe_mb),
    })
    .default({ ...DEFAULT_REQUIREMENTS }),
  institute_name: nonEmpty.optional(),
  notify: notifySchema.optional(),
  public_list: z
    .strictObject({
      dir: withRules(z.string(), [notBlank, noTilde]),
      url: withRules(z.string(), [checkUrl]).optional(),
      blocked: z.enum(PUBLIC_LIST_BLOCKED).optional(),
    })
    .optional(),
  notice: z.strictObject({ template: withRules(z.string(), [notBlank, noTilde]) }).optional(),
  audit: z
    .strictObject({
      ca_file: withRules(z.string(), [notBlank, noTilde]).optional(),
      counts_as_miss: z.boolean().default(DEFAULT_AUDIT.counts_as_miss),
      sample: z.union([z.number().int().safe().min(0), z.literal('all')]).default(DEFAULT_AUDIT.sample),
      timeout_s: z.number().finite().positive().default(DEFAULT_AUDIT.timeout_s),
      concurrency: z.number().int().safe().min(1).max(64).default(DEFAULT_AUDIT.concurrency),
      max_requests: z.number().int().safe().min(1).max(1024).default(DEFAULT_AUDIT.max_requests),
    })
    .optional(),
  // Public texts (src/words, src/notice) and the publication window (src/cut/publication-window.ts).
  timezone_label: nonEmpty.optional(),
  institute_url: withRules(z.string(), [checkUrl]).optional(),
  contact: z
    .strictObject({
      name: nonEmpty,
      email: withRules(z.string(), [checkEmail]).optional(),
      phone: nonEmpty.optional(),
    })
    .optional(),
  publication: z
    .strictObject({
      from: withRules(z.string(), [checkZonedTime]).optional(),
      until: withRules(z.string(), [checkZonedTime]).optional(),
    })
    .superRefine((value, ctx) => {
      const bothValid = value.from !== undefined && value.until !== undefined && checkZonedTime(value.from) === null && checkZonedTime(value.until) === null;
      if (bothValid && Date.parse(value.until!) <= Date.parse(value.from!)) {
        ctx.addIssue({ code: 'custom', path: ['until'], message: `"${value.until}" is not after from (${value.from}); until ends the window that from opens` });
      }
    })
    .optional(),
});

export type RegistryFile = z.output<typeof registryFileSchema>;
export type DifusorEntry = z.output<typeof difusorEntrySchema>;
export type DifusorFieldName = keyof typeof difusorFields;

/** The known keys of the mapping at a path, for "unknown field" messages. */
export function knownKeysAt(path: ReadonlyArray<string | number>): string[] {
  const key = expectationKey(path);
  if (key === '') return Object.keys(registryFileSchema.shape);
  if (key === 'package') return ['name', 'format', 'delta'];
  if (key === 'push') return Object.keys(DEFAULT_PUSH);
  if (key === 'requirements') return Object.keys(DEFAULT_REQUIREMENTS);
  if (key === 'audit') return ['ca_file', ...Object.keys(DEFAULT_AUDIT)];
  if (key === 'publish') return Object.keys(DEFAULT_PUBLISH);
  if (key === 'defaults') return DIFUSOR_FIELD_NAMES.filter((f) => f !== 'id');
  if (key in NESTED_KEYS) return NESTED_KEYS[key];
  return DIFUSOR_FIELD_NAMES;
}

/** Known keys of the nested mappings of notifications, notices and the public list. */
const NESTED_KEYS: Record<string, string[]> = {
  'difusor.contacts': ['name', 'email', 'phone'],
  notify: ['email', 'webhook', 'command', 'timeout_s'],
  'notify.email': ['smtp', 'from', 'to', 'difusor_contacts'],
  'notify.email.smtp': ['host', 'port', 'tls', 'username', 'password_env'],
  'notify.webhook': ['url'],
  public_list: ['dir', 'url', 'blocked'],
  contact: ['name', 'email', 'phone'],
  publication: ['from', 'until'],
  notice: ['template'],
};
