// What a difusor's SFTP server offers for publishing, probed once per connection (or recalled from
// the state dir, ./capability-memory.ts), and the publish.mode each combination leads to.
import { posix } from 'node:path';
import type pLimitType from 'p-limit';
import type { SftpSession } from '../sftp/session.js';
import { probeName, RELEASES_DIR } from './layout.js';
import { removeTree } from './remote-tree.js';

type Limit = ReturnType<typeof pLimitType>;

/**
 * How `current` is switched:
 * - `rename`: temporary symlink posix-renamed over `current` (atomic: no window);
 * - `unlink-rename`: no posix-rename@openssh.com: `current` removed, then the temporary link
 *   renamed into place (window: one round trip without `current`);
 * - `relink`: the server's rename follows symlinks (ProFTPD mod_sftp): `current` removed and
 *   created again, both requests sent back to back (window: the server's time between them).
 */
export type SwitchMethod = 'rename' | 'unlink-rename' | 'relink';

export interface PublishCapabilities {
  hardlink: boolean;
  posixRename: boolean;
  symlink: boolean;
  /** A rename onto a symlink replaces the link (false on ProFTPD, which resolves it). */
  renameReplacesSymlink: boolean;
}

/** One difusor's remembered capabilities (./capability-memory.ts keeps them in the state dir). */
export interface CapabilityMemory {
  recall(extensions: Readonly<Record<string, string>>): PublishCapabilities | null;
  remember(extensions: Readonly<Record<string, string>>, caps: PublishCapabilities): void;
  forget(): void;
}

/** `link+rename` is the goal: hard links and one atomic rename. */
export type PublishMode = `${'link' | 'upload'}+${SwitchMethod}`;

export function switchMethodOf(caps: PublishCapabilities): SwitchMethod | null {
  if (!caps.symlink) return null;
  if (!caps.renameReplacesSymlink) return 'relink';
  return caps.posixRename ? 'rename' : 'unlink-rename';
}

/**
 * A release built by recycling the one pruning would remove (`publish.keep_releases` > 0): unchanged
 * files kept in place, the others linked or uploaded; the switch is the server's, as above.
 */
export function recycledModeOf(switchMethod: SwitchMethod): `recycle+${SwitchMethod}` {
  return `recycle+${switchMethod}`;
}

export function publishModeOf(caps: PublishCapabilities, switchMethod: SwitchMethod): PublishMode {
  return `${caps.hardlink ? 'link' : 'upload'}+${switchMethod}`;
}

const probed = new WeakMap<SftpSession, PublishCapabilities>();

/**
 * Reads the advertised extensions and tries symlinks for real in a `.probe` folder under
 * `releases/` (removed again): servers disagree on SYMLINK's argument order and on whether RENAME
 * follows a symlink, and only the result on disk tells. `memory`: what an earlier run found on this
 * difusor, used instead of the probe while the server advertises the same extensions.
 */
export async function probeCapabilities(
  session: SftpSession,
  remoteDir: string,
  limit: Limit,
  memory?: CapabilityMemory,
  probeFolder: string = probeName(),
): Promise<PublishCapabilities> {
  const known = probed.get(session);
  if (known) return known;
  const extensions = session.extensions();
  const recalled = memory?.recall(extensions) ?? null;
  if (recalled !== null) {
    probed.set(session, recalled);
    return recalled;
  }
  const caps: PublishCapabilities = {
    hardlink: 'hardlink@openssh.com' in extensions,
    posixRename: 'posix-rename@openssh.com' in extensions,
    symlink: false,
    renameReplacesSymlink: false,
  };
  const dir = posix.join(remoteDir, RELEASES_DIR, probeFolder);
  await session.mkdir(dir, 0o755);
  try {
    try {
      await session.mkdir(posix.join(dir, 'a'), 0o755);
      await session.mkdir(posix.join(dir, 'b'), 0o755);
      await session.symlink('a', posix.join(dir, 'link'));
      caps.symlink = posix.basename(await session.readlink(posix.join(dir, 'link'))) === 'a';
    } catch (error) {
      if (typeof (error as { code?: unknown }).code !== 'number' && !/does not support|not supported/i.test(String(error))) throw error;
    }
    if (caps.symlink) {
      await session.symlink('b', posix.join(dir, 'next'));
      try {
        await session.posixRename(posix.join(dir, 'next'), posix.join(dir, 'link'));
        // READLINK, not LSTAT: ProFTPD's LSTAT follows a live symlink and would call it a folder.
        caps.renameReplacesSymlink = posix.basename(await session.readlink(posix.join(dir, 'link'))) === 'b';
      } catch (error) {
        // A server that resolves `link` tries to rename onto the folder it names, and fails.
        if (typeof (error as { code?: unknown }).code !== 'number') throw error;
      }
    }
  } finally {
    await removeTree(session, dir, limit);
  }
  probed.set(session, caps);
  memory?.remember(extensions, caps);
  return caps;
}
