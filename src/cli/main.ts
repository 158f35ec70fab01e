// The command line: parses flags, calls a command function, renders its result, and turns it into
// the exit code. The only place that writes to the terminal or ends the process.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { systemClock } from '../core/clock.js';
import type { Clock } from '../core/clock.js';
import { parseCutTime } from '../core/cut.js';
import { isPrepPushError, PrepPushError } from '../core/errors.js';
import { block, unblock } from '../commands/block.js';
import { loadRegistryFor, parseIdList, registryPaths, resolveStateDir } from '../commands/context.js';
import type { CommandEnv, GlobalOptions } from '../commands/context.js';
import { keyscan } from '../commands/keyscan.js';
import { status } from '../commands/status.js';
import { planCut, runCut, runPush } from '../cut/run.js';
import type { RunProgress } from '../cut/run.js';
import type { RunReport } from '../cut/report.js';
import { packageStoreDir } from '../cut/state-dir.js';
import { ssh2Transport } from '../delivery/transport.js';
import { acquireLock } from '../ledger/lock.js';
import { buildPackage } from '../package/build-package.js';
import { formatProblem, validateRegistry } from '../registry/validate.js';
import {
  makeStyle,
  renderBlockChange,
  renderDryRun,
  renderPackage,
  renderPlan,
  renderResultLine,
  renderRunSummary,
  renderStatus,
} from './render.js';
import type { Style } from './render.js';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdout is a terminal (colour, symbols). */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  clock: Clock;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

interface Outcome {
  exitCode: number;
}

const VERSION: string = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version;

/** Runs one invocation and returns its exit code; never calls process.exit itself. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const style = makeStyle(io.isTTY && !io.env.NO_COLOR);
  const out = (lines: string[] | string) => io.stdout(`${([] as string[]).concat(lines).join('\n')}\n`);
  const err = (lines: string[] | string) => io.stderr(`${([] as string[]).concat(lines).join('\n')}\n`);
  let outcome: Outcome = { exitCode: 0 };
  let jsonRequested = false;
  const ctx: CommandEnv = { cwd: io.cwd, env: io.env, clock: io.clock };

  const program = new Command()
    .name('prep-push')
    .description('Push each PREP cut’s diffusion package to every difusor over SFTP: atomically, in parallel, recorded.')
    .version(VERSION, '-V, --version')
    .option('--config <file>', 'the registry of difusores', 'difusores.yaml')
    .option('--state-dir <dir>', 'ledger, lock and package store (default: state_dir in the registry, else ./.prep-push)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s), outputError: () => {} })
    .addHelpText(
      'after',
      '\nExit codes: 0 all targets have the package, 1 a target failed, 2 usage/registry/source error,\n' +
        '3 another run holds the lock, 4 the package could not be built or stored.\n' +
        'Start with `prep-push demo` to see a whole election night against local servers.',
    );
  const globals = (): GlobalOptions => {
    const o = program.opts<{ config: string; stateDir?: string }>();
    return { config: o.config, stateDir: o.stateDir };
  };
  /** Progress lines: stdout normally, stderr when stdout carries the JSON document. */
  const progress = (json: boolean) => (json ? err : out);

  program
    .command('validate')
    .description('check the registry; every problem as FILE:LINE:COL: field: message')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }) => {
      jsonRequested = Boolean(opts.json);
      const { file, displayPath } = registryPaths(globals(), ctx.cwd);
      const { registry, problems } = await validateRegistry(file, { env: ctx.env, displayPath });
      const exitCode = problems.length ? 2 : 0;
      if (opts.json) {
        out(JSON.stringify({ file: displayPath, valid: problems.length === 0, problems, exit_code: exitCode }, null, 2));
      } else if (problems.length) {
        err([...problems.map(formatProblem), `${displayPath}: ${problems.length} problem${problems.length > 1 ? 's' : ''}; nothing was pushed`]);
      } else if (registry) {
        const enabled = registry.difusores.filter((d) => d.enabled).length;
        out(`${displayPath}: valid — ${registry.institute}, ${registry.difusores.length} difusores (${enabled} enabled), package ${registry.package.name}.${registry.package.format}`);
      }
      outcome = { exitCode };
    });

  program
    .command('build')
    .description('build the cut’s package (archive + .sha256 + MANIFEST.json) into the store')
    .requiredOption('--source <dir>', 'the publication folder')
    .option('--cut <time>', 'cut time, ISO 8601 with offset (default: now)')
    .action(async (opts: { source: string; cut?: string }) => {
      const registry = await loadRegistryFor(globals(), ctx);
      const cut = parseCutTime(opts.cut, registry.timezone, ctx.clock.now);
      const stateDir = resolveStateDir(globals(), registry, ctx.cwd);
      const lock = await acquireLock(stateDir, { command: 'build' });
      try {
        const pkg = await buildPackage({
          sourceDir: resolvePath(ctx.cwd, opts.source),
          cut,
          institute: registry.institute,
          nameTemplate: registry.package.name,
          format: registry.package.format,
          storeDir: packageStoreDir(stateDir),
        });
        out(renderPackage(pkg));
      } finally {
        await lock.release();
      }
    });

  const onProgress = (json: boolean) => (event: RunProgress) => {
    const print = progress(json);
    if (event.type === 'package') print(renderPackage(event.pkg));
    else if (event.type === 'plan') print(renderPlan(event.targets, event.skipped));
    else if (event.type === 'result') print(renderResultLine(event.result, style));
    else if (event.type === 'blocked') print(style.bad(`BLOCKED    ${event.id}: ${event.reason}`));
    else err(style.warn(`warning: ${event.message}`));
  };

  program
    .command('cut')
    .description('build the package, push it to every active difusor, record, block')
    .requiredOption('--source <dir>', 'the publication folder')
    .option('--cut <time>', 'cut time, ISO 8601 with offset (default: now)')
    .option('--only <ids>', 'only these difusores (comma-separated)')
    .option('--dry-run', 'show the plan; build, send and record nothing')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .action(async (opts: { source: string; cut?: string; only?: string; dryRun?: boolean; json?: boolean }) => {
      jsonRequested = Boolean(opts.json);
      const registry = await loadRegistryFor(globals(), ctx);
      const request = {
        registry,
        stateDir: resolveStateDir(globals(), registry, ctx.cwd),
        sourceDir: resolvePath(ctx.cwd, opts.source),
        cut: parseCutTime(opts.cut, registry.timezone, ctx.clock.now),
        only: requireIds(parseIdList(opts.only)),
      };
      if (opts.dryRun) {
        const plan = await planCut(request);
        out(opts.json ? JSON.stringify({ ...plan, exit_code: 0 }, null, 2) : renderDryRun(plan));
        return;
      }
      finishRun(await runCut(request, runDeps(Boolean(opts.json))), Boolean(opts.json));
    });

  program
    .command('push')
    .description('re-push an already-built cut (default: the latest) — the manual re-push')
    .option('--cut <cut-id>', 'the cut id, e.g. 20240602_2020 (default: the newest package in the store)')
    .option('--only <ids>', 'only these difusores (comma-separated)')
    .option('--failed', 'only the active difusores that do not have that cut yet')
    .option('--allow-rollback', 'site mode: let current move back to this older cut')
    .option('--json', 'print one JSON document (progress goes to stderr)')
    .action(async (opts: { cut?: string; only?: string; failed?: boolean; allowRollback?: boolean; json?: boolean }) => {
      jsonRequested = Boolean(opts.json);
      const registry = await loadRegistryFor(globals(), ctx);
      const request = {
        registry,
        stateDir: resolveStateDir(globals(), registry, ctx.cwd),
        cutId: opts.cut,
        only: requireIds(parseIdList(opts.only)),
        failed: opts.failed,
        allowRollback: opts.allowRollback,
      };
      finishRun(await runPush(request, runDeps(Boolean(opts.json))), Boolean(opts.json));
    });

  program
    .command('status')
    .description('every difusor: state, consecutive misses, last delivered cut, last error')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }) => {
      jsonRequested = Boolean(opts.json);
      const registry = await loadRegistryFor(globals(), ctx);
      const report = await status(registry, resolveStateDir(globals(), registry, ctx.cwd));
      for (const w of report.warnings) err(style.warn(`warning: ${w}`));
      if (opts.json) out(JSON.stringify({ latest_cut: report.latest_cut, difusores: report.difusores }, null, 2));
      else out(renderStatus(report, style));
    });

  program
    .command('block')
    .description('block a difusor by hand: it is skipped until unblocked')
    .argument('<id>', 'difusor id')
    .addOption(new Option('--reason <text>', 'why (recorded in the ledger)').makeOptionMandatory())
    .action(async (id: string, opts: { reason: string }) => {
      const registry = await loadRegistryFor(globals(), ctx);
      const change = await block(registry, resolveStateDir(globals(), registry, ctx.cwd), id, opts.reason, ctx.clock);
      out(renderBlockChange(change));
    });

  program
    .command('unblock')
    .description('unblock a difusor and clear its miss count')
    .argument('<id>', 'difusor id')
    .action(async (id: string) => {
      const registry = await loadRegistryFor(globals(), ctx);
      const change = await unblock(registry, resolveStateDir(globals(), registry, ctx.cwd), id, ctx.clock);
      out(renderBlockChange(change));
    });

  program
    .command('keyscan')
    .description('print a server’s host key fingerprint in the registry’s host_key format')
    .argument('<target>', 'a difusor id from the registry, or HOST[:PORT]')
    .option('--timeout <seconds>', 'connect timeout', '15')
    .action(async (target: string, opts: { timeout: string }) => {
      const result = await keyscan(target, Number(opts.timeout), globals(), ctx);
      if (result.lines.length) out(result.lines);
      if (result.errorLines) err(result.errorLines);
      outcome = { exitCode: result.exitCode };
    });

  program
    .command('demo')
    .description('a whole election night in a minute: local SFTP servers, four cuts, one difusor down and blocked')
    .option('--keep', 'keep the demo’s temp folder and print its path')
    .action(async (opts: { keep?: boolean }) => {
      const { runDemo } = await import('../demo/demo.js');
      const result = await runDemo({ keep: Boolean(opts.keep), clock: ctx.clock, env: ctx.env, print: out, style });
      outcome = { exitCode: result.exitCode };
    });

  /** A cut's or push's report: the JSON document or the summary table, and its exit code. */
  function finishRun(report: RunReport, json: boolean): void {
    out(json ? JSON.stringify(report, null, 2) : renderRunSummary(report, style));
    outcome = { exitCode: report.exit_code };
  }

  function runDeps(json: boolean) {
    return { clock: ctx.clock, env: ctx.env, transport: ssh2Transport, signal: io.signal, onProgress: onProgress(json) };
  }

  try {
    await program.parseAsync(argv);
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      err([`prep-push: ${error.message.replace(/^error: /, '')}`, 'hint: run `prep-push --help` (or `prep-push COMMAND --help`) for usage']);
      return 2;
    }
    const failure = isPrepPushError(error) ? error : unexpected(error);
    if (jsonRequested) {
      out(JSON.stringify({ error: describe(failure), exit_code: failure.exitCode }, null, 2));
    }
    err(renderError(failure, style));
    return failure.exitCode;
  }
}

function requireIds(ids: string[] | undefined): string[] | undefined {
  if (ids !== undefined && ids.length === 0) {
    throw new PrepPushError('usage', '--only: no difusor id given', { hint: 'e.g. --only el-sol,la-voz' });
  }
  return ids;
}

function resolvePath(cwd: string, p: string): string {
  return path.resolve(cwd, p);
}

function unexpected(error: unknown): PrepPushError {
  const e = error as NodeJS.ErrnoException;
  return new PrepPushError('io', `unexpected error: ${e?.message ?? String(error)}`, {
    hint: e?.code ? `system error ${e.code}${e.path ? ` on ${e.path}` : ''}` : 'this is a bug in prep-push; please report it with the command you ran',
    cause: error,
  });
}

function describe(error: PrepPushError) {
  return { kind: error.kind, message: error.message, details: error.details, hint: error.hint ?? null };
}

function renderError(error: PrepPushError, style: Style): string[] {
  return [
    ...error.details,
    `${style.bad('prep-push:')} ${error.message}`,
    ...(error.hint ? [`hint: ${error.hint}`] : []),
  ];
}

/** The process around main(): signals, exit code, and a guard against a handle that never closes. */
export async function runAsProcess(): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130); // a second Ctrl-C means now
    process.stderr.write(`\nprep-push: ${signal}: finishing uploads in flight (within their deadline), starting no new ones; again to quit now\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(process.argv, {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stdout.isTTY),
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
    signal: controller.signal,
  });
  process.exitCode = code;
  // Everything is closed by now; if a library still holds a handle, do not let cron pile up runs.
  setTimeout(() => process.exit(code), 3000).unref();
}
