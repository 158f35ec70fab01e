// Shared steps of the interoperability tests (ProFTPD, Dropbear): a real package to deliver, one
// delivery through the real ssh2 transport, and what a difusor's folder holds afterwards.
// Uses no jest globals.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { cutAt } from '../../src/core/cut.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import type { DeliveryResult } from '../../src/delivery/types.js';
import { deliverToDifusor } from '../../src/delivery/deliver-one.js';
import { buildPackage } from '../../src/package/build-package.js';
import type { BuiltPackage } from '../../src/package/types.js';
import type { Difusor, PushSettings } from '../../src/registry/types.js';
import { resultsDelivery } from './delivery.js';

export const INTEROP_SETTINGS: PushSettings = { concurrency: 4, connectTimeoutS: 10, transferTimeoutS: 30, retries: 2 };

/** Builds a real package of a small site (plus `extraBytes` of incompressible data) for a cut. */
export async function buildInteropPackage(work: string, iso: string, extraBytes = 0): Promise<BuiltPackage> {
  const source = join(work, `site-${iso.replace(/\W/g, '')}`);
  await mkdir(join(source, 'json'), { recursive: true });
  await writeFile(join(source, 'index.html'), '<h1>PREP</h1>\n');
  await writeFile(join(source, 'json', 'main.json'), `{"corte":"${iso}"}\n`);
  if (extraBytes > 0) await writeFile(join(source, 'fotos.bin'), randomBytes(extraBytes));
  return buildPackage({
    sourceDir: source,
    cut: cutAt(Date.parse(iso), 'America/Mexico_City'),
    institute: 'IEM',
    nameTemplate: 'PREP2024_MICH_{cut}',
    format: 'tar.gz',
    storeDir: join(work, 'store'),
  });
}

/** One delivery of `pkg` to `difusor` through the real transport, as a cut does it. */
export async function deliverOnce(difusor: Difusor, pkg: BuiltPackage, settings: PushSettings = INTEROP_SETTINGS): Promise<DeliveryResult> {
  const sha256Text = await readFile(pkg.sha256File, 'utf8');
  return deliverToDifusor(resultsDelivery({ difusor, pkg, sha256Text, settings }), { transport: ssh2Transport, env: {}, clock: systemClock });
}

export interface LocalFileState {
  name: string;
  /** Permission bits. */
  mode: number;
  bytes: Buffer;
}

/** What a difusor's folder holds, read on the server's own disk (names sorted). */
export async function filesIn(dir: string): Promise<LocalFileState[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (name) => ({ name, mode: (await stat(join(dir, name))).mode & 0o7777, bytes: await readFile(join(dir, name)) })),
  );
}

/** Every path under `dir`, relative, sorted (to show nothing was created). */
export async function treeOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}
