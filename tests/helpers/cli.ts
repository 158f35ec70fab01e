// Runs the built prep-push binary as a user would, capturing stdout, stderr and the exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './workspace.js';

export const BIN = path.join(REPO_ROOT, 'bin', 'prep-push.js');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built binary to its end (killed after `timeoutMs`, default 120 s: a hang guard that holds
 * on a loaded CI machine and still fires before jest's 180 s test timeout).
 */
export async function runPrepPush(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  const started = startPrepPush(args, opts);
  const timer = setTimeout(() => started.child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  try {
    return await started.done;
  } finally {
    clearTimeout(timer);
  }
}

export interface StartedCli {
  child: ChildProcess;
  /** Output so far (grows while the process runs). */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process has exited and its pipes closed. */
  done: Promise<CliRun>;
}

/** Starts the built binary without waiting for it, so a test can signal or SIGKILL it mid-run. */
export function startPrepPush(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): StartedCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
  };
}
