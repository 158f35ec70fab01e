// `--version` and `--help` must load almost nothing (cron starts prep-push every few minutes): the
// modules main.ts loads before a command is chosen are exactly these, everything else is import()ed
// by the command that needs it (the definition, src/cli/program.ts, and commander too; `--help`
// prints the text the build generated: tests/unit/cli-help-static.test.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/workspace.js';

/** The modules a source file loads when it is loaded (type-only imports are erased). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/^import (?!type )[^;]*?from '([^']+)';/gms)].map((m) => m[1]).sort();
}

test('main.ts loads only node built-ins, the clock, the trace marks and io.ts up front', () => {
  expect(runtimeImports('src/cli/main.ts')).toEqual(['../core/clock.js', '../core/trace.js', './io.js', 'node:fs', 'node:module']);
  expect(runtimeImports('src/cli/io.ts')).toEqual([]);
  expect(runtimeImports('src/core/clock.ts')).toEqual([]);
  expect(runtimeImports('src/core/trace.ts')).toEqual([]);
});

test('every command is loaded lazily, from its own action module', () => {
  const code = readFileSync(path.join(REPO_ROOT, 'src/cli/program.ts'), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('//'))
    .join('\n');
  const commands = [...code.matchAll(/\.command\('([a-z-]+)'\)/g)].map((m) => m[1]);
  const lazy = [...code.matchAll(/\.action\(hooks\.lazy\(\(\) => import\('\.\/actions\/([a-z-]+)\.js'\)\)\)/g)].map((m) => m[1]);
  expect(commands).toEqual(expect.arrayContaining(['validate', 'build', 'cut', 'push', 'status', 'block', 'unblock', 'retract', 'keyscan', 'demo']));
  expect(lazy).toEqual(commands);
});
