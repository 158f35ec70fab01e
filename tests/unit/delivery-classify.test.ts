// Failure classification from the error shapes ssh2 and Node really produce (captured against
// real sshd, the in-process server and closed/blackholed ports), and the messages built from it.
import {
  DeliveryError,
  authFailureHint,
  classifyError,
  describeError,
  failureMessage,
  type ClassifyContext,
} from '../../src/sftp/classify.js';
import type { FailureCode } from '../../src/core/failure-codes.js';

/** An error shaped like the real one: a message plus the own properties Node/ssh2 attach. */
function anError(message: string, props: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), props);
}

const connect: ClassifyContext = { stage: 'connect' };
const transfer: ClassifyContext = { stage: 'transfer' };

const cases: Array<[string, unknown, ClassifyContext, FailureCode]> = [
  [
    'TCP refused',
    anError('connect ECONNREFUSED 127.0.0.1:1', { errno: -111, code: 'ECONNREFUSED', syscall: 'connect', address: '127.0.0.1', port: 1, level: 'client-socket' }),
    connect,
    'CONNECT_REFUSED',
  ],
  [
    'DNS name does not exist',
    anError('getaddrinfo ENOTFOUND nohost.invalid', { errno: -3008, code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nohost.invalid', level: 'client-socket' }),
    connect,
    'HOST_UNREACHABLE',
  ],
  ['DNS temporary failure', anError('getaddrinfo EAI_AGAIN prep.example', { code: 'EAI_AGAIN', level: 'client-socket' }), connect, 'HOST_UNREACHABLE'],
  ['no route to host', anError('connect EHOSTUNREACH 203.0.113.10:22', { code: 'EHOSTUNREACH', level: 'client-socket' }), connect, 'HOST_UNREACHABLE'],
  ['network unreachable', anError('connect ENETUNREACH 203.0.113.10:22', { code: 'ENETUNREACH', level: 'client-socket' }), connect, 'HOST_UNREACHABLE'],
  ['OS connect timeout', anError('connect ETIMEDOUT 203.0.113.10:22', { code: 'ETIMEDOUT', level: 'client-socket' }), connect, 'CONNECT_TIMEOUT'],
  ['ssh2 readyTimeout', anError('Timed out while waiting for handshake', { level: 'client-timeout' }), connect, 'CONNECT_TIMEOUT'],
  ['authentication refused', anError('All configured authentication methods failed', { level: 'client-authentication' }), connect, 'AUTH_FAILED'],
  ['wrong key passphrase', anError('Cannot parse privateKey: Encrypted private OpenSSH key detected, but no passphrase given'), connect, 'AUTH_FAILED'],
  ['host key refused by our verifier', anError('Host denied (verification failed)', { level: 'handshake', fatal: true }), connect, 'HOST_KEY_MISMATCH'],
  ['server closed before the banner', anError('Connection lost before handshake', { level: 'protocol', fatal: true }), connect, 'CONNECTION_LOST'],
  ['SFTP permission denied (sshd -R, EACCES)', anError('Permission denied', { code: 3, lang: '' }), transfer, 'PERMISSION_DENIED'],
  ['SFTP NO_SPACE_ON_FILESYSTEM (v5+ servers)', anError('No space left on device', { code: 14 }), transfer, 'NO_SPACE'],
  ['SFTP QUOTA_EXCEEDED', anError('Quota exceeded', { code: 15 }), transfer, 'NO_SPACE'],
  ['SFTP FAILURE saying so', anError('write failed: disk full', { code: 4 }), transfer, 'NO_SPACE'],
  ['OpenSSH ENOSPC: bare Failure, statvfs shows no room', anError('Failure', { code: 4 }), { stage: 'transfer', freeBytesAfterFailure: 0, bytesNeeded: 4096 }, 'NO_SPACE'],
  ['bare Failure with room left', anError('Failure', { code: 4 }), { stage: 'transfer', freeBytesAfterFailure: 1e9, bytesNeeded: 4096 }, 'SFTP_ERROR'],
  ['bare Failure, statvfs unavailable', anError('Failure', { code: 4 }), transfer, 'SFTP_ERROR'],
  ['SFTP no such file', anError('No such file', { code: 2 }), transfer, 'SFTP_ERROR'],
  ['SFTP op unsupported', anError('Operation unsupported', { code: 8 }), transfer, 'SFTP_ERROR'],
  ['requests pending when the channel closed', anError('No response from server'), transfer, 'CONNECTION_LOST'],
  ['our session saw the socket close', anError('connection closed by the server or the network: read ECONNRESET', { code: 'ECONNRESET' }), transfer, 'CONNECTION_LOST'],
  ['socket reset', anError('read ECONNRESET', { errno: -104, code: 'ECONNRESET', syscall: 'read', level: 'client-socket' }), transfer, 'CONNECTION_LOST'],
  ['broken pipe', anError('write EPIPE', { code: 'EPIPE', level: 'client-socket' }), transfer, 'CONNECTION_LOST'],
  ['keepalives unanswered', anError('Keepalive timeout', { level: 'client-timeout' }), transfer, 'CONNECTION_LOST'],
  ['an idle ETIMEDOUT mid-transfer', anError('read ETIMEDOUT', { code: 'ETIMEDOUT' }), transfer, 'CONNECTION_LOST'],
  ['SFTP CONNECTION_LOST status', anError('Connection lost', { code: 7 }), transfer, 'CONNECTION_LOST'],
  ['a coded error keeps its code', new DeliveryError('VERIFY_FAILED', 'size differs'), transfer, 'VERIFY_FAILED'],
  ['deadline during transfer', new DeliveryError('TRANSFER_TIMEOUT', 'not finished'), transfer, 'TRANSFER_TIMEOUT'],
  ['something new', anError('Unexpected packet'), transfer, 'SFTP_ERROR'],
  ['not even an Error', 'a string', transfer, 'SFTP_ERROR'],
  ['an error object from another realm (jest vm)', { message: 'connect ECONNREFUSED 127.0.0.1:1', code: 'ECONNREFUSED' }, connect, 'CONNECT_REFUSED'],
];

cases.push(
  [
    'ProFTPD under SFTP v3: a full disk is status 4 "Out of disk space"',
    anError('Out of disk space', { code: 4, lang: 'en-US' }),
    transfer,
    'NO_SPACE',
  ],
  ['a v5+ server: SSH_FX_NO_SPACE_ON_FILESYSTEM', anError('No space left on device', { code: 14 }), transfer, 'NO_SPACE'],
  ['a v5+ server: SSH_FX_QUOTA_EXCEEDED', anError('Quota exceeded', { code: 15 }), transfer, 'NO_SPACE'],
  [
    'OpenSSH: a bare "Failure" with statvfs showing less free space than needed',
    anError('Failure', { code: 4 }),
    { stage: 'transfer', freeBytesAfterFailure: 100, bytesNeeded: 1000 },
    'NO_SPACE',
  ],
  [
    'OpenSSH: a bare "Failure" with room enough is not a full disk',
    anError('Failure', { code: 4 }),
    { stage: 'transfer', freeBytesAfterFailure: 10_000, bytesNeeded: 1000 },
    'SFTP_ERROR',
  ],
  ['a missing remote_dir keeps its code', new DeliveryError('REMOTE_DIR_MISSING', 'remote_dir /prep does not exist'), transfer, 'REMOTE_DIR_MISSING'],
);

describe('authFailureHint', () => {
  test('a Dropbear server also names the shell it refuses whatever the key', () => {
    expect(authFailureHint('dropbear_2022.83')).toMatch(/Dropbear \(dropbear_2022\.83\).*shell is not listed in its \/etc\/shells/);
  });
  test('other servers get the key hint only', () => {
    expect(authFailureHint('OpenSSH_9.2p1')).toMatch(/confirm our public key is installed$/);
    expect(authFailureHint(undefined)).not.toMatch(/shell/);
  });
});

test.each(cases)('%s → %s', (_name, error, context, expected) => {
  expect(classifyError(error, context)).toBe(expected);
});

describe('failureMessage', () => {
  const elSol = { id: 'el-sol', host: '203.0.113.10', port: 2222 };

  test('names the difusor, host:port, what failed, the detail and what to do', () => {
    expect(
      failureMessage('HOST_KEY_MISMATCH', elSol, 'connecting as iem', 'host key mismatch: pinned SHA256:abc, server offered ssh-ed25519 SHA256:xyz'),
    ).toBe(
      'el-sol (203.0.113.10:2222): connecting as iem: host key mismatch: pinned SHA256:abc, server offered ssh-ed25519 SHA256:xyz; ' +
        'if el-sol rotated its key, confirm the new fingerprint with them (out of band) and update host_key',
    );
  });

  test('brackets IPv6 addresses', () => {
    expect(failureMessage('CONNECT_REFUSED', { id: 'x', host: '2001:db8::1', port: 22 }, 'connecting', 'refused')).toMatch(/^x \(\[2001:db8::1\]:22\): connecting: refused; /);
  });
});

describe('describeError', () => {
  test('adds the SFTP status or errno the message lacks', () => {
    expect(describeError(anError('Failure', { code: 4 }))).toBe('Failure (SFTP status 4)');
    // The address is already in every message's prefix: not repeated.
    expect(describeError(anError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }))).toBe('connection refused (ECONNREFUSED)');
    expect(describeError(anError('socket hang up', { code: 'ECONNRESET' }))).toBe('socket hang up (ECONNRESET)');
    expect(describeError(new DeliveryError('VERIFY_FAILED', 'size differs'))).toBe('size differs');
  });
});

import { shouldReplaceLatest } from '../../src/delivery/modes/latest.js';

describe('shouldReplaceLatest: LATEST only moves forward', () => {
  test.each([
    [null, '20240602_2020', true],
    ['PREP2024_MICH_20240602_2000.tar.gz\n', '20240602_2020', true],
    ['PREP2024_MICH_20240602_2020.tar.gz\n', '20240602_2020', true],
    ['PREP2024_MICH_20240602_2040.tar.gz\n', '20240602_2020', false],
    ['PREP_20990101_0000_MICH_20240602_2000.zip\n', '20240602_2020', true],
    ['something hand-written\n', '20240602_2020', true],
  ])('LATEST %j, pushing %s → replace %s', (current, cut, expected) => {
    expect(shouldReplaceLatest(current, cut)).toBe(expected);
  });
});
