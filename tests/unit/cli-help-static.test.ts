// `prep-push --help` prints a text the build generated (dist/src/cli/help.json) instead of loading
// commander (start-up, figure 0). These tests keep that text identical to what commander prints live
// from the current definition (src/cli/program.ts): changing a flag without rebuilding fails here.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { commanderHelp, commandNames } from '../../src/cli/help-static.js';
import { asciiPunctuation, helpKey } from '../../src/cli/io.js';
import { REPO_ROOT } from '../helpers/workspace.js';

const GENERATED = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'help.json');
const generated = (): Record<string, string> => JSON.parse(readFileSync(GENERATED, 'utf8'));

test('the generated help is what commander prints for the program and every command, as defined now', async () => {
  const texts = generated();
  const keys = ['', ...commandNames()];
  // A command added or removed since the last build.
  expect(Object.keys(texts).sort()).toEqual([...keys].sort());
  for (const key of keys) {
    const live = await commanderHelp(key === '' ? ['--help'] : [key, '--help']);
    expect({ key, text: texts[key] }).toEqual({ key, text: live.stdout });
  }
});

test('every spelling main.ts answers from the file makes commander print that same text, exit 0', async () => {
  const texts = generated();
  const spellings = [['--help'], ['-h'], ['help'], ...commandNames().flatMap((c) => [[c, '--help'], [c, '-h'], ['help', c]])];
  for (const args of spellings) {
    const key = helpKey(args);
    expect({ args, key: typeof key }).toEqual({ args, key: 'string' });
    expect({ args, run: await commanderHelp(args) }).toEqual({ args, run: { code: 0, stdout: texts[key as string], stderr: '' } });
  }
});

test('anything but a plain help request goes to commander', () => {
  for (const args of [[], ['--version'], ['--config', 'x.yaml', '--help'], ['cut', '--source', 's', '--help'], ['../x', '--help'], ['help', 'Cut'], ['help', 'cut', 'x']]) {
    expect({ args, key: helpKey(args) }).toEqual({ args, key: undefined });
  }
});

test('the built CLI prints it without loading commander, in ASCII when not on a terminal', () => {
  const texts = generated();
  // The built main() in a process of its own, so the module cache it leaves is its alone.
  const script = `
    import { createRequire } from 'node:module';
    const { main } = await import(${JSON.stringify(path.join(REPO_ROOT, 'dist/src/cli/main.js'))});
    const out = [];
    const results = {};
    for (const args of [['--help'], ['help', 'cut'], ['push', '-h']]) {
      out.length = 0;
      const code = await main(['node', 'prep-push', ...args], { stdout: (t) => out.push(t), stderr: (t) => out.push('ERR' + t),
        isTTY: false, env: {}, cwd: process.cwd(), clock: { now: Date.now, monotonic: performance.now.bind(performance) } });
      results[args.join(' ')] = { code, text: out.join('') };
    }
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('commander'));
    process.stdout.write(JSON.stringify({ results, loaded }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({
    results: {
      '--help': { code: 0, text: asciiPunctuation(texts['']) },
      'help cut': { code: 0, text: asciiPunctuation(texts.cut) },
      'push -h': { code: 0, text: asciiPunctuation(texts.push) },
    },
    loaded: [],
  });
  // The typographic characters are there to be replaced (the program's description has ’).
  expect(texts['']).not.toEqual(asciiPunctuation(texts['']));
});
