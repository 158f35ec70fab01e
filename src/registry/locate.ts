// From a field path (['difusores', 2, 'host_key']) to the LINE:COL of that field in the YAML file,
// and back from a byte offset to the field it falls in (for YAML's own errors).
import { isAlias, isMap, isNode, isScalar, isSeq, type Pair } from 'yaml';

import type { RegistrySource } from './load.js';

export type FieldPath = ReadonlyArray<string | number>;

export interface Position {
  line: number;
  col: number;
}

/** `difusores[2].host_key`; the document itself is `(top level)`. */
export function formatFieldPath(path: FieldPath): string {
  if (path.length === 0) return '(top level)';
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

function positionAt(source: RegistrySource, offset: number): Position {
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, col };
}

function resolveAlias(source: RegistrySource, node: unknown): unknown {
  return isAlias(node) ? node.resolve(source.doc) : node;
}

function keyOf(pair: Pair): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

/** The pair for `key`; with a duplicated key the last one, as that is the value YAML keeps. */
function findPair(map: { items: Pair[] }, key: string | number): Pair | undefined {
  let found: Pair | undefined;
  for (const pair of map.items) if (keyOf(pair) === key) found = pair;
  return found;
}

function startOf(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/**
 * Where a field is. `target: 'value'` points at the value (what is wrong with it), `'key'` at the key
 * (an unknown field). When the path stops existing (a missing field), it points at the innermost
 * mapping that does exist, which is where the field should be added.
 */
export function locateField(source: RegistrySource, path: FieldPath, target: 'value' | 'key' = 'value'): Position {
  let node: unknown = source.doc.contents;
  let best = startOf(node) ?? 0;
  for (let i = 0; i < path.length; i += 1) {
    node = resolveAlias(source, node);
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = findPair(node, segment);
      if (!pair) break;
      const keyStart = startOf(pair.key);
      if (last && target === 'key' && keyStart !== undefined) return positionAt(source, keyStart);
      const valueStart = startOf(pair.value);
      // `port:` with nothing after it: the value node is empty, so point at the key.
      const emptyValue = pair.value === null || (isScalar(pair.value) && pair.value.value === null);
      best = (emptyValue ? keyStart : valueStart) ?? keyStart ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      const itemStart = startOf(item);
      if (itemStart === undefined) break;
      best = itemStart;
      node = item;
    } else {
      break;
    }
  }
  return positionAt(source, best);
}

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/;

/** The path of the innermost field whose source range holds `offset` (for YAML syntax errors). */
export function fieldAtOffset(source: RegistrySource, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = source.doc.contents;
  for (;;) {
    // Inside a flow collection (`[...]`, `{...}`) a syntax error can make nonsense keys: stop at it.
    if ((isMap(node) || isSeq(node)) && node.flow) return path;
    if (isMap(node)) {
      // The last pair starting at or before the offset holds it (later duplicates win).
      let hit: Pair | undefined;
      for (const pair of node.items) {
        const start = startOf(pair.key);
        if (start !== undefined && start <= offset) hit = pair;
      }
      const key = hit && isScalar(hit.key) ? hit.key.value : undefined;
      if (!hit || typeof key !== 'string' || !SIMPLE_KEY.test(key)) return path;
      path.push(key);
      node = hit.value;
    } else if (isSeq(node)) {
      let index = -1;
      node.items.forEach((item, i) => {
        const start = startOf(item);
        if (start !== undefined && start <= offset) index = i;
      });
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

/** The line of the first of several pairs with the same key in the mapping at `path`. */
export function firstLineOfKey(source: RegistrySource, mapPath: FieldPath, key: string): number | undefined {
  let node: unknown = source.doc.contents;
  for (const segment of mapPath) {
    node = resolveAlias(source, node);
    if (isMap(node)) node = findPair(node, segment)?.value;
    else if (isSeq(node) && typeof segment === 'number') node = node.items[segment];
    else return undefined;
  }
  if (!isMap(node)) return undefined;
  const first = node.items.find((pair) => keyOf(pair) === key);
  const start = first ? startOf(first.key) : undefined;
  return start === undefined ? undefined : positionAt(source, start).line;
}
