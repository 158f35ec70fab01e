// Validating difusores.yaml: every problem of the file at once, in file order, each as
// FILE:LINE:COL: path.to.field: message — then the Registry the rest of prep-push consumes.
// Order: YAML syntax (load.ts) → shape and per-field rules (schema.ts, zod) → what only makes
// sense after merging defaults into each difusor (required fields, host keys, key files, a way
// to log in) → unique ids.
import { dirname, resolve } from 'node:path';

import { PrepPushError } from '../core/errors.js';
import { firstSyntaxError, parseRegistryYaml, readRegistryText } from './load.js';
import { fieldAtOffset, firstLineOfKey, locateField } from './locate.js';
import { registryFileSchema } from './schema.js';
import type { Registry } from './types.js';

import { formatProblem, ProblemList, type RegistryProblem } from './problems.js';
import { expectationMessage, isMapping, unknownKeyMessage } from './schema-issues.js';
import { checkDistinctDestinations, checkMergedDifusor, checkNotifyAndNotice, checkSigningKey, checkSitePackageFormat, checkUniqueIds, type DifusorContext } from './merged-checks.js';
import { addPeopleAndPublic, buildRegistry } from './build.js';

export interface RegistryDeps {
  /** The environment prep-push runs in: passphrase and password variables, SSH_AUTH_SOCK. */
  env: NodeJS.ProcessEnv;
  /** How to name the file in messages (the path as the user typed it); default: filePath. */
  displayPath?: string;
  /**
   * false: the difusores' login keys (private_key, its passphrase) are not read nor parsed, for a
   * command that never connects (`build`): parsing one loads ssh2, about 45 ms of CPU. `validate`
   * and every command that connects check them (default true).
   */
  checkLoginKeys?: boolean;
}

export interface RegistryValidation {
  registry: Registry | null;
  problems: RegistryProblem[];
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
    checkLoginKeys: deps.checkLoginKeys ?? true,
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
