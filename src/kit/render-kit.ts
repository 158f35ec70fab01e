// The difusor kit: what a difusor's IT installs, as readable template files in ./templates filled in
// by this small renderer. Which files depends on the delivery mode: a package difusor gets prep-apply,
// its units and a set-up script for two accounts; a site difusor (prep-push publishes releases/ and
// current itself) gets no prep-apply. Pure: template texts and a difusor in, file names and contents out.
import { posix } from 'node:path';
import { PrepPushError } from '../core/errors.js';
import type { Difusor } from '../registry/types.js';

/** Where the kit's README and instalar.sh install prep-apply and allowed_signers. */
export const KIT_INSTALL_DIR = '/opt/prep-apply';
/** Where instalar.sh puts the upload account's authorized_keys (root-owned, outside its reach). */
export const KIT_KEYS_DIR = '/etc/ssh/prep-autorizadas';
/** The account the units and the crontab run prep-apply as. */
export const DEFAULT_APPLY_USER = 'prep-apply';

export type KitKind = 'package' | 'site';

interface KitTemplate {
  name: string;
  template: string;
  mode: number;
  /** Values go inside '...' in sh: quoted for it. */
  shell?: true;
}

/** Output file → template file, per kind of kit. */
export const KIT_FILES: Readonly<Record<KitKind, ReadonlyArray<KitTemplate>>> = {
  package: [
    { name: 'prep-apply', template: 'prep-apply.sh', mode: 0o755, shell: true },
    { name: 'instalar.sh', template: 'instalar.sh', mode: 0o755, shell: true },
    { name: 'README.md', template: 'README.md', mode: 0o644 },
    { name: 'prep-apply.service', template: 'prep-apply.service', mode: 0o644 },
    { name: 'prep-apply.path', template: 'prep-apply.path', mode: 0o644 },
    { name: 'crontab.txt', template: 'crontab.txt', mode: 0o644 },
    { name: 'nginx.conf', template: 'nginx.conf', mode: 0o644 },
    { name: 'apache.conf', template: 'apache.conf', mode: 0o644 },
    { name: 'sshd_config.txt', template: 'sshd_config.txt', mode: 0o644 },
  ],
  site: [
    { name: 'instalar.sh', template: 'instalar-sitio.sh', mode: 0o755, shell: true },
    { name: 'README.md', template: 'README-sitio.md', mode: 0o644 },
    { name: 'nginx.conf', template: 'nginx.conf', mode: 0o644 },
    { name: 'apache.conf', template: 'apache.conf', mode: 0o644 },
    { name: 'sshd_config.txt', template: 'sshd_config-sitio.txt', mode: 0o644 },
  ],
};

/** Every template file, for reading them all at once. */
export const KIT_TEMPLATES: readonly string[] = [...new Set(Object.values(KIT_FILES).flatMap((files) => files.map((f) => f.template)))];

export interface KitFile {
  name: string;
  content: string;
  mode: number;
}

export interface KitInput {
  institute: string;
  /** `institute_name`, the full name, when the registry has one. */
  instituteName?: string;
  difusor: Difusor;
  /** The `allowed_signers` line (src/signing/sshsig.ts allowedSignersLine); '' for a site kit without signing. */
  allowedSigners: string;
  /** The public key prep-push logs in with, `TYPE BASE64` (src/kit/login-key.ts); absent: unknown. */
  loginKey?: string;
  /** The account that runs prep-apply; default DEFAULT_APPLY_USER. */
  applyUser?: string;
  /** The institute's PREP desk (registry `contact`): whom the difusor calls. */
  contact?: { name: string; email?: string; phone?: string };
  /** Template name → text. */
  templates: ReadonlyMap<string, string>;
}

/** A principal in allowed_signers is a pattern list: no spaces, commas, quotes or wildcards. */
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
/** The same rule the registry applies to `username` (src/registry/schema.ts). */
const ACCOUNT = /^[a-z_][a-z0-9_-]{0,31}$/;
/** The same rule the registry applies to `remote_dir` and `apply_dir`. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const LOGIN_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}$/;

export function kitKindOf(difusor: Difusor): KitKind {
  return difusor.delivery === 'site' ? 'site' : 'package';
}

/** Every kit file, rendered for one difusor. */
export function renderKit(input: KitInput): KitFile[] {
  const { difusor, institute } = input;
  if (!PRINCIPAL.test(institute)) {
    throw new PrepPushError('registry', `institute: "${institute}" cannot name the signer in allowed_signers`, {
      hint: 'use a short name of letters, digits, ".", "_", "-" (e.g. IEM) for institute',
    });
  }
  const applyUser = input.applyUser ?? DEFAULT_APPLY_USER;
  // The registry checks these at validate; a Difusor built another way is checked again here,
  // because each of them is pasted into sh, sshd, nginx, Apache and systemd files.
  const applyDir = posix.normalize(difusor.applyDir ?? difusor.remoteDir).replace(/(.)\/+$/, '$1');
  const remoteDir = posix.normalize(difusor.remoteDir).replace(/(.)\/+$/, '$1');
  for (const [field, value, rule] of [
    ['username', difusor.username, ACCOUNT],
    ['apply user', applyUser, ACCOUNT],
    ['remote_dir', remoteDir, SAFE_PATH],
    ['apply_dir', applyDir, SAFE_PATH],
  ] as const) {
    if (!rule.test(value) || value.split('/').includes('..')) {
      throw new PrepPushError('registry', `kit: ${field} "${value}" of ${difusor.id} cannot be written into the kit's files`, {
        hint: 'run `prep-push validate`: user names are [a-z_][a-z0-9_-]{0,31}, folders absolute paths of A-Z a-z 0-9 . _ / - without ".."',
      });
    }
  }
  if (applyUser === difusor.username) {
    throw new PrepPushError('registry', `kit: the applying account and the SFTP account of ${difusor.id} are both "${applyUser}"; they must differ`);
  }
  const loginKey = input.loginKey?.trim();
  if (loginKey !== undefined && !LOGIN_KEY.test(loginKey)) throw new Error(`kit: not an OpenSSH public key: ${loginKey.slice(0, 40)}`);

  const kind = kitKindOf(difusor);
  const keep = difusor.applyKeepReleases ?? 0;
  const chroot = chrootOf(applyDir, remoteDir);
  const passwordOnly = difusor.passwordEnv !== undefined && difusor.privateKey === undefined;
  const values: Record<string, string> = {
    INSTITUTE: institute,
    INSTITUTE_LONG: input.instituteName ? `${input.instituteName} (${institute})` : institute,
    CONTACT_SECTION: contactSection(input.contact, institute),
    DIFUSOR_ID: difusor.id,
    DIFUSOR_NAME: difusor.name,
    USERNAME: difusor.username,
    APPLY_USER: applyUser,
    APPLY_DIR: applyDir,
    REMOTE_DIR: remoteDir,
    KEEP_RELEASES: String(keep),
    KEEP_TEXT: keep === 0 ? 'todas las publicaciones (`apply_keep_releases: 0`)' : `las ${keep} publicaciones más recientes; la actual nunca se borra`,
    KIT_INSTALL_DIR,
    KEYS_DIR: KIT_KEYS_DIR,
    CHROOT: chroot ?? '',
    CHROOT_LINE: chroot === undefined ? '# ChrootDirectory (ninguna: lea la nota de arriba)' : `ChrootDirectory ${chroot}`,
    CHROOT_NOTE: commentLines(chrootNote(chroot, applyDir, remoteDir, difusor.username, institute)),
    JAIL_WORDS: chroot === undefined ? 'solo SFTP, sin jaula' : `solo SFTP, enjaulada en ${chroot}`,
    AUTH_LINES: passwordOnly
      ? 'AuthenticationMethods password\n    PasswordAuthentication yes'
      : `AuthorizedKeysFile ${KIT_KEYS_DIR}/%u\n    AuthenticationMethods publickey\n    PasswordAuthentication no`,
    SFTP_PASSWORD: passwordOnly ? '1' : '0',
    LOGIN_KEY_ROW: loginKey
      ? `| \`authorized_keys\` | la llave pública con la que el ${institute} entra a la cuenta SFTP \`${difusor.username}\` (una línea con \`restrict\`) |\n`
      : '',
    ACCOUNT_AUTH_TEXT: accountAuthText(loginKey, passwordOnly, institute, difusor.username),
    // The site README's parts about checking signatures, when the institute signs.
    SIGNERS_ROW: input.allowedSigners === '' ? '' : `| \`allowed_signers\` | la llave pública con la que el ${institute} firma cada publicación (para verificarla a mano) |\n`,
    VERIFY_SECTION: input.allowedSigners === '' ? '' : siteVerifySection(applyDir, institute),
    // Lines of the READMEs' set-up commands (what instalar.sh does), present only where they apply.
    UNLOCK_COMMAND: passwordOnly ? '' : `   usermod -p '*' ${difusor.username}    # sin contraseña, pero no bloqueada: entra solo con la llave\n`,
    JAIL_COMMAND: chroot === undefined ? '' : `   install -d -o root -g root -m 0755 ${chroot}    # la jaula de la cuenta SFTP\n`,
    KEY_COMMANDS: loginKey
      ? `   install -d -o root -g root -m 0755 ${KIT_KEYS_DIR}\n   install -o root -g root -m 0644 authorized_keys ${KIT_KEYS_DIR}/${difusor.username}\n`
      : '',
  };
  const files = KIT_FILES[kind].map(({ name, template, mode, shell }) => {
    const text = input.templates.get(template);
    if (text === undefined) throw new Error(`kit template ${template} is missing`);
    return { name, mode, content: fillTemplate(text, values, shell ? quoteForShellSingleQuotes : (v) => v, template) };
  });
  if (input.allowedSigners !== '' || kind === 'package') files.push({ name: 'allowed_signers', content: input.allowedSigners, mode: 0o644 });
  if (loginKey) files.push({ name: 'authorized_keys', content: authorizedKeysLine(loginKey, institute), mode: 0o644 });
  return files;
}

/** The upload account's authorized_keys line: `restrict` (no shell, no forwarding, no pty) first. */
export function authorizedKeysLine(loginKey: string, institute: string): string {
  return `restrict ${loginKey.trim()} ${institute}-prep-push\n`;
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

function chrootNote(chroot: string | undefined, applyDir: string, remoteDir: string, username: string, institute: string): string {
  if (chroot !== undefined) {
    return (
      `La cuenta queda enjaulada en ${chroot}: ve ${applyDir} como ${remoteDir}, la ruta (remote_dir) con la que ` +
      `el ${institute} entrega. ${chroot} y cada carpeta por encima de ella deben ser de root y nadie más debe poder escribir en ellas.`
    );
  }
  return (
    `remote_dir (${remoteDir}) es la misma ruta en este disco, así que esta configuración NO enjaula la cuenta ` +
    `(ChrootDirectory queda comentado): la cuenta solo puede usar SFTP, pero ve el disco con sus permisos. Para enjaularla, ` +
    `pida al ${institute} que declare apply_dir: /srv/sftp/${username}${remoteDir === '/' ? '' : remoteDir} y que le envíe un kit nuevo.`
  );
}

function accountAuthText(loginKey: string | undefined, passwordOnly: boolean, institute: string, username: string): string {
  if (passwordOnly) {
    return (
      `El ${institute} entra a \`${username}\` con contraseña: póngale una con \`passwd ${username}\` y ` +
      `comuníquesela al ${institute} por teléfono, nunca por correo.`
    );
  }
  if (loginKey) {
    return (
      `El ${institute} entra a \`${username}\` con la llave pública de \`authorized_keys\` (nunca con contraseña); ` +
      `\`instalar.sh\` la copia a \`${KIT_KEYS_DIR}/${username}\`, de root, donde la cuenta no puede cambiarla.`
    );
  }
  return (
    `Este kit no trae la llave pública del ${institute}: pídasela y guárdela en \`${KIT_KEYS_DIR}/${username}\` ` +
    `(de root, modo 0644), precedida de \`restrict \`.`
  );
}

function siteVerifySection(applyDir: string, institute: string): string {
  return [
    '## Verificar a mano',
    '',
    '```sh',
    `cd ${applyDir}/current`,
    `ssh-keygen -Y verify -f /RUTA/DEL/KIT/allowed_signers -I ${institute} -n prep-push -s MANIFEST.json.sig < MANIFEST.json`,
    '```',
    '',
    `La firma es válida solo si \`ssh-keygen\` imprime \`Good "prep-push" signature for ${institute}\`.`,
    'Cada archivo publicado figura en `MANIFEST.json` con su tamaño y su SHA-256 (`sha256sum ARCHIVO`).',
    '',
  ].join('\n');
}

/** A paragraph as `# ` comment lines of at most 100 columns. */
function commentLines(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > 98) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n# ');
}

/** The README's last section: the institute's desk, or where to ask when the registry names none. */
function contactSection(contact: KitInput['contact'], institute: string): string {
  const lines = ['## A quién llamar', ''];
  if (contact === undefined) {
    lines.push(`Ante cualquier duda o falla, comuníquese con la mesa del PREP del ${institute}, que le entregó este kit.`);
  } else {
    lines.push(`Ante cualquier duda o falla, comuníquese con el ${institute}:`, '', `- ${contact.name}`);
    if (contact.phone) lines.push(`- Teléfono: ${contact.phone}`);
    if (contact.email) lines.push(`- Correo: ${contact.email}`);
  }
  return `${lines.join('\n')}\n`;
}
