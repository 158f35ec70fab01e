// A difusor's disk for figure 6: a journaled ext4 file system in an image file, loop-mounted.
//
// Why not the temp dir: on the machines this bench runs on, the root file system is ext4 *without*
// a journal (/proc/fs/jbd2 is empty). There ext4 will not reuse an inode freed in the last 60 s
// (300 s while its inode table block is dirty) and steps over each such inode, reading it, on every
// file it creates (fs/ext4/ialloc.c: find_inode_bit -> recently_deleted). After the bench's own
// clean-ups (earlier figures, the reset between repetitions) that made each file created in a new
// release cost up to ~3 ms: `perf record -a` during figure 6a showed 33% of all CPU samples in
// ext4_create -> recently_deleted, and 611 small uploads per difusor took 1.8 s instead of 0.15 s.
// A server's disk has a journal (the default of mkfs.ext4 and of every distribution's installer),
// where ext4 makes no such check; both tools are measured on one.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScratchDisk {
  /** A world-writable folder (like /tmp) on the disk, for the sshd fixture's accounts. */
  dir: string;
  /** What the disk is, for the figure's notes. */
  note: string;
  /** Unmounts and deletes the image; safe to call twice. */
  remove(): void;
}

/**
 * Mounts a fresh journaled ext4 of `sizeGiB` (sparse image under /var/tmp). Needs root and a loop
 * device; without them, falls back to the temp dir and says so in `note`.
 */
export function journaledScratchDisk(sizeGiB: number, inodes: number): ScratchDisk {
  const base = mkdtempSync(join('/var/tmp', 'prep-push-bench-disk-'));
  const image = join(base, 'ext4.img');
  const mountPoint = join(base, 'mnt');
  let mounted = false;
  const remove = (): void => {
    if (mounted) {
      try {
        execFileSync('umount', [mountPoint], { stdio: 'ignore' });
        mounted = false;
      } catch {
        // Busy (a process still inside): lazy unmount frees it when the last one leaves.
        execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
        mounted = false;
      }
    }
    rmSync(base, { recursive: true, force: true });
  };
  try {
    mkdirSync(mountPoint);
    execFileSync('truncate', ['-s', `${sizeGiB}G`, image]);
    // Inode tables and journal written now, not by ext4lazyinit in the background while measuring.
    execFileSync('mkfs.ext4', ['-q', '-F', '-N', String(inodes), '-E', 'lazy_itable_init=0,lazy_journal_init=0', image], { stdio: 'pipe' });
    execFileSync('mount', ['-o', 'loop', image, mountPoint], { stdio: 'pipe' });
    mounted = true;
    const dir = join(mountPoint, 'tmp');
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    return { dir, note: `difusores' folders on a journaled ext4 (${sizeGiB} GiB image, loop-mounted); see bench/journaled-disk.ts`, remove };
  } catch (error) {
    const reason = ((error as { stderr?: Buffer }).stderr?.toString() || (error as Error).message).trim().split('\n')[0];
    remove();
    return {
      dir: tmpdir(),
      note: `difusores' folders in ${tmpdir()} (could not mount a journaled ext4 image: ${reason}); on an ext4 without a journal, files created after the bench's clean-ups cost much more`,
      remove: () => undefined,
    };
  }
}
