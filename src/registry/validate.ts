// Validating difusores.yaml: every problem of the file at once, in file order, each as
// FILE:LINE:COL: path.to.field: message — then the Registry the rest of prep-push consumes.
// Order: YAML syntax (load.ts) → shape and per-field rules (schema.ts, zod) → what only makes
// sense after merging defaults into each difusor (required fields, host keys, key files, a way
// to log in) → unique ids.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { closestName } from '../core/did-you-mean.js';
import { PrepPushError } from '../core/errors.js';
import { keyProblemMessage, readPrivateKey, readSigningKey } from './keys.js';
import { firstSyntaxError, parseRegistryYaml, readRegistryText, type RegistrySource } from './load.js';
import { fieldAtOffset, firstLineOfKey, formatFieldPath, locateField, type FieldPath, type Position } from './locate.js';
import {
  checkHostKey,
  DEFAULT_PORT,
  DEFAULT_SMTP_PORT,
  EXPECTED,
  expectationKey,
  knownKeysAt,
  normalizeUrl,
  registryFileSchema,
  type DifusorFieldName,
  type RegistryFile,
} from './schema.js';
import type { Difusor, Registry } from './types.js';
import { unknownPlaceholders, NOTICE_PLACEHOLDERS } from './notice-placeholders.js';
import { parsePinnedHostKey } from './host-key.js';
import type { PinnedHostKey } from './types.js';

export interface RegistryProblem {
  /** The registry path as the user gave it. */
  file: string;
  line: number;
  col: number;
  /** `difusores[2].host_key`, or `defaults.private_key (used by difusores[2] "el-sol")`. */
  path: string;
  message: string;
}

export interface RegistryDeps {
  /** The environment prep-push runs in: passphrase and password variables, SSH_AUTH_SOCK. */
  env: NodeJS.ProcessEnv;
  /** How to name the file in messages (the path as the user typed it); default: filePath. */
  displayPath?: string;
}

export interface RegistryValidation {
  registry: Registry | null;
  problems: RegistryProblem[];
}

export function formatProblem(p: RegistryProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`;
}

/** Every problem of the file, and the Registry when there are none. Never throws for a bad file. */
export async function validateRegistry(filePath: string, deps: RegistryDeps): Promise<RegistryValidation> {
  const file = deps.displayPath ?? filePath;
  const absoluteFile = resolve(filePath);
  const text = await readRegistryText(absoluteFile);
  if (!text.ok) {
    return { registry: null, problems: [{ file, line: 1, col: 1, path: '(file)', message: text.message }] };
  }
  const { source, errors } = parseRegistryYaml(text.text);
  const problems = new ProblemList(file, source);

  // A syntax error is reported once, at the line to fix, and alone: what the parser built around it
  // (and its further complaints) would only point elsewhere.
  const syntax = firstSyntaxError(text.text, errors);
  if (syntax !== null) {
    problems.addLabelled(source.lineCounter.linePos(syntax.offset), 'YAML syntax error', syntax.message);
    return { registry: null, problems: problems.sorted() };
  }
  for (const error of errors) {
    const path = fieldAtOffset(source, error.offset);
    const at = source.lineCounter.linePos(error.offset);
    if (error.code === 'DUPLICATE_KEY' && path.length > 0) {
      const key = String(path[path.length - 1]);
      const firstLine = firstLineOfKey(source, path.slice(0, -1), key);
      const first = firstLine === undefined ? '' : ` (first at line ${firstLine})`;
      problems.add(at, path, `"${key}" appears twice${first}; keep one, YAML would silently use the last`);
    } else {
      problems.add(at, path, `YAML syntax error: ${error.message}`);
    }
  }

  let raw: unknown;
  try {
    raw = source.doc.toJS();
  } catch (error) {
    problems.add({ line: 1, col: 1 }, [], `cannot read the YAML: ${(error as Error).message}`);
    return { registry: null, problems: problems.sorted() };
  }

  const parsed = registryFileSchema.safeParse(raw);
  const badFields = new Set<string>();
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.add(locateField(source, [...path, key], 'key'), [...path, key], unknownKeyMessage(path, key));
      }
      continue;
    }
    badFields.add(JSON.stringify(path));
    const message = issue.code === 'custom' ? issue.message : expectationMessage(raw, path, issue.code);
    problems.add(locateField(source, path), path, message);
  }

  const context: DifusorContext = {
    source,
    problems,
    env: deps.env,
    registryDir: dirname(absoluteFile),
    keyFiles: new Map(),
    badFields,
    defaults: isMapping(raw) && isMapping(raw.defaults) ? raw.defaults : {},
  };
  const entries = isMapping(raw) && Array.isArray(raw.difusores) ? raw.difusores : [];
  for (const [index, entry] of entries.entries()) {
    if (isMapping(entry)) await checkMergedDifusor(context, index, entry);
  }
  checkUniqueIds(context, entries);
  const noticeHtml = await checkNotifyAndNotice(context, raw);
  if (isMapping(raw)) await checkSigningKey(context, raw);

  const found = problems.sorted();
  if (found.length > 0 || !parsed.success) return { registry: null, problems: found };
  const registry = buildRegistry(parsed.data, absoluteFile);
  addPeopleAndPublic(registry, parsed.data, noticeHtml);
  checkDistinctDestinations(context, registry.difusores);
  checkSitePackageFormat(context, registry);
  const clashes = problems.sorted();
  return clashes.length > 0 ? { registry: null, problems: clashes } : { registry, problems: [] };
}

/**
 * Two enabled entries delivering into the same folder of the same server (after defaults are merged)
 * would race on LATEST and double the transfer: almost surely a copy-paste slip.
 */
function checkDistinctDestinations(ctx: DifusorContext, difusores: Registry['difusores']): void {
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
function checkSitePackageFormat(ctx: DifusorContext, registry: Registry): void {
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
function reportRepeats(
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

/** The validated Registry, or a PrepPushError (exit 2) listing every problem as a formatted line. */
export async function loadRegistry(filePath: string, deps: RegistryDeps): Promise<Registry> {
  const { registry, problems } = await validateRegistry(filePath, deps);
  if (registry) return registry;
  const file = deps.displayPath ?? filePath;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  throw new PrepPushError('registry', `${file}: ${count} in the registry`, {
    details: problems.map(formatProblem),
    hint: `fix ${problems.length === 1 ? 'it' : 'them'} and check again with \`prep-push validate\`; nothing was pushed`,
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * Collects problems. Those caused by a value merged in from `defaults` are reported once at the
 * defaults' line, naming every difusor that uses it, instead of once per difusor.
 */
class ProblemList {
  private readonly own: { at: Position; path: string; message: string }[] = [];
  private readonly fromDefaults = new Map<string, { at: Position; path: string; message: string; users: string[] }>();

  constructor(
    private readonly file: string,
    private readonly source: RegistrySource,
  ) {}

  add(at: Position, path: FieldPath, message: string): void {
    this.own.push({ at, path: formatFieldPath(path), message });
  }

  /** A problem that belongs to no field (a YAML syntax error): `label` stands where the path would. */
  addLabelled(at: Position, label: string, message: string): void {
    this.own.push({ at, path: label, message });
  }

  addFromDefaults(field: string, user: string, message: string): void {
    const key = `${field}\u0000${message}`;
    const known = this.fromDefaults.get(key);
    if (known) {
      known.users.push(user);
      return;
    }
    const path = ['defaults', field];
    this.fromDefaults.set(key, { at: locateField(this.source, path), path: formatFieldPath(path), message, users: [user] });
  }

  sorted(): RegistryProblem[] {
    const merged = [...this.fromDefaults.values()].map(({ at, path, message, users }) => {
      const named = users.length <= 3 ? users.join(', ') : `${users.slice(0, 3).join(', ')} and ${users.length - 3} more`;
      return { at, path: `${path} (used by ${named})`, message };
    });
    return [...this.own, ...merged]
      .map(({ at, path, message }) => ({ file: this.file, line: at.line, col: at.col, path, message }))
      .sort((a, b) => a.line - b.line || a.col - b.col);
  }
}

interface DifusorContext {
  source: RegistrySource;
  problems: ProblemList;
  env: NodeJS.ProcessEnv;
  registryDir: string;
  /** Each key file is read once, however many difusores use it. */
  keyFiles: Map<string, Promise<Buffer | NodeJS.ErrnoException>>;
  /** JSON field paths that already have a problem: not checked again after merging. */
  badFields: Set<string>;
  defaults: Record<string, unknown>;
}

/** Where a difusor's field comes from after merging: its own entry or `defaults`. */
interface MergedField {
  from: 'own' | 'defaults';
  value: unknown;
  /** False when the value already has a reported problem (wrong type, bad format...). */
  valid: boolean;
}

async function checkMergedDifusor(ctx: DifusorContext, index: number, entry: Record<string, unknown>): Promise<void> {
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
    await checkPrivateKey(ctx, resolve(ctx.registryDir, keyPath), privateKey, passphraseEnv, report);
  } else if (!privateKey && passphraseEnv?.valid) {
    report('private_key_passphrase_env', passphraseEnv, 'names a key passphrase, but this difusor has no private_key; add private_key or remove this field');
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

type Reporter = (name: DifusorFieldName, merged: MergedField, message: string) => void;

async function checkPrivateKey(
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
async function checkSigningKey(ctx: DifusorContext, raw: Record<string, unknown>): Promise<void> {
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

function keyFileReadMessage(keyPath: string, error: NodeJS.ErrnoException, field: 'private_key' | 'signing_key' = 'private_key'): string {
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
async function checkNotifyAndNotice(ctx: DifusorContext, raw: unknown): Promise<string | undefined> {
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

/** The registry fields of notifications, notices and the public list (see CONTRACT "People and the public"). */
function addPeopleAndPublic(registry: Registry, data: RegistryFile, noticeHtml: string | undefined): void {
  const registryDir = dirname(registry.file);
  const defaults = data.defaults ?? {};
  data.difusores.forEach((entry, index) => {
    const url = entry.url ?? defaults.url;
    const contacts = entry.contacts ?? defaults.contacts;
    if (url !== undefined) registry.difusores[index].url = normalizeUrl(url);
    if (contacts !== undefined) registry.difusores[index].contacts = contacts.map((c) => ({ ...c }));
  });
  if (data.institute_name !== undefined) registry.instituteName = data.institute_name;
  if (data.notify !== undefined) {
    const n = data.notify;
    registry.notify = { timeoutS: n.timeout_s };
    if (n.email !== undefined) {
      const smtp = n.email.smtp;
      registry.notify.email = {
        smtp: { host: smtp.host, port: smtp.port ?? DEFAULT_SMTP_PORT[smtp.tls], tls: smtp.tls },
        from: n.email.from,
        to: [...n.email.to],
        difusorContacts: n.email.difusor_contacts,
      };
      if (smtp.username !== undefined) registry.notify.email.smtp.username = smtp.username;
      if (smtp.password_env !== undefined) registry.notify.email.smtp.passwordEnv = smtp.password_env;
    }
    if (n.webhook !== undefined) registry.notify.webhook = { url: n.webhook.url };
    if (n.command !== undefined) registry.notify.command = [...n.command];
  }
  if (data.public_list !== undefined) registry.publicList = { dir: resolve(registryDir, data.public_list.dir) };
  if (data.notice !== undefined && noticeHtml !== undefined) {
    registry.notice = { template: resolve(registryDir, data.notice.template), html: noticeHtml };
  }
}

function checkUniqueIds(ctx: DifusorContext, entries: unknown[]): void {
  const ids = entries.map((entry, index) =>
    isMapping(entry) && typeof entry.id === 'string' && !ctx.badFields.has(JSON.stringify(['difusores', index, 'id']))
      ? entry.id
      : undefined,
  );
  reportRepeats(ctx, ids, (index, first, firstLine) => `"${ids[index]}" is already the id of difusores[${first}] (line ${firstLine}); ids must be unique`);
}

function buildRegistry(data: RegistryFile, absoluteFile: string): Registry {
  const registryDir = dirname(absoluteFile);
  const defaults = data.defaults ?? {};
  const difusores = data.difusores.map((entry): Difusor => {
    // Only fields actually written override: an absent optional must not erase a default.
    const merged = { ...defaults };
    for (const [key, value] of Object.entries(entry)) if (value !== undefined) Object.assign(merged, { [key]: value });
    const m = merged as typeof defaults & { id: string };
    const difusor: Difusor = {
      id: m.id,
      name: m.name ?? m.id,
      // Presence of these four was checked after merging; validation fails before this otherwise.
      host: m.host as string,
      port: m.port ?? DEFAULT_PORT,
      username: m.username as string,
      hostKey: pinsOf(m.host_key)[0].fingerprint,
      remoteDir: m.remote_dir as string,
      enabled: m.enabled ?? true,
    };
    // A list, or an entry that names its type: every pin kept (a plain fingerprint is just hostKey).
    if (Array.isArray(m.host_key) || pinsOf(m.host_key)[0].type !== undefined) difusor.hostKeys = pinsOf(m.host_key);
    if (m.private_key !== undefined) difusor.privateKey = resolve(registryDir, m.private_key);
    if (m.private_key_passphrase_env !== undefined) difusor.privateKeyPassphraseEnv = m.private_key_passphrase_env;
    if (m.password_env !== undefined) difusor.passwordEnv = m.password_env;
    if (m.url !== undefined) difusor.url = normalizeUrl(m.url);
    if (m.apply_dir !== undefined) difusor.applyDir = m.apply_dir;
    if (m.apply_keep_releases !== undefined) difusor.applyKeepReleases = m.apply_keep_releases;
    if (m.delivery !== undefined) difusor.delivery = m.delivery;
    return difusor;
  });
  const registry: Registry = {
    file: absoluteFile,
    institute: data.institute,
    timezone: data.timezone,
    blockAfterMisses: data.block_after_misses,
    package: { name: data.package.name, format: data.package.format },
    push: {
      concurrency: data.push.concurrency,
      connectTimeoutS: data.push.connect_timeout_s,
      transferTimeoutS: data.push.transfer_timeout_s,
      retries: data.push.retries,
    },
    publish: { keepReleases: data.publish.keep_releases },
    difusores,
    requirements: {
      minFreeGb: data.requirements.min_free_gb,
      minUploadMbS: data.requirements.min_upload_mb_s,
      probeMb: data.requirements.probe_mb,
    },
  };
  if (data.state_dir !== undefined) registry.stateDir = resolve(registryDir, data.state_dir);
  registry.maxFutureMinutes = data.max_future_minutes;
  if (data.audit !== undefined) {
    registry.audit = {
      countsAsMiss: data.audit.counts_as_miss,
      sample: data.audit.sample,
      timeoutS: data.audit.timeout_s,
      concurrency: data.audit.concurrency,
      maxRequests: data.audit.max_requests,
    };
    if (data.audit.ca_file !== undefined) registry.audit.caFile = resolve(registryDir, data.audit.ca_file);
  }
  if (data.package.delta) registry.package.delta = true;
  if (data.signing_key !== undefined) {
    registry.signing = { keyPath: resolve(registryDir, data.signing_key) };
    if (data.signing_key_passphrase_env !== undefined) registry.signing.passphraseEnv = data.signing_key_passphrase_env;
  }
  return registry;
}

// ---------------------------------------------------------------------------------------------

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(raw: unknown, path: FieldPath): { present: boolean; value: unknown } {
  let node: unknown = raw;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number' && segment < node.length) node = node[segment];
    else if (isMapping(node) && String(segment) in node) node = node[String(segment)];
    else return { present: false, value: undefined };
  }
  return { present: true, value: node };
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

function expectationMessage(raw: unknown, path: FieldPath, code: string): string {
  const key = expectationKey(path);
  const expected = EXPECTED[key] ?? 'a different value';
  const { present, value } = valueAt(raw, path);
  if (key === 'difusores' && code === 'too_small') return 'the list is empty; expected at least one difusor';
  if (!present) return `required: ${expected}`;
  return `expected ${expected}, got ${describeValue(value)}`;
}

function unknownKeyMessage(mapPath: FieldPath, key: string): string {
  if (mapPath.length === 1 && mapPath[0] === 'defaults' && key === 'id') {
    return 'id cannot be set in defaults; each difusor has its own';
  }
  if (key === '<<') return 'YAML merge keys (<<) are not supported; put shared fields in defaults';
  const known = knownKeysAt(mapPath);
  const suggestion = closestName(key, known);
  const hint = suggestion ? `did you mean "${suggestion}"? ` : '';
  return `unknown field "${key}"; ${hint}expected one of: ${known.join(', ')}`;
}
/** `host_key` as written: one entry, or a list (rotation, several key types). */
function hostKeyEntries(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/** The validated `host_key` entries as pins (validation refused anything unparsable before this). */
function pinsOf(value: unknown): PinnedHostKey[] {
  return (hostKeyEntries(value) ?? []).map((entry) => parsePinnedHostKey(entry) ?? { fingerprint: entry });
}
