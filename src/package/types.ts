// What the package builder produces and the package store keeps.
import type { PackageFormat } from '../registry/types.js';

export interface BuiltPackage {
  cutId: string;
  /** ISO 8601 with offset, as in MANIFEST.json. */
  cutTime: string;
  format: PackageFormat;
  /** Absolute path of the archive inside the store. */
  file: string;
  /** Base name, e.g. `PREP2024_MICH_20240602_2020.tar.gz`. */
  fileName: string;
  /** Absolute path of `<fileName>.sha256` (one `sha256sum` line). */
  sha256File: string;
  /** Lower-case hex. */
  sha256: string;
  bytes: number;
  /** Number of files from the source folder (MANIFEST.json not counted). */
  fileCount: number;
  /** Absolute path of `<fileName>.sig` (SSH signature), when the registry has a signing_key. */
  sigFile?: string;
  /**
   * SHA-256 of what the package holds from the source (MANIFEST.json's file list): the content a
   * cut id names, whatever the archive format. Absent for packages stored before it was recorded.
   */
  sourceSha256?: string;
}
