// Lets a test run src/ code in a separate node process (to kill it, or to race two of them) without
// a build step: the named sources are transpiled to ESM JavaScript under a temp dir, keeping their
// relative layout so their `.js` imports resolve.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Transpiles `sources` (paths relative to the repo root) into `outDir`; returns the root to import from. */
export async function transpileForChild(outDir: string, sources: string[]): Promise<string> {
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  for (const source of sources) {
    const text = await readFile(join(ROOT, source), 'utf8');
    const { outputText } = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    const target = join(outDir, source.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  return outDir;
}
