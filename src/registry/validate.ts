// Validating difusores.yaml: every problem of the file at once, in file order, each as
// FILE:LINE:COL: path.to.field: message — then the Registry the rest of prep-push consumes.
// Order: YAML syntax (load.ts) → shape and per-field rules (schema.ts, zod) → what only makes
// sense after merging defaults into each difusor (required fields, host keys, key files, a way
// to log in) → unique ids.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { PrepPushError } from '../core/errors.js';
import { inspectPrivateKey } from './keys.js';
import { parseRegistryYaml, readRegistryText, type RegistrySource } from './load.js';
import { fieldAtOffset, firstLineOfKey, formatFieldPath, locateField, type FieldPath, type Position } from './locate.js';
import {
  checkHostKey,
  DEFAULT_PORT,
  EXPECTED,
  expectationKey,
  knownKeysAt,
  registryFileSchema,
  type DifusorFieldName,
  type RegistryFile,
} from './schema.js';
import type { Difusor, Registry } from './types.js';

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
  // After a real syntax error the tree may be half-built; duplicate keys still leave a usable one.
  if (errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { registry: null, problems: problems.sorted() };

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

  const found = problems.sorted();
  if (found.length > 0 || !parsed.success) return { registry: null, problems: found };
  const registry = buildRegistry(parsed.data, absoluteFile);
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
    hint: 'fix them and check again with `prep-push validate`; nothing was pushed',
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
  const hostKeyValue = validString(hostKey);
  if (hostKey && hostKeyValue !== undefined) {
    const message = checkHostKey(hostKeyValue, hostPort);
    if (message) report('host_key', hostKey, message);
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
  const verdict = inspectPrivateKey(data);
  if (verdict.kind === 'public') {
    report('private_key', privateKey, `${keyPath} is a public key; point private_key at the private half (the file without .pub)`);
  } else if (verdict.kind === 'unparseable' || verdict.kind === 'wrong-passphrase') {
    report(
      'private_key',
      privateKey,
      `${keyPath} is not a private key ssh2 can read (${verdict.detail}); expected an OpenSSH or PEM private key such as \`ssh-keygen -t ed25519\` writes`,
    );
  } else if (verdict.kind === 'encrypted') {
    if (!passphraseEnv) {
      report(
        'private_key',
        privateKey,
        `${keyPath} is protected by a passphrase; name the environment variable that holds it in private_key_passphrase_env and set that variable where prep-push runs`,
      );
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
    const decrypted = inspectPrivateKey(data, passphrase);
    if (decrypted.kind !== 'ok') {
      const detail = decrypted.kind === 'wrong-passphrase' || decrypted.kind === 'unparseable' ? ` (${decrypted.detail})` : '';
      report(
        'private_key_passphrase_env',
        passphraseEnv,
        `the passphrase in ${variable} does not decrypt ${keyPath}${detail}; check the value of ${variable}`,
      );
    }
  }
}

function keyFileReadMessage(keyPath: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') {
    return `key file ${keyPath} does not exist (relative paths start at the registry file's folder); fix the path, or create the key with \`ssh-keygen -t ed25519 -f ${keyPath}\``;
  }
  if (error.code === 'EISDIR') return `${keyPath} is a folder; expected a private key file`;
  if (error.code === 'EACCES' || error.code === 'EPERM') {
    return `cannot read ${keyPath} (permission denied); make it readable by the user running prep-push (chmod 600, owned by that user)`;
  }
  return `cannot read ${keyPath} (${error.code ?? error.message})`;
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
      hostKey: m.host_key as string,
      remoteDir: m.remote_dir as string,
      enabled: m.enabled ?? true,
    };
    if (m.private_key !== undefined) difusor.privateKey = resolve(registryDir, m.private_key);
    if (m.private_key_passphrase_env !== undefined) difusor.privateKeyPassphraseEnv = m.private_key_passphrase_env;
    if (m.password_env !== undefined) difusor.passwordEnv = m.password_env;
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
  };
  if (data.state_dir !== undefined) registry.stateDir = resolve(registryDir, data.state_dir);
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

/** The known name within two edits of `key` (ignoring case, `-` and `_`), for typos like `hostkey`. */
function closestName(key: string, known: string[]): string | undefined {
  const normalize = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(normalize(key), normalize(name));
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
