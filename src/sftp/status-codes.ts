// SFTP status codes (draft-ietf-secsh-filexfer); 14/15 come from v5+ servers and from fakes. The one
// home of these numbers for every reader of a server's answer.
export const SFTP_EOF = 1;
export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;
export const SFTP_FAILURE = 4;
export const SFTP_NO_CONNECTION = 6;
export const SFTP_CONNECTION_LOST = 7;
export const SFTP_NO_SPACE_ON_FILESYSTEM = 14;
export const SFTP_QUOTA_EXCEEDED = 15;

/** Whether a failed request's error is the server's "no such file". */
export function isNoSuchFile(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === SFTP_NO_SUCH_FILE;
}
