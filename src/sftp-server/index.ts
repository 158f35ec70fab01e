// The in-process SFTP server: used by `prep-push demo` and by tests that need a faulty difusor.
export { generateReadableKeyPair, sha256Fingerprint, startSftpServer } from './server.js';
export type { SftpFaults, SftpQuirks, SftpServerHandle, StartSftpServerOptions } from './types.js';
