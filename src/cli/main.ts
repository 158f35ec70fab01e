// The command line: parses flags, lazily loads the one command that runs, and turns its result into
// the exit code. The only place that writes to the terminal or ends the process.
//
// Start-up matters (cron runs this every few minutes): nothing but commander is loaded before a
// command is chosen, so `--version` and `--help` cost about as much as `node -e 0`. Each command's
// glue lives in ./actions/<name>.ts and is imported only when that command runs. To add one:
//
//   program
//     .command('kit')
//     .description('...')
//     .argument('<id>', 'difusor id')
//     .option('--out <dir>', '...')
//     .addHelpText('after', examples('prep-push kit el-sol --out kit-el-sol'))
//     .action(lazy(() => import('./actions/kit.js')));
//
// and export `run: Action` (see ./io.ts) from ./actions/kit.ts.
import type { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { GlobalOptions } from '../commands/context.js';
import { systemClock } from '../core/clock.js';
import type { PrepPushError } from '../core/errors.js';
import { asciiPunctuation } from './io.js';
import type { Action, ActionEnv, CliIO } from './io.js';

export type { CliIO } from './io.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

/** `Examples:` after a command's help; one line per example. */
function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Runs one invocation and returns its exit code; never calls process.exit itself. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const colour = io.isTTY && !io.env.NO_COLOR;
  const forStdout = io.isTTY ? (t: string) => t : asciiPunctuation;
  const forStderr = (io.stderrIsTTY ?? io.isTTY) ? (t: string) => t : asciiPunctuation;
  const write = (stream: 'stdout' | 'stderr', text: string) =>
    stream === 'stdout' ? io.stdout(forStdout(text)) : io.stderr(forStderr(text));
  const joined = (lines: string[] | string) => `${([] as string[]).concat(lines).join('\n')}\n`;
  // `--version` alone (monitoring asks it every few minutes) needs no flag parser at all.
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    write('stdout', `${VERSION}\n`);
    return 0;
  }
  // require(), not import(): commander is CommonJS, and skipping the ESM wrapper saves start-up time.
  const { Command, CommanderError, Option } = createRequire(import.meta.url)('commander') as typeof import('commander');
  let exitCode = 0;
  let jsonRequested = false;
  let active: Command | undefined;

  const program = new Command()
    .name('prep-push')
    .description('Push each PREP cut’s diffusion package to every difusor over SFTP: atomically, in parallel, recorded.')
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'the registry of difusores (default: ./difusores.yaml)')
    .option('--state-dir <dir>', 'ledger, lock and package store (default: state_dir in the registry, else .prep-push/ next to the registry file)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => write('stdout', s), writeErr: (s) => write('stderr', s), outputError: () => {} })
    .hook('preSubcommand', (_program, sub) => {
      active = sub;
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

  const env: ActionEnv = {
    io,
    ctx: { cwd: io.cwd, env: io.env, clock: io.clock },
    get globals(): GlobalOptions {
      const o = program.opts<{ config?: string; stateDir?: string }>();
      return { config: o.config, stateDir: o.stateDir };
    },
    colour,
    out: (lines) => write('stdout', joined(lines)),
    err: (lines) => write('stderr', joined(lines)),
  };

  /** The action of a command whose module is loaded only when it runs. */
  const lazy = (load: () => Promise<{ run: Action }>) => async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const opts = command.opts();
    jsonRequested = Boolean(opts.json);
    const { run } = await load();
    exitCode = await run({ args: command.processedArgs as string[], opts }, env);
  };

  program
    .command('validate')
    .description('check the registry; every problem as FILE:LINE:COL: field: message')
    .option('--json', 'print one JSON document')
    .addHelpText('after', examples('prep-push validate', 'prep-push --config /etc/prep/difusores.yaml validate --json'))
    .action(lazy(() => import('./actions/validate.js')));

  program
    .command('build')
    .description('build the cut’s package (archive + .sha256 + MANIFEST.json) into the store')
    .usage('--source <dir> [options]')
    .requiredOption('--source <dir>', 'the publication folder (required)')
    .option('--cut <time>', 'cut time, ISO 8601 with offset, or a cut id like 20240602_2020 (default: now)')
    .addHelpText('after', examples('prep-push build --source /srv/prep/publicacion', 'prep-push build --source site --cut 2024-06-02T20:20:00-06:00'))
    .action(lazy(() => import('./actions/build.js')));

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
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText(
      'after',
      examples(
        'prep-push cut --source /srv/prep/publicacion',
        'prep-push cut --source site --cut 2024-06-02T20:20:00-06:00',
        'prep-push cut --source site --only el-sol,la-voz --dry-run',
        'prep-push cut --source site --json > cut.json',
      ),
    )
    .action(lazy(() => import('./actions/cut.js')));

  program
    .command('push')
    .description('re-push an already-built cut (default: the newest not withdrawn) — the manual re-push')
    .option('--cut <cut>', 'the cut id (e.g. 20240602_2020) or its ISO 8601 time (default: the newest stored cut not withdrawn)')
    .option('--only <ids>', 'only these difusores (comma-separated)')
    .option('--failed', 'only the active difusores that do not have that cut yet')
    .option('--audit', 'audit each difusor’s public site right after its delivery')
    .option('--allow-rollback', 'site mode: let current move back to this older cut')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText('after', examples('prep-push push --failed', 'prep-push push --cut 20240602_2020 --only el-sol'))
    .action(lazy(() => import('./actions/push.js')));

  program
    .command('status')
    .description('every difusor: state, consecutive misses, last delivered cut, last error')
    .option('--json', 'print one JSON document (the state dir read goes to stderr)')
    .addHelpText('after', examples('prep-push status', 'prep-push --config /etc/prep/difusores.yaml status --json'))
    .action(lazy(() => import('./actions/status.js')));

  program
    .command('audit')
    .description('fetch each difusor’s public site and check it serves the latest cut, unaltered, with the right headers')
    .argument('[ids...]', 'difusor ids, comma-separated (default: every enabled, non-blocked difusor with a url)')
    .option('--sample <n>', 'files checked besides json/main.json and the changed ones: a number, or all (default: audit.sample)')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText('after', examples('prep-push audit', 'prep-push audit el-sol --sample all --json'))
    .action(lazy(() => import('./actions/audit.js')));

  program
    .command('block')
    .description('block a difusor by hand: it is skipped until unblocked')
    .usage('<id> --reason <text>')
    .argument('<id>', 'difusor id')
    .addOption(new Option('--reason <text>', 'why, recorded in the ledger (required)').makeOptionMandatory())
    .addHelpText('after', examples('prep-push block el-sol --reason "their server is down for maintenance"'))
    .action(lazy(() => import('./actions/block.js')));

  program
    .command('unblock')
    .description('unblock a difusor and clear its miss count')
    .argument('<id>', 'difusor id')
    .addHelpText('after', examples('prep-push unblock el-sol', 'prep-push push --only el-sol   # then re-push the latest cut to it'))
    .action(lazy(() => import('./actions/unblock.js')));

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
    .action(lazy(() => import('./actions/retract.js')));

  program
    .command('keyscan')
    .description('print a server’s host key fingerprint (and its type) in the registry’s host_key format')
    .argument('<target>', 'a difusor id from the registry, or HOST[:PORT]')
    .addOption(new Option('--timeout <seconds>', 'connect timeout in seconds (default: 15)'))
    .addHelpText('after', examples('prep-push keyscan el-sol', 'prep-push keyscan 203.0.113.10:2222'))
    .action(lazy(() => import('./actions/keyscan.js')));

  program
    .command('probe')
    .description('check difusores against the requirements: free disk, upload rate, permissions, server capabilities')
    .argument('[ids...]', 'difusor ids, comma-separated (default: every enabled one, blocked included)')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .addHelpText('after', examples('prep-push probe', 'prep-push probe el-sol,la-voz --json'))
    .action(lazy(() => import('./actions/probe.js')));

  program
    .command('report')
    .description('the incident report for the memoria técnica: availability and incidents per difusor and per cut')
    .usage('--out <file> [options]')
    .requiredOption('--out <file>', 'the file to write, atomically (required)')
    .option('--format <format>', 'html, csv, json or md (default: from the extension of --out)')
    .option('--from <cut-id>', 'first cut to include, e.g. 20240602_2000')
    .option('--to <cut-id>', 'last cut to include')
    .addHelpText('after', examples('prep-push report --out memoria.html', 'prep-push report --out cortes.csv --from 20240602_2000 --to 20240603_2000'))
    .action(lazy(() => import('./actions/report.js')));

  program
    .command('kit')
    .description('write a difusor’s kit: prep-apply, allowed_signers, systemd units, web server and sshd snippets')
    .argument('<id>', 'a difusor id from the registry')
    .option('--out <dir>', 'the folder to write (default: ./kit-ID)')
    .addHelpText('after', examples('prep-push kit el-sol', 'prep-push kit el-sol --out /tmp/kit-el-sol'))
    .action(lazy(() => import('./actions/kit.js')));

  program
    .command('demo')
    .description('a whole election night in a minute: local SFTP servers, four cuts, one difusor down and blocked')
    .option('--keep', 'keep the demo’s temp folder and print its path')
    .addHelpText('after', examples('prep-push demo', 'prep-push demo --keep'))
    .action(lazy(() => import('./actions/demo.js')));

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error, active ?? program, program, env);
    // Loaded only when something failed: a run that succeeds never needs them.
    const { isPrepPushError, PrepPushError } = await import('../core/errors.js');
    const failure = isPrepPushError(error) ? error : unexpected(error, PrepPushError);
    if (jsonRequested) {
      env.out(JSON.stringify({ error: describe(failure), exit_code: failure.exitCode }, null, 2));
    }
    const { renderError } = await import('./render.js');
    env.err(renderError(failure, colour && (io.stderrIsTTY ?? io.isTTY)));
    return failure.exitCode;
  }
}

/** A commander error (bad flags): one line naming what is wrong, a hint, exit 2. */
async function usageError(error: CommanderError, command: Command, program: Command, env: ActionEnv): Promise<number> {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  // `prep-push` alone: commander printed the help (on stderr); that is the whole answer.
  if (error.code === 'commander.help') return 2;
  const known = [...command.options, ...program.options].map((o) => o.long).filter((f): f is string => Boolean(f));
  known.push('--help', '--version');
  // A typo of a required flag (`cut --sourc site`) is an unknown flag, not a missing one.
  const aboutFlags = error.code === 'commander.unknownOption' || error.code === 'commander.missingMandatoryOptionValue';
  const unknownFlag = aboutFlags
    ? command.args.map((t) => t.replace(/=.*$/, '')).find((t) => t.startsWith('-') && !known.includes(t))
    : undefined;
  let message = error.message.replace(/^error: /, '');
  if (unknownFlag !== undefined) {
    const { closestName } = await import('../core/did-you-mean.js');
    // A typo keeps the flag's first letter (`--sourc`); `--force` is no misspelt `--source`.
    const suggestion = unknownFlag.startsWith('--') ? closestName(unknownFlag, known.filter((f) => f[2] === unknownFlag[2])) : undefined;
    message = `unknown option ${unknownFlag}${suggestion ? `; did you mean ${suggestion}?` : ''}`;
  } else {
    message = message.replace(/\n?\(Did you mean (.*)\?\)/, '; did you mean $1?');
  }
  const name = command === program ? 'prep-push' : `prep-push ${command.name()}`;
  env.err([`prep-push: ${message}`, `hint: run \`${name} --help\` for usage and examples`]);
  return 2;
}

function unexpected(error: unknown, ErrorClass: typeof PrepPushError): PrepPushError {
  const e = error as NodeJS.ErrnoException;
  return new ErrorClass('io', `unexpected error: ${e?.message ?? String(error)}`, {
    hint: e?.code ? `system error ${e.code}${e.path ? ` on ${e.path}` : ''}` : 'this is a bug in prep-push; please report it with the command you ran',
    cause: error,
  });
}

function describe(error: PrepPushError) {
  return { kind: error.kind, message: error.message, details: error.details, hint: error.hint ?? null };
}

/**
 * A writer that survives its reader going away: after EPIPE (`prep-push cut … | head -1`) or any
 * other write error, further output is dropped and the work goes on to its normal end and exit code.
 */
function quietWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let open = true;
  stream.on('error', () => {
    open = false;
  });
  return (text) => {
    if (!open || stream.destroyed) return;
    try {
      stream.write(text);
    } catch {
      open = false;
    }
  };
}

/** The process around main(): signals, exit code, and a guard against a handle that never closes. */
export async function runAsProcess(): Promise<void> {
  const stdout = quietWriter(process.stdout);
  const stderr = quietWriter(process.stderr);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130); // a second Ctrl-C means now
    stderr(`\nprep-push: ${signal}: finishing uploads in flight (within their deadline), starting no new ones; again to quit now\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(process.argv, {
    stdout,
    stderr,
    isTTY: Boolean(process.stdout.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
    signal: controller.signal,
  });
  process.exitCode = code;
  // Everything is closed by now; if a library still holds a handle, do not let cron pile up runs.
  setTimeout(() => process.exit(code), 3000).unref();
}
