// Build step (`npm run build` runs it after tsc): writes dist/src/cli/help.json, the help texts main.ts
// prints for `--help` without loading commander. They are what commander prints, captured from the
// very program definition the CLI parses with (./program.ts), so they cannot say anything else;
// tests/unit/cli-help-static.test.ts fails if the file is older than the definition.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { STATIC_HELP_WIDTH } from './io.js';
import { defineProgram } from './program.js';

export interface CapturedRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * What commander itself prints for these arguments (no action runs), wrapped at the static width:
 * the live side both of the generated file and of the test that compares them.
 */
export async function commanderHelp(args: string[]): Promise<CapturedRun> {
  const { CommanderError } = createRequire(import.meta.url)('commander') as typeof import('commander');
  const out = { stdout: '', stderr: '' };
  const program = defineProgram({
    version: versionOfPackage(),
    write: (stream, text) => {
      out[stream] += text;
    },
    lazy: () => async () => {
      throw new Error(`help-static: \`prep-push ${args.join(' ')}\` ran a command instead of printing help`);
    },
    helpWidth: STATIC_HELP_WIDTH,
  });
  try {
    await program.parseAsync(['node', 'prep-push', ...args]);
    return { code: 0, ...out };
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { code: error.exitCode, ...out };
  }
}

/** Every command's name, as the definition has them. */
export function commandNames(): string[] {
  const program = defineProgram({ version: versionOfPackage(), write: () => {}, lazy: () => async () => {} });
  return program.commands.map((c) => c.name());
}

/** The help texts, keyed as main.ts's helpKey() keys them: '' for the program, else a command name. */
export async function renderHelpTexts(): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const key of ['', ...commandNames()]) {
    const run = await commanderHelp(key === '' ? ['--help'] : [key, '--help']);
    if (run.code !== 0 || run.stderr !== '' || run.stdout === '') {
      throw new Error(`help-static: \`prep-push ${key} --help\` exited ${run.code} with stderr ${JSON.stringify(run.stderr)}`);
    }
    texts[key] = run.stdout;
  }
  return texts;
}

function versionOfPackage(): string {
  // The same file main.ts reads, from src/cli or dist/src/cli alike.
  const here = fileURLToPath(import.meta.url);
  const root = here.includes('/dist/') ? new URL('../../../package.json', import.meta.url) : new URL('../../package.json', import.meta.url);
  return JSON.parse(readFileSync(root, 'utf8')).version;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('./help.json', import.meta.url));
  // Written whole then renamed: a build interrupted half-way leaves no truncated file main.ts would read.
  writeFileSync(`${target}.tmp`, `${JSON.stringify(await renderHelpTexts(), null, 1)}\n`);
  renameSync(`${target}.tmp`, target);
}
