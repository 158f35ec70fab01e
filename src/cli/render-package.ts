// The lines printed for a package built (`build`, and `cut` as it goes). Apart from ./render.ts so
// that `build` loads neither chalk nor the SFTP layer render.ts names: about 15 ms of CPU of its
// start-up (2026-12 measurement, 2 cores).
import { formatBytes } from '../core/duration.js';
import type { BuiltPackage } from '../package/types.js';
import { plural } from './io.js';

export function renderPackage(pkg: BuiltPackage): string[] {
  return [
    `package  ${pkg.file}`,
    `sha256   ${pkg.sha256}`,
    `size     ${formatBytes(pkg.bytes)} (${pkg.bytes} bytes), ${plural(pkg.fileCount, 'file')}, cut ${pkg.cutId} (${pkg.cutTime})`,
  ];
}
