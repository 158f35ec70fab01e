// The difusor kit: what a difusor's IT installs (prep-apply, allowed_signers, units, web server and
// sshd snippets), as readable template files in ./templates filled in by this small renderer.
// Pure: template texts and a difusor in, file names and contents out.
import { posix } from 'node:path';
import { PrepPushError } from '../core/errors.js';
import type { Difusor } from '../registry/types.js';

/** Where the kit's README tells the difusor to install prep-apply and allowed_signers. */
export const KIT_INSTALL_DIR = '/opt/prep-apply';

/** Output file → template file; `prep-apply` is the shell script (mode 0755). */
export const KIT_FILES: ReadonlyArray<{ name: string; template: string; mode: number; shell?: true }> = [
  { name: 'prep-apply', template: 'prep-apply.sh', mode: 0o755, shell: true },
  { name: 'README.md', template: 'README.md', mode: 0o644 },
  { name: 'prep-apply.service', template: 'prep-apply.service', mode: 0o644 },
  { name: 'prep-apply.path', template: 'prep-apply.path', mode: 0o644 },
  { name: 'crontab.txt', template: 'crontab.txt', mode: 0o644 },
  { name: 'nginx.conf', template: 'nginx.conf', mode: 0o644 },
  { name: 'apache.conf', template: 'apache.conf', mode: 0o644 },
  { name: 'sshd_config.txt', template: 'sshd_config.txt', mode: 0o644 },
];

export interface KitFile {
  name: string;
  content: string;
  mode: number;
}

export interface KitInput {
  institute: string;
  difusor: Difusor;
  /** The `allowed_signers` line (src/signing/sshsig.ts allowedSignersLine). */
  allowedSigners: string;
  /** Template name → text. */
  templates: ReadonlyMap<string, string>;
}

/** A principal in allowed_signers is a pattern list: no spaces, commas, quotes or wildcards. */
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/** Every kit file, rendered for one difusor. */
export function renderKit(input: KitInput): KitFile[] {
  const { difusor, institute } = input;
  if (!PRINCIPAL.test(institute)) {
    throw new PrepPushError('registry', `institute: "${institute}" cannot name the signer in allowed_signers`, {
      hint: 'use a short name of letters, digits, ".", "_", "-" (e.g. IEM) for institute',
    });
  }
  const applyDir = difusor.applyDir ?? difusor.remoteDir;
  const keep = difusor.applyKeepReleases ?? 0;
  const chroot = chrootOf(applyDir, difusor.remoteDir);
  const values: Record<string, string> = {
    INSTITUTE: institute,
    DIFUSOR_ID: difusor.id,
    DIFUSOR_NAME: difusor.name,
    USERNAME: difusor.username,
    APPLY_DIR: applyDir,
    REMOTE_DIR: difusor.remoteDir,
    KEEP_RELEASES: String(keep),
    KEEP_TEXT: keep === 0 ? 'todas las publicaciones (`apply_keep_releases: 0`)' : `las ${keep} publicaciones más recientes; la actual nunca se borra`,
    KIT_INSTALL_DIR,
    CHROOT: chroot ?? `/srv/sftp/${difusor.username}`,
    CHROOT_NOTE:
      chroot === undefined
        ? `remote_dir (${difusor.remoteDir}) y apply_dir coinciden, así que hoy la cuenta no está enjaulada. Para enjaularla, use esta jaula y declare en el registro de ${institute} apply_dir: /srv/sftp/${difusor.username}${difusor.remoteDir}.`
        : `La cuenta ve ${applyDir} como ${difusor.remoteDir}, dentro de la jaula ${chroot}.`,
  };
  const files = KIT_FILES.map(({ name, template, mode, shell }) => {
    const text = input.templates.get(template);
    if (text === undefined) throw new Error(`kit template ${template} is missing`);
    return { name, mode, content: fillTemplate(text, values, shell ? quoteForShellSingleQuotes : (v) => v, template) };
  });
  files.push({ name: 'allowed_signers', content: input.allowedSigners, mode: 0o644 });
  return files;
}

/** `{{NAME}}` → value; an unknown placeholder is a bug in the template, not a user error. */
export function fillTemplate(text: string, values: Record<string, string>, quote: (v: string) => string, where: string): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`kit template ${where}: unknown placeholder {{${name}}}`);
    return quote(value);
  });
}

/** Inside '...' in sh: a quote ends the string, so it becomes '\''. */
export function quoteForShellSingleQuotes(value: string): string {
  return value.split("'").join("'\\''");
}

/** The chroot that makes the account see applyDir as remoteDir, when the two differ that way. */
export function chrootOf(applyDir: string, remoteDir: string): string | undefined {
  const apply = posix.normalize(applyDir).replace(/\/+$/, '');
  const remote = posix.normalize(remoteDir).replace(/\/+$/, '');
  if (apply === remote || !apply.endsWith(remote)) return undefined;
  return apply.slice(0, apply.length - remote.length) || undefined;
}
