// Signing a package while it is written: the archive's bytes feed an SHA-512 for `<package>.sig`,
// and MANIFEST.json gets `MANIFEST.json.sig` inside the archive (so releases made from it hold it).
// The manifest's bytes are kept too: delta packages (delta.ts) are computed from them.
import type { Hash } from 'node:crypto';
import { messageHash, signBytes, signDigest, type SshSigner } from '../signing/sshsig.js';
import type { AfterManifest } from './manifest.js';
import { writeStoreFileAtomically } from './store-files.js';

export const MANIFEST_SIGNATURE_NAME = 'MANIFEST.json.sig';
export const SIGNATURE_SUFFIX = '.sig';

/** One package being built: feed it every archive byte, then write the `.sig` into the store. */
export class PackageSigning {
  private readonly hash: Hash | undefined;
  /** MANIFEST.json as written into the archive (set once the writer reaches it). */
  manifest: Buffer | undefined;
  /** MANIFEST.json.sig as written into the archive (with a key). */
  manifestSignature: Buffer | undefined;

  constructor(private readonly signer: SshSigner | undefined) {
    this.hash = signer ? messageHash() : undefined;
  }

  /** Every byte of the archive, in order. */
  update(bytes: Buffer): void {
    this.hash?.update(bytes);
  }

  /** For the archive writers: keeps MANIFEST.json and, with a key, adds MANIFEST.json.sig after it. */
  readonly afterManifest: AfterManifest = (manifest) => {
    this.manifest = manifest;
    if (!this.signer) return [];
    this.manifestSignature = Buffer.from(signBytes(this.signer, manifest));
    return [{ path: MANIFEST_SIGNATURE_NAME, data: this.manifestSignature }];
  };

  /** Writes `<fileName>.sig` into the store (before the package's record marks it complete); its path, or undefined without a key. */
  writeSignature(storeDir: string, fileName: string): string | undefined {
    if (!this.signer || !this.hash) return undefined;
    return writeStoreFileAtomically(storeDir, `${fileName}${SIGNATURE_SUFFIX}`, signDigest(this.signer, this.hash.digest()));
  }
}
