// zod's issues in words a person can act on: what was expected at a field, what was found, and the
// nearest known key for an unknown one.

import { closestName } from '../core/did-you-mean.js';
import { type FieldPath } from './locate.js';
import { EXPECTED, expectationKey, knownKeysAt } from './schema.js';


export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function valueAt(raw: unknown, path: FieldPath): { present: boolean; value: unknown } {
  let node: unknown = raw;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number' && segment < node.length) node = node[segment];
    else if (isMapping(node) && String(segment) in node) node = node[String(segment)];
    else return { present: false, value: undefined };
  }
  return { present: true, value: node };
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

export function expectationMessage(raw: unknown, path: FieldPath, code: string): string {
  const key = expectationKey(path);
  const expected = EXPECTED[key] ?? 'a different value';
  const { present, value } = valueAt(raw, path);
  if (key === 'difusores' && code === 'too_small') return 'the list is empty; expected at least one difusor';
  if (!present) return `required: ${expected}`;
  return `expected ${expected}, got ${describeValue(value)}`;
}

export function unknownKeyMessage(mapPath: FieldPath, key: string): string {
  if (mapPath.length === 1 && mapPath[0] === 'defaults' && key === 'id') {
    return 'id cannot be set in defaults; each difusor has its own';
  }
  if (key === '<<') return 'YAML merge keys (<<) are not supported; put shared fields in defaults';
  const known = knownKeysAt(mapPath);
  const suggestion = closestName(key, known);
  const hint = suggestion ? `did you mean "${suggestion}"? ` : '';
  return `unknown field "${key}"; ${hint}expected one of: ${known.join(', ')}`;
}
