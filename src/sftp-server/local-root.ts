// Maps the SFTP view (absolute POSIX paths, status codes, attributes) onto a local directory.
import type { Stats } from 'node:fs';
import { posix, sep } from 'node:path';

import ssh2 from 'ssh2';

const { STATUS_CODE } = ssh2.utils.sftp;

/** The remote path as the client will see it back: absolute, normalised, `..` clamped at `/`. */
export function normaliseRemotePath(remotePath: string): string {
  return posix.resolve('/', remotePath || '.');
}

/** The local file behind a remote path; `..` cannot climb above the served root. */
export function toLocalPath(root: string, remotePath: string): string {
  const normalised = normaliseRemotePath(remotePath);
  const trimmedRoot = root.endsWith(sep) ? root.slice(0, -1) : root;
  return normalised === '/' ? trimmedRoot : trimmedRoot + normalised.split('/').join(sep);
}

export interface SftpStatus {
  code: number;
  message: string;
}

/**
 * The SFTP status OpenSSH's sftp-server would send for a failed file-system call
 * (errno_to_portable in sftp-server.c): ENOSPC has no code of its own in SFTP v3 and becomes a
 * bare FAILURE there too.
 */
export function statusOfError(error: unknown): SftpStatus {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EBADF':
    case 'ELOOP':
      return { code: STATUS_CODE.NO_SUCH_FILE, message: 'No such file' };
    case 'EPERM':
    case 'EACCES':
    case 'EROFS':
      return { code: STATUS_CODE.PERMISSION_DENIED, message: 'Permission denied' };
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return { code: STATUS_CODE.BAD_MESSAGE, message: 'Bad message' };
    default:
      return { code: STATUS_CODE.FAILURE, message: 'Failure' };
  }
}

export interface SftpAttributes {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: number;
  mtime: number;
}

export function attributesOf(stats: Stats): SftpAttributes {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The `ls -l` line clients show for a directory entry (READDIR's longname). */
export function longnameOf(name: string, stats: Stats): string {
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx'
    .split('')
    .map((letter, i) => (stats.mode & (1 << (8 - i)) ? letter : '-'))
    .join('');
  const when = stats.mtime;
  const date = `${MONTHS[when.getMonth()]} ${String(when.getDate()).padStart(2, ' ')} ${String(when.getHours()).padStart(2, '0')}:${String(when.getMinutes()).padStart(2, '0')}`;
  return `${type}${bits}    1 ${String(stats.uid).padEnd(8)} ${String(stats.gid).padEnd(8)} ${String(stats.size).padStart(8)} ${date} ${name}`;
}
