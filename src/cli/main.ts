// The command line: parses flags, lazily loads the one command that runs, and turns its result into
// the exit code. The only place that writes to the terminal or ends the process.
//
// Start-up matters (cron runs this every few minutes): nothing is loaded before a command is chosen,
// so `--version` and `--help` cost about as much as `node -e 0`. `--version` reads package.json;
// `--help` (and `help [command]`, `<command> --help`) prints the text the build generated from the
// program's definition (./help-static.ts writes dist/src/cli/help.json), so commander is not loaded.
// Anything else loads commander and ./program.ts, the definition; each command's glue lives in
// ./actions/<name>.ts and is imported only when that command runs (see ./program.ts to add one).
import type { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { GlobalOptions } from '../commands/context.js';
import { systemClock } from '../core/clock.js';
import { traceLines, traceMark } from '../core/trace.js';
import type { PrepPushError } from '../core/errors.js';
import { asciiPunctuation, fitLines, helpKey, HUMAN_WIDTH, STATIC_HELP_WIDTH } from './io.js';
import type { ActionEnv, CliIO } from './io.js';

export type { CliIO } from './io.js';

const VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

/**
 * The help text the build generated for these arguments, or undefined (not a plain help request,
 * an unknown command, or no generated file, as when running from the sources): commander then
 * prints it live.
 */
function readStaticHelp(args: string[]): string | undefined {
  const key = helpKey(args);
  if (key === undefined) return undefined;
  try {
    const texts: Record<string, string> = JSON.parse(readFileSync(new URL('./help.json', import.meta.url), 'utf8'));
    return Object.hasOwn(texts, key) ? texts[key] : undefined;
  } catch {
    return undefined;
  }
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
  // On a terminal commander wraps help at its width: text wrapped at 80 reads the same on a wider one,
  // a narrower one needs commander.
  const staticHelp = !io.isTTY || (io.columns ?? 0) >= STATIC_HELP_WIDTH ? readStaticHelp(args) : undefined;
  if (staticHelp !== undefined) {
    write('stdout', staticHelp);
    return 0;
  }
  let exitCode = 0;
  let jsonRequested = false;
  // A terminal that reports no width (or an absurd one) gets the 100 columns.
  const terminalWidth = io.columns !== undefined && io.columns >= 40 ? Math.min(io.columns, HUMAN_WIDTH) : HUMAN_WIDTH;
  let active: Command | undefined;

  const env: ActionEnv = {
    io,
    ctx: { cwd: io.cwd, env: io.env, clock: io.clock },
    get globals(): GlobalOptions {
      const o = program.opts<{ config?: string; stateDir?: string }>();
      return { config: o.config, stateDir: o.stateDir };
    },
    colour,
    // On a terminal, human output is wrapped within 100 columns (narrower terminals: their width);
    // piped or in cron each record stays one line, for grep; a JSON document is never touched.
    out: (lines) => write('stdout', joined(io.isTTY && !jsonRequested ? fitLines(([] as string[]).concat(lines), terminalWidth) : lines)),
    err: (lines) => write('stderr', joined((io.stderrIsTTY ?? io.isTTY) ? fitLines(([] as string[]).concat(lines), terminalWidth) : lines)),
  };

  traceMark('cli: parsing flags');
  const { defineProgram } = await import('./program.js');
  traceMark('cli: commander and the program definition loaded');
  const program = defineProgram({
    version: VERSION,
    write,
    onSubcommand: (sub) => {
      active = sub;
    },
    lazy: (load) => async (...params) => {
      const command = params[params.length - 1] as Command;
      const opts = command.opts();
      jsonRequested = Boolean(opts.json);
      const { run } = await load();
      traceMark(`cli: ${command.name()} modules loaded`);
      exitCode = await run({ args: command.processedArgs as string[], opts }, env);
      traceMark(`cli: ${command.name()} done`);
    },
  });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    // Commander was loaded by ./program.ts; require() returns the same, cached module.
    const { CommanderError } = createRequire(import.meta.url)('commander') as typeof import('commander');
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
  // `prep-push` alone: commander printed the help on stderr (its exit code 1), a usage error. `prep-push
  // help [command]` printed it on stdout (exit code 0), as asked.
  if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
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
  // PREP_PUSH_TRACE=1: the timeline (../core/trace.ts), printed last so it shows the exit too.
  process.once('exit', () => {
    traceMark('exit');
    const lines = traceLines();
    if (lines.length > 0) stderr(`${lines.join('\n')}\n`);
  });
  const code = await main(process.argv, {
    stdout,
    stderr,
    isTTY: Boolean(process.stdout.isTTY),
    columns: process.stdout.columns,
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
