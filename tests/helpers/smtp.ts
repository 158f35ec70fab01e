// Starts tests/helpers/smtp_server.py (Debian's python3-aiosmtpd) on a free port: a real SMTP server
// that saves each message as JSON, refuses "rechazar" recipients, and can be slow to accept DATA.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';
import { REPO_ROOT } from './workspace.js';

export interface SavedMail {
  mail_from: string;
  rcpt_tos: string[];
  subject: string;
  message_id: string;
  text: string;
}

export interface SmtpFixture {
  port: number;
  /** Messages saved so far, oldest first. */
  messages(): Promise<SavedMail[]>;
  stop(): Promise<void>;
}

export async function startSmtp(opts: { dataDelayS?: number } = {}): Promise<SmtpFixture> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-smtp-'));
  const child: ChildProcess = spawn('/usr/bin/python3', [path.join(REPO_ROOT, 'tests/helpers/smtp_server.py'), String(port), dir, String(opts.dataDelayS ?? 0)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    // Python with aiosmtpd starts in about a second when quiet; generous for a loaded machine.
    const timer = setTimeout(() => reject(new Error(`SMTP server did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`SMTP server exited ${code}: ${stderr}`));
    });
  });
  return {
    port,
    async messages() {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
      return Promise.all(names.map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as SavedMail));
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
