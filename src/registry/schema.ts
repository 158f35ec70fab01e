// The shape of difusores.yaml as written (snake_case, defaults not merged yet), as zod schemas,
// plus the rules that need a sentence of their own. Every object is strict: an unknown key is an
// error, because a misspelt `prot: 2222` silently ignored would push to the wrong port on election night.
import { z } from 'zod';

import { assertTimeZone } from '../core/cut.js';

export const DEFAULT_TIMEZONE = 'America/Mexico_City';
export const DEFAULT_BLOCK_AFTER_MISSES = 3;
export const DEFAULT_PORT = 22;
export const DEFAULT_PUSH = { concurrency: 16, connect_timeout_s: 15, transfer_timeout_s: 300, retries: 1 } as const;
export const DELIVERY_MODES = ['package', 'site', 'both'] as const;
export const DEFAULT_PUBLISH = { keep_releases: 0 } as const;

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
  package: 'a mapping with name and format',
  'package.name': 'a file name template containing {cut}, e.g. "PREP2024_MICH_{cut}"',
  'package.format': 'tar.gz or zip',
  push: 'a mapping with concurrency, connect_timeout_s, transfer_timeout_s and retries',
  'push.concurrency': 'a whole number from 1 to 256',
  'push.connect_timeout_s': 'a number of seconds greater than 0',
  'push.transfer_timeout_s': 'a number of seconds greater than 0',
  'push.retries': 'a whole number from 0 to 10',
  defaults: 'a mapping of difusor fields (any but id)',
  difusores: 'a list of difusores',
  difusor: 'a mapping with the fields of one difusor (id, host, host_key, ...)',
  'difusor.id': 'an id of lowercase letters, digits and dashes, e.g. el-sol',
  'difusor.name': 'a display name (a non-empty string)',
  'difusor.host': 'a host name or IP address',
  'difusor.port': 'a port number from 1 to 65535',
  'difusor.username': 'the SSH user name',
  'difusor.host_key': 'the pinned host key "SHA256:<base64>" as ssh-keygen -lf prints it',
  'difusor.remote_dir': "an absolute path on the difusor's server, e.g. /var/www/prep",
  'difusor.enabled': 'true or false',
  'difusor.private_key': 'the path of a private key file (relative to the registry file)',
  'difusor.private_key_passphrase_env': 'the name of an environment variable, e.g. PREP_KEY_PASSPHRASE',
  'difusor.password_env': 'the name of an environment variable, e.g. PREP_SFTP_PASSWORD',
  'difusor.delivery': 'package, site or both',
  publish: 'a mapping with keep_releases',
  'publish.keep_releases': 'a whole number of releases to keep on each difusor, 0 for all',
};

/** The EXPECTED key of a field path: difusores[3].port and defaults.port are both `difusor.port`. */
export function expectationKey(path: ReadonlyArray<string | number>): string {
  if (path[0] === 'defaults' && path.length >= 2) return `difusor.${String(path[1])}`;
  if (path[0] === 'difusores' && path.length === 2) return 'difusor';
  if (path[0] === 'difusores' && path.length >= 3) return `difusor.${String(path[2])}`;
  return path.join('.');
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

export const checkRemoteDir: Rule<string> = (v) => {
  if (!v.startsWith('/')) return `"${v}" is not absolute; expected an absolute path on the difusor's server, e.g. /var/www/prep`;
  if (v.split('/').includes('..')) return `"${v}" contains a ".." segment; write the folder's real absolute path`;
  if (v.includes('\\')) return `"${v}" contains a backslash; expected a POSIX path with / separators`;
  if (/[\u0000-\u001f]/.test(v)) return 'contains control characters; expected a plain absolute path';
  return null;
};

const checkEnvName: Rule<string> = (v) =>
  ENV_NAME_PATTERN.test(v)
    ? null
    : `"${v}" is not an environment variable name; expected letters, digits and _ (e.g. PREP_KEY_PASSPHRASE), the name of the variable and never the secret itself`;

/** Host keys are checked after merging defaults, so the message can name the difusor's HOST:PORT. */
export function checkHostKey(value: string, hostPort: string): string | null {
  if (HOST_KEY_PATTERN.test(value)) return null;
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

/** One difusor as written: every field optional here, because defaults may supply it. */
const difusorFields = {
  id: withRules(z.string(), [checkId]),
  name: nonEmpty.optional(),
  host: withRules(z.string(), [notBlank, checkHost]).optional(),
  port: z.int().min(1).max(65535).optional(),
  username: withRules(z.string(), [notBlank, (v) => (/\s/.test(v) ? `"${v}" contains spaces; expected an SSH user name` : null)]).optional(),
  host_key: z.string().optional(),
  remote_dir: withRules(z.string(), [checkRemoteDir]).optional(),
  enabled: z.boolean().optional(),
  private_key: withRules(z.string(), [notBlank, noTilde]).optional(),
  private_key_passphrase_env: withRules(z.string(), [checkEnvName]).optional(),
  password_env: withRules(z.string(), [checkEnvName]).optional(),
  delivery: z.enum(DELIVERY_MODES).optional(),
};

export const DIFUSOR_FIELD_NAMES = Object.keys(difusorFields);

export const difusorEntrySchema = z.strictObject(difusorFields);
export const defaultsSchema = difusorEntrySchema.omit({ id: true });

export const registryFileSchema = z.strictObject({
  institute: nonEmpty,
  timezone: withRules(z.string(), [checkTimezone]).default(DEFAULT_TIMEZONE),
  block_after_misses: z.int().min(1).default(DEFAULT_BLOCK_AFTER_MISSES),
  state_dir: withRules(z.string(), [notBlank, noTilde]).optional(),
  package: z.strictObject({
    name: withRules(z.string(), [checkPackageName]),
    format: z.enum(['tar.gz', 'zip']).default('tar.gz'),
  }),
  push: z
    .strictObject({
      concurrency: z.int().min(1).max(256).default(DEFAULT_PUSH.concurrency),
      connect_timeout_s: z.number().positive().default(DEFAULT_PUSH.connect_timeout_s),
      transfer_timeout_s: z.number().positive().default(DEFAULT_PUSH.transfer_timeout_s),
      retries: z.int().min(0).max(10).default(DEFAULT_PUSH.retries),
    })
    .default({ ...DEFAULT_PUSH }),
  publish: z
    .strictObject({ keep_releases: z.int().min(0).default(DEFAULT_PUBLISH.keep_releases) })
    .default({ ...DEFAULT_PUBLISH }),
  defaults: defaultsSchema.optional(),
  difusores: z.array(difusorEntrySchema).min(1),
});

export type RegistryFile = z.output<typeof registryFileSchema>;
export type DifusorEntry = z.output<typeof difusorEntrySchema>;
export type DifusorFieldName = keyof typeof difusorFields;

/** The known keys of the mapping at a path, for "unknown field" messages. */
export function knownKeysAt(path: ReadonlyArray<string | number>): string[] {
  const key = expectationKey(path);
  if (key === '') return Object.keys(registryFileSchema.shape);
  if (key === 'package') return ['name', 'format'];
  if (key === 'push') return Object.keys(DEFAULT_PUSH);
  if (key === 'publish') return Object.keys(DEFAULT_PUBLISH);
  if (key === 'defaults') return DIFUSOR_FIELD_NAMES.filter((f) => f !== 'id');
  return DIFUSOR_FIELD_NAMES;
}
