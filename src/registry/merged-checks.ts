// What only makes sense after merging `defaults` into each difusor: required fields, host keys, key
// files read from disk, a way to log in, unique ids and destinations, notifications and the notice.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';

import { keyProblemMessage, readPrivateKey, readSigningKey } from './keys.js';
import { type RegistrySource } from './load.js';
import { locateField, type FieldPath } from './locate.js';
import { checkHostKey, DEFAULT_PORT, EXPECTED, type DifusorFieldName } from './schema.js';
import type { Registry } from './types.js';
import { unknownPlaceholders, NOTICE_PLACEHOLDERS } from './notice-placeholders.js';

import { ProblemList } from './problems.js';
import { isMapping, valueAt } from './schema-issues.js';
import { hostKeyEntries } from './build.js';
import { readLogo } from './logo.js';

export interface DifusorContext {
  source: RegistrySource;
  problems: ProblemList;
  env: NodeJS.ProcessEnv;
  registryDir: string;
  /** Each key file is read once, however many difusores use it. */
  keyFiles: Map<string, Promise<Buffer | NodeJS.ErrnoException>>;
  /** False for a command that never connects: private_key files are not read (RegistryDeps.checkLoginKeys). */
  checkLoginKeys: boolean;
  /** JSON field paths that already have a problem: not checked again after merging. */
  badFields: Set<string>;
  defaults: Record<string, unknown>;
}

/** Where a difusor's field comes from after merging: its own entry or `defaults`. */
export interface MergedField {
  from: 'own' | 'defaults';
  value: unknown;
  /** False when the value already has a reported problem (wrong type, bad format...). */
  valid: boolean;
}

export async function checkMergedDifusor(ctx: DifusorContext, index: number, entry: Record<string, unknown>): Promise<void> {
  const field = (name: DifusorFieldName): MergedField | undefined => {
    if (name in entry) return { from: 'own', value: entry[name], valid: !ctx.badFields.has(JSON.stringify(['difusores', index, name])) };
    if (name in ctx.defaults) {
      return { from: 'defaults', value: ctx.defaults[name], valid: !ctx.badFields.has(JSON.stringify(['defaults', name])) };
    }
    return undefined;
  };
  const idField = field('id');
  const label = idField?.valid ? `difusores[${index}] "${String(idField.value)}"` : `difusores[${index}]`;
  const report = (name: DifusorFieldName, merged: MergedField, message: string) => {
    if (merged.from === 'defaults') ctx.problems.addFromDefaults(name, label, message);
    else ctx.problems.add(locateField(ctx.source, ['difusores', index, name]), ['difusores', index, name], message);
  };
  const validString = (merged: MergedField | undefined): string | undefined =>
    merged?.valid && typeof merged.value === 'string' ? merged.value : undefined;

  // For the keyscan hint: the difusor's own HOST:PORT when both are usable.
  const host = validString(field('host'));
  const portField = field('port');
  const port = portField?.valid && typeof portField.value === 'number' ? portField.value : DEFAULT_PORT;
  const hostPort = host === undefined ? 'HOST:PORT' : `${host.includes(':') ? `[${host}]` : host}:${port}`;

  for (const name of ['host', 'username', 'remote_dir', 'host_key'] as const) {
    if (field(name) !== undefined) continue;
    const path = ['difusores', index, name];
    const what =
      name === 'host_key'
        ? `${EXPECTED['difusor.host_key']}; get it with \`prep-push keyscan ${hostPort}\` and confirm it with the difusor`
        : `${EXPECTED[`difusor.${name}`]}; set it in the difusor or in defaults`;
    ctx.problems.add(locateField(ctx.source, path), path, `required: ${what}`);
  }

  const hostKey = field('host_key');
  const hostKeyValues = hostKey?.valid ? hostKeyEntries(hostKey.value) : undefined;
  if (hostKey && hostKeyValues !== undefined) {
    hostKeyValues.forEach((value, i) => {
      const message = checkHostKey(value, hostPort);
      if (message) report('host_key', hostKey, hostKeyValues.length > 1 || Array.isArray(hostKey.value) ? `entry ${i + 1}: ${message}` : message);
    });
  }

  const passwordEnv = field('password_env');
  const passwordVariable = validString(passwordEnv);
  if (passwordEnv && passwordVariable !== undefined && !ctx.env[passwordVariable]) {
    report(
      'password_env',
      passwordEnv,
      `the environment variable ${passwordVariable} is not set; set it to the SFTP password where prep-push runs (a cron job does not see your login shell's variables)`,
    );
  }

  const privateKey = field('private_key');
  const passphraseEnv = field('private_key_passphrase_env');
  const keyPath = validString(privateKey);
  if (privateKey && keyPath !== undefined) {
    if (ctx.checkLoginKeys) await checkPrivateKey(ctx, resolve(ctx.registryDir, keyPath), privateKey, passphraseEnv, report);
  } else if (!privateKey && passphraseEnv?.valid) {
    report('private_key_passphrase_env', passphraseEnv, 'names a key passphrase, but this difusor has no private_key; add private_key or remove this field');
  }

  const logo = field('logo');
  const logoPath = validString(logo);
  if (logo && logoPath !== undefined) {
    const verdict = await readLogo(resolve(ctx.registryDir, logoPath));
    if (!verdict.ok) report('logo', logo, `logo ${verdict.problem}`);
  }

  if (!privateKey && !passwordEnv && !ctx.env.SSH_AUTH_SOCK) {
    const path = ['difusores', index];
    ctx.problems.add(
      locateField(ctx.source, path),
      path,
      'no way to log in: set private_key (here or in defaults), or password_env naming a variable that is set, or run prep-push with an ssh-agent (SSH_AUTH_SOCK)',
    );
  }
}

export type Reporter = (name: DifusorFieldName, merged: MergedField, message: string) => void;

export async function checkPrivateKey(
  ctx: DifusorContext,
  keyPath: string,
  privateKey: MergedField,
  passphraseEnv: MergedField | undefined,
  report: Reporter,
): Promise<void> {
  let pending = ctx.keyFiles.get(keyPath);
  if (!pending) {
    pending = readFile(keyPath).catch((error: NodeJS.ErrnoException) => error);
    ctx.keyFiles.set(keyPath, pending);
  }
  const data = await pending;
  if (!Buffer.isBuffer(data)) {
    report('private_key', privateKey, keyFileReadMessage(keyPath, data));
    return;
  }
  const verdict = readPrivateKey(data);
  if (verdict.kind === 'public' || verdict.kind === 'unparseable') {
    report('private_key', privateKey, keyProblemMessage(verdict, keyPath, 'private_key'));
  } else if (verdict.kind === 'wrong-passphrase') {
    report('private_key', privateKey, keyProblemMessage({ kind: 'unparseable', detail: verdict.detail }, keyPath, 'private_key'));
  } else if (verdict.kind === 'encrypted') {
    if (!passphraseEnv) {
      report('private_key', privateKey, keyProblemMessage(verdict, keyPath, 'private_key'));
      return;
    }
    const variable = passphraseEnv.valid && typeof passphraseEnv.value === 'string' ? passphraseEnv.value : undefined;
    if (variable === undefined) return;
    const passphrase = ctx.env[variable];
    if (!passphrase) {
      report(
        'private_key_passphrase_env',
        passphraseEnv,
        `the environment variable ${variable} is not set, and the key ${keyPath} needs its passphrase; set ${variable} where prep-push runs (a cron job does not see your login shell's variables)`,
      );
      return;
    }
    const decrypted = readPrivateKey(data, passphrase);
    if (decrypted.kind !== 'ok') {
      const detail = decrypted.kind === 'wrong-passphrase' || decrypted.kind === 'unparseable' ? decrypted.detail : decrypted.kind;
      report('private_key_passphrase_env', passphraseEnv, keyProblemMessage({ kind: 'wrong-passphrase', detail }, keyPath, 'private_key', variable));
    }
  }
}

/**
 * The institute's signing key must be an ed25519 private key that opens with the passphrase the
 * environment holds: found now, not when the first package is signed.
 */
export async function checkSigningKey(ctx: DifusorContext, raw: Record<string, unknown>): Promise<void> {
  const keyPath = raw.signing_key;
  const envName = raw.signing_key_passphrase_env;
  const usable = (field: string) => !ctx.badFields.has(JSON.stringify([field]));
  if (typeof envName === 'string' && keyPath === undefined && usable('signing_key_passphrase_env')) {
    const path = ['signing_key_passphrase_env'];
    ctx.problems.add(locateField(ctx.source, path), path, 'names a passphrase, but there is no signing_key; add signing_key or remove this field');
    return;
  }
  if (typeof keyPath !== 'string' || !usable('signing_key')) return;
  const absolute = resolve(ctx.registryDir, keyPath);
  const at = ['signing_key'];
  let data: Buffer;
  try {
    data = await readFile(absolute);
  } catch (error) {
    ctx.problems.add(locateField(ctx.source, at), at, keyFileReadMessage(absolute, error as NodeJS.ErrnoException, 'signing_key'));
    return;
  }
  const passphrase = typeof envName === 'string' ? ctx.env[envName] : undefined;
  const problem = readSigningKey(data, passphrase);
  if (problem.kind === 'ok') return;
  const variable = typeof envName === 'string' ? envName : undefined;
  // A wrong passphrase is the variable's fault: the problem is reported at that field.
  const where = problem.kind === 'wrong-passphrase' ? ['signing_key_passphrase_env'] : at;
  ctx.problems.add(locateField(ctx.source, where), where, keyProblemMessage(problem, absolute, 'signing_key', variable));
}

export function keyFileReadMessage(keyPath: string, error: NodeJS.ErrnoException, field: 'private_key' | 'signing_key' = 'private_key'): string {
  if (error.code === 'ENOENT') {
    const where = `key file ${keyPath} does not exist (relative paths start at the registry file's folder)`;
    // A new login key would be refused by every difusor; a new signing key only needs new kits.
    return field === 'private_key'
      ? `${where}; point private_key at the key whose public half the difusores authorised (a newly generated key would be refused by every one of them until each installs it)`
      : `${where}; fix the path, or create the key with \`ssh-keygen -t ed25519 -f ${keyPath}\``;
  }
  if (error.code === 'EISDIR') return `${keyPath} is a folder; expected a private key file`;
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return `cannot read ${keyPath} (permission denied); make it readable by the user running prep-push (chmod 600, owned by that user)`;
  }
  return `cannot read ${keyPath} (${error.code ?? error.message})`;
}

/**
 * What only the environment and the disk can tell about notifications and the notice: the SMTP
 * password variable is set, the template exists and uses only known placeholders. Returns the
 * template's text (undefined without a usable template).
 */
export async function checkNotifyAndNotice(ctx: DifusorContext, raw: unknown): Promise<string | undefined> {
  const usable = (path: FieldPath): string | undefined => {
    const { present, value } = valueAt(raw, path);
    return present && typeof value === 'string' && !ctx.badFields.has(JSON.stringify(path)) ? value : undefined;
  };
  const passwordPath = ['notify', 'email', 'smtp', 'password_env'];
  const variable = usable(passwordPath);
  if (variable !== undefined && !ctx.env[variable]) {
    ctx.problems.add(
      locateField(ctx.source, passwordPath),
      passwordPath,
      `the environment variable ${variable} is not set; set it to the SMTP password where prep-push runs (a cron job does not see your login shell's variables)`,
    );
  }
  const templatePath = ['notice', 'template'];
  const template = usable(templatePath);
  if (template === undefined) return undefined;
  const file = resolve(ctx.registryDir, template);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist (relative paths start at the registry file\'s folder)' : `cannot be read (${code ?? String(error)})`;
    ctx.problems.add(locateField(ctx.source, templatePath), templatePath, `notice template ${file} ${why}; fix the path or remove notice to use the built-in Spanish notice`);
    return undefined;
  }
  const unknown = unknownPlaceholders(text);
  if (unknown.length > 0) {
    const names = unknown.map((n) => `{{${n}}}`).join(', ');
    ctx.problems.add(
      locateField(ctx.source, templatePath),
      templatePath,
      `notice template ${file} uses unknown placeholder${unknown.length > 1 ? 's' : ''} ${names}; known: ${NOTICE_PLACEHOLDERS.map((n) => `{{${n}}}`).join(', ')}`,
    );
    return undefined;
  }
  return text;
}

export function checkUniqueIds(ctx: DifusorContext, entries: unknown[]): void {
  const ids = entries.map((entry, index) =>
    isMapping(entry) && typeof entry.id === 'string' && !ctx.badFields.has(JSON.stringify(['difusores', index, 'id']))
      ? entry.id
      : undefined,
  );
  reportRepeats(ctx, ids, (index, first, firstLine) => `"${ids[index]}" is already the id of difusores[${first}] (line ${firstLine}); ids must be unique`);
}

/**
 * Two enabled entries delivering into the same folder of the same server (after defaults are merged)
 * would race on LATEST and double the transfer: almost surely a copy-paste slip.
 */
export function checkDistinctDestinations(ctx: DifusorContext, difusores: Registry['difusores']): void {
  reportRepeats(
    ctx,
    difusores.map((d) => (d.enabled ? `${d.host.toLowerCase()}:${d.port}:${d.remoteDir.replace(/\/+$/, '')}` : undefined)),
    (index, first, firstLine) => {
      const d = difusores[index];
      return (
        `"${d.id}" delivers to the same place as difusores[${first}] "${difusores[first].id}" (line ${firstLine}): ` +
        `${d.host}:${d.port} ${d.remoteDir}; the two would overwrite each other's LATEST — remove the duplicate or give each its own remote_dir`
      );
    },
  );
}

/** Site mode publishes from the stored tar.gz (extracted in the state dir); a zip cannot feed it. */
export function checkSitePackageFormat(ctx: DifusorContext, registry: Registry): void {
  if (registry.package.format !== 'zip') return;
  const site = registry.difusores.filter((d) => d.delivery === 'site' || d.delivery === 'both').map((d) => d.id);
  if (site.length === 0) return;
  const path = ['package', 'format'];
  ctx.problems.add(
    locateField(ctx.source, path),
    path,
    `zip cannot feed delivery: site (used by ${site.join(', ')}); site mode publishes from tar.gz packages — set format: tar.gz, or delivery: package for them`,
  );
}

/**
 * For every difusor whose key (undefined: not compared) an earlier one already had, a problem at
 * its `id` that names the first one and its line.
 */
export function reportRepeats(
  ctx: DifusorContext,
  keys: Array<string | undefined>,
  message: (index: number, first: number, firstLine: number) => string,
): void {
  const firstIndexOf = new Map<string, number>();
  keys.forEach((key, index) => {
    if (key === undefined) return;
    const first = firstIndexOf.get(key);
    if (first === undefined) {
      firstIndexOf.set(key, index);
      return;
    }
    const firstLine = locateField(ctx.source, ['difusores', first, 'id']).line;
    const path = ['difusores', index, 'id'];
    ctx.problems.add(locateField(ctx.source, path), path, message(index, first, firstLine));
  });
}
