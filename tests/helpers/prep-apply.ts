// Running the kit's prep-apply for real in tests: a kit rendered for a difusor folder, a PREP-like
// site that changes between cuts, and prep-apply run as an unprivileged user (nobody) under a shell.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lchownSync, mkdirSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { readKitTemplates } from '../../src/kit/templates-dir.js';
import { renderKit } from '../../src/kit/render-kit.js';
import type { SshSigner } from '../../src/signing/sshsig.js';
import { allowedSignersLine } from '../../src/signing/sshsig.js';
import type { Difusor } from '../../src/registry/types.js';
import { aDifusor } from './builders.js';

export const NOBODY = 65534;
export const SHELLS: ReadonlyArray<{ name: string; argv: string[] }> = [
  { name: 'dash', argv: ['dash'] },
  { name: 'bash', argv: ['bash', '--posix'] },
  { name: 'busybox sh', argv: ['busybox', 'sh'] },
];

export interface ApplyRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Writes the kit for a difusor whose folder (on this disk) is `applyDir`; returns the kit folder.
 * `difusor` overrides its fields (a `remoteDir` that differs from `applyDir` makes a chroot).
 */
export async function writeTestKit(
  kitDir: string,
  applyDir: string,
  signer: SshSigner,
  institute = 'IEM',
  options: { difusor?: Partial<Difusor>; applyUser?: string; loginKey?: string } = {},
): Promise<string> {
  const files = renderKit({
    institute,
    difusor: aDifusor('el-sol', { remoteDir: applyDir, ...options.difusor, ...(options.difusor?.remoteDir ? { applyDir } : {}) }),
    allowedSigners: allowedSignersLine(institute, signer.publicKeyBlob),
    ...(options.applyUser ? { applyUser: options.applyUser } : {}),
    ...(options.loginKey ? { loginKey: options.loginKey } : {}),
    templates: await readKitTemplates(),
  });
  mkdirSync(kitDir, { recursive: true, mode: 0o755 });
  for (const file of files) writeFileSync(path.join(kitDir, file.name), file.content, { mode: file.mode });
  return kitDir;
}

/**
 * Runs `SHELL KIT/prep-apply --dir DIR ...` as nobody, or as the account `user` with its groups;
 * `onSpawn` gets the child (to kill it); `env` adds variables (LANG, LC_ALL).
 */
export function runPrepApply(
  shell: { argv: string[] },
  kitDir: string,
  args: string[],
  options: { pathPrefix?: string; onSpawn?: (pid: number) => void; user?: string; env?: Record<string, string> } = {},
): Promise<ApplyRun> {
  return new Promise((resolve, reject) => {
    const who = options.user
      ? ['--reuid', options.user, '--regid', options.user, '--init-groups']
      : ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups'];
    const argv = [...who, ...shell.argv, path.join(kitDir, 'prep-apply'), ...args];
    const basePath = process.env.PATH ?? '/usr/bin:/bin';
    const env = { ...options.env, PATH: options.pathPrefix ? `${options.pathPrefix}:${basePath}` : basePath };
    // Its own process group, so a test can kill the shell and whatever it runs at once.
    const child = spawn('setpriv', argv, { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    const onSpawn = options.onSpawn;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    if (child.pid !== undefined) onSpawn?.(child.pid);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Makes `dir` and everything under it belong to nobody (so prep-apply can write there); links themselves, never their targets. */
export function giveToNobody(dir: string): void {
  chownSync(dir, NOBODY, NOBODY);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) giveToNobody(p);
    else lchownSync(p, NOBODY, NOBODY);
  }
}

/** `FILE.sig` made by the real `ssh-keygen -Y sign -n prep-push` with a private key file (as the institute's tools would). */
export function signWithSshKeygen(privateKeyPath: string, file: string): void {
  rmSync(`${file}.sig`, { force: true });
  const run = spawnSync('ssh-keygen', ['-Y', 'sign', '-f', privateKeyPath, '-n', 'prep-push', file], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ssh-keygen -Y sign ${file} failed: ${run.stderr}`);
}

/** A PREP-shaped site: `dirs` folders of `perDir` small JSON files, deterministic for a seed. */
export function writeSite(dir: string, dirs: number, perDir: number, version: (i: number) => number): void {
  rmSync(dir, { recursive: true, force: true });
  for (let d = 0; d < dirs; d += 1) {
    const sub = path.join(dir, 'json', `distrito-${String(d).padStart(3, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < perDir; f += 1) {
      const i = d * perDir + f;
      // Hex digests: about as compressible as real vote counts and ids, unlike repeated letters.
      const acta = Array.from({ length: 3 + (i % 5) }, (_, n) => createHash('sha256').update(`${i}/${n}/${version(i)}`).digest('hex')).join('');
      writeFileSync(path.join(sub, `casilla-${f}.json`), JSON.stringify({ casilla: i, votos: version(i) * 7 + i, acta }));
    }
  }
  writeFileSync(path.join(dir, 'json', 'main.json'), JSON.stringify({ version: version(-1) }));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>PREP</title>\n');
}

/** Lets nobody traverse every folder from / to `dir` (mkdtemp makes 0700 folders). */
export function openUpTo(dir: string): void {
  chmodSync(dir, 0o755);
}

/** Lets nobody traverse every folder above `dir` that others cannot (an sshd account's, a workspace). */
export function openAllParents(dir: string): void {
  for (let p = dir; p !== path.dirname(p); p = path.dirname(p)) if (statSync(p).mode & 0o700 && !(statSync(p).mode & 0o001)) openUpTo(p);
}

export function modeOf(p: string): number {
  return statSync(p).mode & 0o777;
}
