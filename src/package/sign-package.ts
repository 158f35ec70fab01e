// Signing a package: `<package>.sig` signs the archive's SHA-256 (SSHSIG `sha256`, the digest the
// build computes for `.sha256` anyway), and MANIFEST.json gets `MANIFEST.json.sig` inside the
// archive (so releases made from it hold it).
// The manifest's bytes are kept too: delta packages (delta.ts) are computed from them.
import { signBytes, signSha256Digest, type SshSigner } from '../signing/sshsig.js';
import type { AfterManifest } from './manifest.js';
import { writeStoreFileAtomically } from './store-files.js';

export const MANIFEST_SIGNATURE_NAME = 'MANIFEST.json.sig';
export const SIGNATURE_SUFFIX = '.sig';

/** One package being built: feed it every archive byte, then write the `.sig` into the store. */
/** `<package>.sig` text for a package file (full or delta) whose hex SHA-256 is `sha256`. */
export function packageSignatureText(signer: SshSigner, sha256: string): string {
  return signSha256Digest(signer, Buffer.from(sha256, 'hex'));
}

export class PackageSigning {
  /** MANIFEST.json as written into the archive (set once the writer reaches it). */
  manifest: Buffer | undefined;
  /** MANIFEST.json.sig as written into the archive (with a key). */
  manifestSignature: Buffer | undefined;

  constructor(private readonly signer: SshSigner | undefined) {}

  /** For the archive writers: keeps MANIFEST.json and, with a key, adds MANIFEST.json.sig after it. */
  readonly afterManifest: AfterManifest = (manifest) => {
    this.manifest = manifest;
    if (!this.signer) return [];
    this.manifestSignature = Buffer.from(signBytes(this.signer, manifest));
    return [{ path: MANIFEST_SIGNATURE_NAME, data: this.manifestSignature }];
  };

  /**
   * Writes `<fileName>.sig` for the archive whose hex SHA-256 is `sha256` into the store (before the
   * package's record marks it complete); its path, or undefined without a key.
   */
  writeSignature(storeDir: string, fileName: string, sha256: string): string | undefined {
    if (!this.signer) return undefined;
    return writeStoreFileAtomically(storeDir, `${fileName}${SIGNATURE_SUFFIX}`, packageSignatureText(this.signer, sha256));
  }
}
