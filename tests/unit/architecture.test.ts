// The house's plan, drawn from the imports: no import circles between files or folders, and every
// import goes down the layers below (docs/architecture.md), so a lower room never reaches back up.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Bottom first: a folder may import only folders before it (and itself). */
const LAYERS = [
  'core',
  'sftp-server',
  'registry',
  'signing',
  'ledger',
  'words',
  'package',
  'sftp',
  'publish',
  'notice',
  'delivery',
  'audit',
  'notify',
  'public',
  'probe',
  'report',
  'kit',
  'cut',
  'commands',
  'cli',
];

interface Import {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import (static, re-export or dynamic, type-only included) as a pair of src-relative paths. */
function importsOf(files: string[]): Import[] {
  const pattern = /(?:^|\s)(?:import|export)\s[^'"`;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  return files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(pattern)].map((m) => {
      const target = path.normalize(path.join(path.dirname(file), m[1] ?? m[2])).replace(/\.js$/, '.ts');
      return { from: path.relative(SRC, file), to: path.relative(SRC, target) };
    });
  });
}

function folderOf(file: string): string {
  const parts = file.split(path.sep);
  return parts.length > 1 ? parts[0] : '(root)';
}

/** Strongly connected groups of more than one node (Tarjan): each is an import circle. */
function circles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of edges.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

function graph(pairs: Array<[string, string]>): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [a, b] of pairs) {
    if (a === b) continue;
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  }
  return edges;
}

const imports = importsOf(sourceFiles(SRC));

test('the import reader sees the project (so the checks below can fail)', () => {
  expect(imports.length).toBeGreaterThan(300);
  expect(imports).toContainEqual({ from: path.join('cut', 'run.ts'), to: path.join('delivery', 'deliver.ts') });
  // A circle, as the reader would report it.
  expect(circles(graph([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']]))).toEqual([['a', 'b', 'c']]);
});

test('no import circles between files', () => {
  expect(circles(graph(imports.map((i) => [i.from, i.to])))).toEqual([]);
});

test('no import circles between folders', () => {
  expect(circles(graph(imports.map((i) => [folderOf(i.from), folderOf(i.to)])))).toEqual([]);
});

test('every folder has a layer, and imports only go down the layers', () => {
  const folders = [...new Set(imports.flatMap((i) => [folderOf(i.from), folderOf(i.to)]))].filter((f) => f !== '(root)');
  expect(folders.filter((f) => !LAYERS.includes(f))).toEqual([]);
  const upward = imports
    .filter((i) => LAYERS.indexOf(folderOf(i.from)) < LAYERS.indexOf(folderOf(i.to)))
    .map((i) => `${i.from} -> ${i.to}`);
  expect(upward).toEqual([]);
});

test('nothing outside src/cli ends the process or writes to the terminal', () => {
  const offenders = sourceFiles(SRC)
    .filter((file) => !path.relative(SRC, file).startsWith(`cli${path.sep}`))
    .filter((file) => /process\.exit\(|process\.stdout\.write|console\.(log|error)\(/.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(SRC, file));
  expect(offenders).toEqual([]);
});
