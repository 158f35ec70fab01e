// The command line's definition: every command, flag, description and example, in one place. Used
// twice: by main.ts to parse a real invocation (actions loaded lazily), and at build time by
// ./help-static.ts, which writes the help texts `prep-push --help` prints without loading commander.
// To add a command:
//
//   program
//     .command('kit')
//     .description('...')
//     .argument('<id>', 'difusor id')
//     .option('--out <dir>', '...')
//     .addHelpText('after', examples('prep-push kit el-sol --out kit-el-sol'))
//     .action(hooks.lazy(() => import('./actions/kit.js')));
//
// and export `run: Action` (see ./io.ts) from ./actions/kit.ts; `npm run build` regenerates the help.
import type { Command } from 'commander';
import { createRequire } from 'node:module';
import type { Action } from './io.js';

/** What the definition needs from whoever runs it. */
export interface ProgramHooks {
  version: string;
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** The action of a command whose module is loaded only when it runs. */
  lazy(load: () => Promise<{ run: Action }>): (...params: unknown[]) => Promise<void>;
  /** Called with the subcommand about to run (usage errors name it). */
  onSubcommand?(sub: Command): void;
  /** Wrap help at this width instead of the terminal's (the static help is generated at 80). */
  helpWidth?: number;
}

/** `Examples:` after a command's help; one line per example. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Commander's output settings for a fixed help width; none (the terminal's width) when undefined. */
function widthOf(width: number | undefined) {
  return width === undefined ? {} : { getOutHelpWidth: () => width, getErrHelpWidth: () => width };
}

/** The whole program, not yet parsed. */
export function defineProgram(hooks: ProgramHooks): Command {
  // require(), not import(): commander is CommonJS, and skipping the ESM wrapper saves start-up time.
  const { Command, Option } = createRequire(import.meta.url)('commander') as typeof import('commander');
  const program = new Command()
    .name('prep-push')
    .description('Push each PREP cut’s diffusion package to every difusor over SFTP: atomically, in parallel, recorded.')
    .version(hooks.version, '-V, --version')
    .option('--config <file>', 'the registry of difusores (default: ./difusores.yaml)')
    .option('--state-dir <dir>', 'ledger, lock and package store (default: state_dir in the registry, else .prep-push/ next to the registry file)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => hooks.write('stdout', s),
      writeErr: (s) => hooks.write('stderr', s),
      outputError: () => {},
      // A fixed width (the static help) or the terminal's (commander's default).
      ...widthOf(hooks.helpWidth),
    })
    .hook('preSubcommand', (_program, sub) => {
      hooks.onSubcommand?.(sub);
    })
    .addHelpText(
      'after',
      examples(
        'prep-push validate',
        'prep-push cut --source /srv/prep/publicacion',
        'prep-push --config /etc/prep/difusores.yaml status',
        'prep-push push --failed',
      ) +
        '\nExit codes: 0 all targets have the package, 1 a target failed, 2 usage/registry/source error,\n' +
        '3 another run holds the lock, 4 the package could not be built or stored.\n' +
        'Start with `prep-push demo` to see a whole election night against local servers.\n',
    );

  program
    .command('validate')
    .description('check the registry; every problem as FILE:LINE:COL: field: message')
    .option('--json', 'print one JSON document')
    .addHelpText('after', examples('prep-push validate', 'prep-push --config /etc/prep/difusores.yaml validate --json'))
    .action(hooks.lazy(() => import('./actions/validate.js')));

  program
    .command('build')
    .description('build the cut’s package (archive + .sha256 + MANIFEST.json) into the store')
    .usage('--source <dir> [options]')
    .requiredOption('--source <dir>', 'the publication folder (required)')
    .option('--cut <time>', 'cut time, ISO 8601 with offset, or a cut id like 20240602_2020 (default: now)')
    .addHelpText('after', examples('prep-push build --source /srv/prep/publicacion', 'prep-push build --source site --cut 2024-06-02T20:20:00-06:00'))
    .action(hooks.lazy(() => import('./actions/build.js')));

  program
    .command('cut')
    .description('build the package, push it to every active difusor, record, block')
    .usage('--source <dir> [options]')
    .requiredOption('--source <dir>', 'the publication folder (required)')
    .option('--cut <time>', 'cut time, ISO 8601 with offset, or a cut id like 20240602_2020 (default: now)')
    .option('--only <ids>', 'only these difusores (comma-separated)')
    .option('--dry-run', 'show the plan; build, send and record nothing')
    .option('--allow-future', 'accept a --cut time more than max_future_minutes ahead of this machine’s clock')
    .option('--allow-older', 'accept a --cut time older than the newest cut (LATEST keeps naming the newest)')
    .option('--audit', 'audit each difusor’s public site right after its delivery')
    .option('--drill', 'a drill (simulacro): allowed before publication.from; recorded as a drill, its MANIFEST.json says "drill": true')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText(
      'after',
      examples(
        'prep-push cut --source /srv/prep/publicacion',
        'prep-push cut --source site --drill   # a drill before the publication window opens',
        'prep-push cut --source site --cut 2024-06-02T20:20:00-06:00',
        'prep-push cut --source site --only el-sol,la-voz --dry-run',
        'prep-push cut --source site --json > cut.json',
      ),
    )
    .action(hooks.lazy(() => import('./actions/cut.js')));

  program
    .command('push')
    .description('re-push an already-built cut (default: the newest not withdrawn) — the manual re-push')
    .option('--cut <cut>', 'the cut id (e.g. 20240602_2020) or its ISO 8601 time (default: the newest stored cut not withdrawn)')
    .option('--only <ids>', 'only these difusores (comma-separated)')
    .option('--failed', 'only the active difusores that do not have that cut yet')
    .option('--audit', 'audit each difusor’s public site right after its delivery')
    .option('--allow-rollback', 'site mode: let current move back to this older cut')
    .option('--drill', 'a drill (simulacro): allowed before publication.from')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText('after', examples('prep-push push --failed', 'prep-push push --cut 20240602_2020 --only el-sol'))
    .action(hooks.lazy(() => import('./actions/push.js')));

  program
    .command('status')
    .description('every difusor: state, consecutive misses, last delivered cut, last error')
    .option('--json', 'print one JSON document (the state dir read goes to stderr)')
    .addHelpText('after', examples('prep-push status', 'prep-push --config /etc/prep/difusores.yaml status --json'))
    .action(hooks.lazy(() => import('./actions/status.js')));

  program
    .command('audit')
    .description('fetch each difusor’s public site and check it serves the latest cut, unaltered, with the right headers')
    .argument('[ids...]', 'difusor ids, comma-separated (default: every enabled, non-blocked difusor with a url)')
    .option('--sample <n>', 'files checked besides json/main.json and the changed ones: a number, or all (default: audit.sample)')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText('after', examples('prep-push audit', 'prep-push audit el-sol --sample all --json'))
    .action(hooks.lazy(() => import('./actions/audit.js')));

  program
    .command('block')
    .description('block a difusor by hand: it is skipped until unblocked, and its portal shows a notice instead of results')
    .usage('<id> --reason <text> [--public-reason <text>]')
    .argument('<id>', 'difusor id')
    .addOption(
      new Option('--reason <text>', 'why, for the institute only: the ledger, the report and the e-mail to the desk; never on the notice (required)').makeOptionMandatory(),
    )
    .option(
      '--public-reason <text>',
      'what the notice on its portal tells the public, in Spanish (default: that it is no longer a valid difusor for failing the call’s provisions)',
    )
    .addHelpText(
      'after',
      examples(
        'prep-push block la-voz --reason "server down for maintenance, called 21:05"',
        'prep-push block la-voz --reason "site defaced, ticket 4411" \\\n    --public-reason "Su sitio publicaba cifras distintas a las del PREP oficial."',
      ),
    )
    .action(hooks.lazy(() => import('./actions/block.js')));

  program
    .command('unblock')
    .description('unblock a difusor and clear its miss count')
    .argument('<id>', 'difusor id')
    .addHelpText('after', examples('prep-push unblock el-sol', 'prep-push push --only el-sol   # then re-push the latest cut to it'))
    .action(hooks.lazy(() => import('./actions/unblock.js')));

  program
    .command('retract')
    .description('withdraw a cut published by mistake: the next cut or push moves LATEST back to the newest cut not withdrawn')
    .usage('<cut-id> --reason <text>')
    .argument('<cut-id>', 'the cut id, e.g. 20271125_1730')
    .addOption(new Option('--reason <text>', 'why, recorded in the ledger (required)').makeOptionMandatory())
    .addHelpText(
      'after',
      examples('prep-push retract 20271125_1730 --reason "wrong year in --cut"', 'prep-push push   # moves LATEST back at every difusor now'),
    )
    .action(hooks.lazy(() => import('./actions/retract.js')));

  program
    .command('keyscan')
    .description('print a server’s host key fingerprint (and its type) in the registry’s host_key format')
    .argument('<target>', 'a difusor id from the registry, or HOST[:PORT]')
    .addOption(new Option('--timeout <seconds>', 'connect timeout in seconds (default: 15)'))
    .addHelpText('after', examples('prep-push keyscan el-sol', 'prep-push keyscan 203.0.113.10:2222'))
    .action(hooks.lazy(() => import('./actions/keyscan.js')));

  program
    .command('probe')
    .description('check difusores against the requirements: free disk, upload rate, permissions, server capabilities')
    .argument('[ids...]', 'difusor ids, comma-separated (default: every enabled one, blocked included)')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText('after', examples('prep-push probe', 'prep-push probe el-sol,la-voz --json'))
    .action(hooks.lazy(() => import('./actions/probe.js')));

  program
    .command('report')
    .description('the incident report for the memoria técnica: availability and incidents per difusor and per cut')
    .usage('--out <file> [options]')
    .requiredOption('--out <file>', 'the file to write, atomically (required)')
    .option('--format <format>', 'html, csv, json or md (default: from the extension of --out)')
    .option('--from <cut-id>', 'first cut to include, e.g. 20240602_2000')
    .option('--to <cut-id>', 'last cut to include')
    .addHelpText('after', examples('prep-push report --out memoria.html', 'prep-push report --out cortes.csv --from 20240602_2000 --to 20240603_2000'))
    .action(hooks.lazy(() => import('./actions/report.js')));

  program
    .command('kit')
    .description('write a difusor’s kit: prep-apply, allowed_signers, systemd units, web server and sshd snippets')
    .argument('<id>', 'a difusor id from the registry')
    .option('--out <dir>', 'the folder to write (default: ./kit-ID)')
    .addHelpText('after', examples('prep-push kit el-sol', 'prep-push kit el-sol --out /tmp/kit-el-sol'))
    .action(hooks.lazy(() => import('./actions/kit.js')));

  program
    .command('demo')
    .description(
      'a whole election night in a minute: local SFTP servers, four cuts, one difusor down and blocked, a notice, the public list and the report; on a terminal its web servers stay up until Ctrl-C',
    )
    .option('--keep', 'keep the demo’s temp folder and print its path')
    .option('--no-wait', 'end at once instead of keeping the web servers up until Ctrl-C (the default without a terminal, as in CI)')
    .addHelpText('after', examples('prep-push demo', 'prep-push demo --keep --no-wait'))
    .action(hooks.lazy(() => import('./actions/demo.js')));

  return program;
}
