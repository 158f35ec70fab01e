// Signatures made with node:crypto against the real ssh-keygen: byte-identical to `ssh-keygen -Y sign`,
// accepted by `ssh-keygen -Y verify`, and refused for tampered bytes, another namespace, another key.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PrepPushError } from '../../src/core/errors.js';
import { loadSigningKey, signerFromKeyData } from '../../src/signing/load-signing-key.js';
import { createHash } from 'node:crypto';
import { allowedSignersLine, signBytes, signSha256Digest } from '../../src/signing/sshsig.js';
import { makeKeyPair } from '../helpers/keys.js';

const run = promisify(execFile);

/** `ssh-keygen -Y verify` with the message on stdin; resolves with its exit code. */
function verify(dir: string, principal: string, namespace: string, sigFile: string, message: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', ['-Y', 'verify', '-f', path.join(dir, 'allowed_signers'), '-I', principal, '-n', namespace, '-s', sigFile], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
    child.stdin.end(message);
  });
}

describe('SSH signatures', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-sign-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a short text', Buffer.from('hola\n')],
    ['empty bytes', Buffer.alloc(0)],
    ['100 kB of binary', Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251))],
  ])('equals ssh-keygen -Y sign byte for byte for %s, and ssh-keygen -Y verify accepts it', async (_label, message) => {
    const key = await makeKeyPair(dir, `k${Math.random().toString(16).slice(2)}`);
    const file = path.join(dir, `msg-${path.basename(key.privateKeyPath)}`);
    await writeFile(file, message);
    await run('ssh-keygen', ['-Y', 'sign', '-f', key.privateKeyPath, '-n', 'prep-push', file]);
    const expected = await readFile(`${file}.sig`, 'utf8');
    const signer = signerFromKeyData(await readFile(key.privateKeyPath), undefined, key.privateKeyPath);
    const mine = signBytes(signer, message);
    expect(mine).toBe(expected);

    await writeFile(path.join(dir, 'allowed_signers'), allowedSignersLine('IEM', signer.publicKeyBlob));
    await writeFile(`${file}.mine.sig`, mine);
    expect(await verify(dir, 'IEM', 'prep-push', `${file}.mine.sig`, message)).toBe(0);
  });

  it('a package signature (SSHSIG sha256 over the SHA-256 the build already has) equals ssh-keygen -Y sign -O hashalg=sha256, is accepted, and refused for other bytes', async () => {
    const key = await makeKeyPair(dir, 'pkg');
    const message = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31) % 253));
    const file = path.join(dir, 'PREP_20240602_2020.tar.gz');
    await writeFile(file, message);
    await run('ssh-keygen', ['-Y', 'sign', '-O', 'hashalg=sha256', '-f', key.privateKeyPath, '-n', 'prep-push', file]);
    const signer = signerFromKeyData(await readFile(key.privateKeyPath), undefined, key.privateKeyPath);
    const mine = signSha256Digest(signer, createHash('sha256').update(message).digest());
    expect(mine).toBe(await readFile(`${file}.sig`, 'utf8'));
    await writeFile(path.join(dir, 'allowed_signers'), allowedSignersLine('IEM', signer.publicKeyBlob));
    await writeFile(`${file}.mine.sig`, mine);
    expect(await verify(dir, 'IEM', 'prep-push', `${file}.mine.sig`, message)).toBe(0);
    expect(await verify(dir, 'IEM', 'prep-push', `${file}.mine.sig`, Buffer.concat([message, Buffer.from('x')]))).not.toBe(0);
  });

  it('is refused by ssh-keygen -Y verify for tampered bytes, another namespace, another key, another principal', async () => {
    const ours = await makeKeyPair(dir, 'ours');
    const theirs = await makeKeyPair(dir, 'theirs');
    const message = Buffer.from('{"cut":{"id":"20240602_2020"}}\n');
    const signer = signerFromKeyData(await readFile(ours.privateKeyPath), undefined, 'ours');
    await writeFile(path.join(dir, 'allowed_signers'), allowedSignersLine('IEM', signer.publicKeyBlob));
    const sigFile = path.join(dir, 'refused.sig');

    await writeFile(sigFile, signBytes(signer, message));
    expect(await verify(dir, 'IEM', 'prep-push', sigFile, message)).toBe(0);
    expect(await verify(dir, 'IEM', 'prep-push', sigFile, Buffer.from('{"cut":{"id":"20240602_2040"}}\n'))).not.toBe(0);
    expect(await verify(dir, 'OTRO', 'prep-push', sigFile, message)).not.toBe(0);

    await writeFile(sigFile, signBytes(signer, message, 'file'));
    expect(await verify(dir, 'IEM', 'prep-push', sigFile, message)).not.toBe(0);

    const foreign = signerFromKeyData(await readFile(theirs.privateKeyPath), undefined, 'theirs');
    await writeFile(sigFile, signBytes(foreign, message));
    expect(await verify(dir, 'IEM', 'prep-push', sigFile, message)).not.toBe(0);
  });

  it('loads a passphrase-protected key from the variable the registry names, and refuses RSA and public keys', async () => {
    const locked = await makeKeyPair(dir, 'locked', { passphrase: 's3creta' });
    const signer = await loadSigningKey({ keyPath: locked.privateKeyPath, passphraseEnv: 'PREP_SIGN_PASS' }, { PREP_SIGN_PASS: 's3creta' });
    expect(allowedSignersLine('IEM', signer.publicKeyBlob)).toBe(`IEM namespaces="prep-push" ${locked.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    await expect(loadSigningKey({ keyPath: locked.privateKeyPath, passphraseEnv: 'PREP_SIGN_PASS' }, {})).rejects.toThrow(PrepPushError);
    const rsa = await makeKeyPair(dir, 'rsa', { type: 'rsa' });
    await expect(loadSigningKey({ keyPath: rsa.privateKeyPath }, {})).rejects.toThrow(/ed25519/);
    await expect(loadSigningKey({ keyPath: locked.publicKeyPath }, {})).rejects.toThrow(/public key/);
    await expect(loadSigningKey({ keyPath: path.join(dir, 'missing') }, {})).rejects.toThrow(/cannot read/);
  });
});
