// `kit ID [--out DIR]`: writes everything a difusor's IT installs, configured for that difusor.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PrepPushError } from '../core/errors.js';
import { renderKit } from '../kit/render-kit.js';
import { readKitTemplates } from '../kit/templates-dir.js';
import { loadSigningKey } from '../signing/load-signing-key.js';
import { allowedSignersLine } from '../signing/sshsig.js';
import { loadRegistryFor, type CommandEnv, type GlobalOptions } from './context.js';

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
  if (!registry.signing) {
    throw new PrepPushError('registry', 'kit: the registry has no signing_key, and prep-apply only applies signed packages', {
      hint: 'create a key with `ssh-keygen -t ed25519 -f keys/firma_ed25519` and add `signing_key: ./keys/firma_ed25519` to the registry',
    });
  }
  const signer = await loadSigningKey(registry.signing, ctx.env);
  const files = renderKit({
    institute: registry.institute,
    difusor,
    allowedSigners: allowedSignersLine(registry.institute, signer.publicKeyBlob),
    templates: await readKitTemplates(),
  });
  const dir = path.resolve(ctx.cwd, out ?? `kit-${difusor.id}`);
  try {
    await mkdir(dir, { recursive: true });
    for (const file of files) {
      const target = path.join(dir, file.name);
      await writeFile(target, file.content, { mode: file.mode });
      await chmod(target, file.mode);
    }
  } catch (error) {
    throw new PrepPushError('io', `kit: cannot write ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'choose a writable folder with --out DIR',
      cause: error,
    });
  }
  return { dir, files: files.map((f) => f.name) };
}
