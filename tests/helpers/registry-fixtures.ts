// A temp folder for registry tests: real keys made by ssh-keygen (plain, passphrase-protected,
// public half, junk), and a way to write difusores.yaml variants next to them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeKeyPair } from './keys.js';

/** Syntactically valid made-up fingerprints (43 base64 characters, no padding). */
export const HOST_KEY_A = 'SHA256:As1b+HQfL/ULKbUV/NP14pm3SvU+t4FUD20XgiDKJoc';
export const HOST_KEY_B = 'SHA256:tt2se84dLlF7Q6/A+d6xbYiQ6XHPNGkjgKdDinAfRpc';

/** The passphrase of keys/locked_ed25519. */
export const KEY_PASSPHRASE = 'secret';

export interface RegistryWorkspace {
  dir: string;
  /** keys/id_ed25519, no passphrase. */
  plainKey: string;
  /** keys/locked_ed25519, passphrase KEY_PASSPHRASE. */
  lockedKey: string;
  /** keys/id_ed25519.pub. */
  publicKey: string;
  /** keys/not-a-key: a text file. */
  notAKey: string;
  /** Writes `text` to `dir/name` (subfolders created) and returns its absolute path. */
  write(name: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeRegistryWorkspace(): Promise<RegistryWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), 'prep-push-registry-'));
  const keys = join(dir, 'keys');
  await mkdir(keys);
  const plain = await makeKeyPair(keys, 'id_ed25519');
  const locked = await makeKeyPair(keys, 'locked_ed25519', { passphrase: KEY_PASSPHRASE });
  const notAKey = join(keys, 'not-a-key');
  await writeFile(notAKey, 'this is not a key\n');
  return {
    dir,
    plainKey: plain.privateKeyPath,
    lockedKey: locked.privateKeyPath,
    publicKey: plain.publicKeyPath,
    notAKey,
    async write(name, text) {
      const file = join(dir, name);
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, text);
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Joins lines into YAML text, so a test's line numbers can be read off its array. */
export function yamlLines(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
