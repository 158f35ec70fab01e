// SSH signatures (OpenSSH PROTOCOL.sshsig, what `ssh-keygen -Y sign` writes): pure bytes in and out.
// Ed25519 is deterministic, so for the same key and message these bytes equal ssh-keygen's.
import { createHash } from 'node:crypto';

export const SIGNATURE_NAMESPACE = 'prep-push';
/** What `ssh-keygen -Y sign` uses by default, and what signBytes uses. */
export const SIGNATURE_HASH = 'sha512';
/** SSHSIG's two hash algorithms; `ssh-keygen -Y verify` (OpenSSH 8.1 on) accepts either. */
export type SignatureHash = 'sha256' | 'sha512';
const MAGIC = Buffer.from('SSHSIG', 'ascii');
const VERSION = 1;
const ARMOR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOR_END = '-----END SSH SIGNATURE-----';
const ARMOR_COLUMNS = 70;

/** What signs: the key's public blob (`string "ssh-ed25519" string key`) and a raw Ed25519 signer. */
export interface SshSigner {
  publicKeyBlob: Buffer;
  /** The raw 64-byte Ed25519 signature of `data`. */
  signRaw(data: Buffer): Buffer;
}

/** SSH wire `string`: uint32 length, then the bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}


/** The blob that is actually signed: magic, namespace, reserved, hash algorithm, H(message). */
export function signedData(namespace: string, messageDigest: Buffer, hash: SignatureHash = SIGNATURE_HASH): Buffer {
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hash), sshString(messageDigest)]);
}

/** The binary signature for a message whose `hash` (SHA-512 by default) is `messageDigest`. */
export function signatureBlob(signer: SshSigner, namespace: string, messageDigest: Buffer, hash: SignatureHash = SIGNATURE_HASH): Buffer {
  const keyType = readSshString(signer.publicKeyBlob, 0).value.toString('ascii');
  const raw = signer.signRaw(signedData(namespace, messageDigest, hash));
  const version = Buffer.alloc(4);
  version.writeUInt32BE(VERSION);
  return Buffer.concat([
    MAGIC,
    version,
    sshString(signer.publicKeyBlob),
    sshString(namespace),
    sshString(''),
    sshString(hash),
    sshString(Buffer.concat([sshString(keyType), sshString(raw)])),
  ]);
}

/** The armored text ssh-keygen writes to FILE.sig: base64 at 70 columns between the markers. */
export function armorSignature(blob: Buffer): string {
  const base64 = blob.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += ARMOR_COLUMNS) lines.push(base64.slice(i, i + ARMOR_COLUMNS));
  return `${ARMOR_BEGIN}\n${lines.join('\n')}\n${ARMOR_END}\n`;
}

/** `FILE.sig` text for message bytes held in memory (MANIFEST.json). */
export function signBytes(signer: SshSigner, message: Buffer, namespace = SIGNATURE_NAMESPACE): string {
  return armorSignature(signatureBlob(signer, namespace, createHash(SIGNATURE_HASH).update(message).digest()));
}

/**
 * `FILE.sig` text with SSHSIG's `sha256` algorithm, for a message whose SHA-256 is already known (a
 * package: the build computes it for `.sha256`). Equals `ssh-keygen -Y sign -O hashalg=sha256`. A
 * second, SHA-512 pass over an 18.9 MB archive cost the build ~39 ms on its critical path
 * (docs/benchmarks.md, 7c).
 */
export function signSha256Digest(signer: SshSigner, sha256Digest: Buffer, namespace = SIGNATURE_NAMESPACE): string {
  return armorSignature(signatureBlob(signer, namespace, sha256Digest, 'sha256'));
}

/** The `allowed_signers` line trusting this key for prep-push signatures of `principal`. */
export function allowedSignersLine(principal: string, publicKeyBlob: Buffer): string {
  const keyType = readSshString(publicKeyBlob, 0).value.toString('ascii');
  return `${principal} namespaces="${SIGNATURE_NAMESPACE}" ${keyType} ${publicKeyBlob.toString('base64')}\n`;
}

function readSshString(buffer: Buffer, offset: number): { value: Buffer; next: number } {
  const length = buffer.readUInt32BE(offset);
  return { value: buffer.subarray(offset + 4, offset + 4 + length), next: offset + 4 + length };
}
