// `kit ID [--out DIR]`: writes everything a difusor's IT installs, configured for that difusor and its
// delivery mode. Each file is written beside its final name and renamed into place, so an existing
// symlink in DIR is replaced, never written through.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PrepPushError } from '../core/errors.js';
import { publicKeyOfPrivateKey, publicKeyOfPubFile } from '../kit/login-key.js';
import { kitKindOf, renderKit } from '../kit/render-kit.js';
import { readKitTemplates } from '../kit/templates-dir.js';
import type { Difusor } from '../registry/types.js';
import { loadSigningKey } from '../signing/load-signing-key.js';
import { allowedSignersLine } from '../signing/sshsig.js';
import { loadRegistryFor, type CommandEnv, type GlobalOptions } from './context.js';
import { writeFileAtomically } from '../core/atomic-write.js';

export interface KitResult {
  dir: string;
  files: string[];
}

export async function writeKit(id: string, out: string | undefined, global: GlobalOptions, ctx: CommandEnv): Promise<KitResult> {
  const registry = await loadRegistryFor(global, ctx);
  const difusor = registry.difusores.find((d) => d.id === id);
  if (!difusor) {
    throw new PrepPushError('usage', `kit: no difusor "${id}" in the registry`, {
      hint: `give one of: ${registry.difusores.map((d) => d.id).join(', ')}`,
    });
  }
  // A site difusor runs no prep-apply; allowed_signers only lets it check releases by hand.
  if (!registry.signing && kitKindOf(difusor) === 'package') {
    throw new PrepPushError('registry', 'kit: the registry has no signing_key, and prep-apply only applies signed packages', {
      hint: 'create a key with `ssh-keygen -t ed25519 -f keys/firma_ed25519` and add `signing_key: ./keys/firma_ed25519` to the registry',
    });
  }
  const signer = registry.signing ? await loadSigningKey(registry.signing, ctx.env) : undefined;
  const loginKey = await readLoginKey(difusor, ctx.env);
  const files = renderKit({
    institute: registry.institute,
    ...(registry.instituteName ? { instituteName: registry.instituteName } : {}),
    difusor,
    allowedSigners: signer ? allowedSignersLine(registry.institute, signer.publicKeyBlob) : '',
    ...(loginKey ? { loginKey } : {}),
    ...(registry.contact ? { contact: registry.contact } : {}),
    templates: await readKitTemplates(),
  });
  const dir = path.resolve(ctx.cwd, out ?? `kit-${difusor.id}`);
  try {
    await mkdir(dir, { recursive: true });
    for (const file of files) await writeFileAtomically(path.join(dir, file.name), file.content, file.mode);
  } catch (error) {
    throw new PrepPushError('io', `kit: cannot write ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'choose a writable folder with --out DIR',
      cause: error,
    });
  }
  return { dir, files: files.map((f) => f.name) };
}

/** The public key prep-push logs in to this difusor with: from its private key, else the `.pub` beside it. */
async function readLoginKey(difusor: Difusor, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (difusor.privateKey === undefined) return undefined;
  const data = await readFile(difusor.privateKey).catch(() => undefined);
  const passphrase = difusor.privateKeyPassphraseEnv === undefined ? undefined : env[difusor.privateKeyPassphraseEnv];
  const derived = data ? publicKeyOfPrivateKey(data, passphrase) : undefined;
  if (derived) return derived;
  const pub = await readFile(`${difusor.privateKey}.pub`, 'utf8').catch(() => undefined);
  return pub === undefined ? undefined : publicKeyOfPubFile(pub);
}

