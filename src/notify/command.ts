// The command channel: runs the registry's argv once per notification, the event as JSON on its
// stdin; a non-zero exit is a failure, and a command still running at the timeout is killed.
import { spawn } from 'node:child_process';
import type { NotifyChannel, SendOutcome } from './channel.js';
import type { Notification } from '../ledger/notification.js';

export function commandChannel(argv: string[], timeoutS: number, env: NodeJS.ProcessEnv): NotifyChannel {
  const shown = argv.join(' ');
  return {
    name: 'command',
    send(n: Notification, key: string): Promise<SendOutcome> {
      return new Promise((resolve) => {
        let stderr = '';
        let timedOut = false;
        const child = spawn(argv[0], argv.slice(1), {
          stdio: ['pipe', 'ignore', 'pipe'],
          env: { ...env, PREP_PUSH_EVENT: n.event, PREP_PUSH_EVENT_KEY: key },
          // Its own process group, so the timeout also kills whatever a shell script started.
          detached: true,
        });
        const kill = () => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        };
        const timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, timeoutS * 1000);
        child.stderr!.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString('utf8')).slice(-500);
        });
        child.stdin!.on('error', () => {}); // a command that does not read its stdin is its business
        child.stdin!.end(`${JSON.stringify(n)}\n`);
        child.on('error', (error: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          resolve({ ok: false, error: `command ${shown}: ${error.code ?? error.message}`, channelDown: true });
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          if (timedOut) resolve({ ok: false, error: `command ${shown}: still running after ${timeoutS} s, killed`, channelDown: true });
          else if (code === 0) resolve({ ok: true, detail: null });
          else {
            const tail = stderr.trim().split('\n').slice(-1)[0];
            const how = signal ? `killed by ${signal}` : `exited ${code}`;
            resolve({ ok: false, error: `command ${shown} ${how}${tail ? `: ${tail}` : ''}`, channelDown: false });
          }
        });
      });
    },
  };
}
