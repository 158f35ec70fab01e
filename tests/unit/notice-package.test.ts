// The notice for package-mode difusores: its names never collide with a cut's packages, the
// orderings (LATEST, APPLIED as a delta base, site rollback, pruning) treat `<cut>-aviso` as that
// cut, and the package itself holds exactly the notice, its manifest and the manifest's signature.
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { appliedCutOf, choosePackageFor } from '../../src/delivery/modes/package-choice.js';
import { shouldReplaceLatest } from '../../src/delivery/modes/latest.js';
import { buildNoticePackage, noticePackageFileName } from '../../src/notice/package.js';
import { noticeReleaseName, writeNoticeRelease } from '../../src/notice/release.js';
import { packageFileName } from '../../src/package/build-package.js';
import { deltaFileName } from '../../src/package/delta.js';
import type { BuiltPackage } from '../../src/package/types.js';
import { isRollback, releasesToPrune } from '../../src/publish/layout.js';
import type { SshSigner } from '../../src/signing/sshsig.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';

const C = '20240602_2040';

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An Ed25519 signer from a fresh key (no files, no ssh-keygen). */
function aSigner(): SshSigner {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { publicKeyBlob: Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]), signRaw: (data) => sign(null, data, privateKey) };
}

/** Entry names of a tar.gz, in order (our writer's plain ustar headers). */
function tarNames(archive: Buffer): string[] {
  const tar = gunzipSync(archive);
  const names: string[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar.subarray(at, at + 100).toString('utf8').replace(/\0.*$/s, '');
    if (name === '') break;
    const size = parseInt(tar.subarray(at + 124, at + 136).toString('ascii').replace(/\0.*$/s, '').trim(), 8);
    names.push(name);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe('notice names', () => {
  it.each([
    ['PREP2024_MICH_{cut}', 'PREP2024_MICH_20240602_2040-aviso.tar.gz'],
    ['{cut}_PREP', '20240602_2040_PREP-aviso.tar.gz'],
    ['PREP_{cut}_v2', 'PREP_20240602_2040_v2-aviso.tar.gz'],
  ])('package.name %j → notice package %j, never a cut package or a delta', (template, name) => {
    expect(noticePackageFileName(template, C)).toBe(name);
    for (const cut of ['20240602_2020', C, '20240602_2100']) {
      for (const format of ['tar.gz', 'zip'] as const) {
        const full = packageFileName(template, cut, format);
        expect(name).not.toBe(full);
        expect(name).not.toBe(deltaFileName(full, '20240602_2000'));
      }
    }
  });

  it('the release is the cut id with the notice mark', () => expect(noticeReleaseName(C)).toBe('20240602_2040-aviso'));
});

describe('orderings with a notice in place', () => {
  const latestNotice = `${noticePackageFileName('PREP_{cut}', C)}\n`;
  it.each([
    ['the next cut', '20240602_2100', true],
    ['the same cut C (after unblock: its results replace the notice)', C, true],
    ['an older cut', '20240602_2020', false],
  ])('LATEST naming the notice of C is replaced by %s: %s', (_why, cut, replaced) => {
    expect(shouldReplaceLatest(latestNotice, cut)).toBe(replaced);
  });

  it('LATEST naming cut C lets the notice of C in (it replaces C\'s results)', () => {
    expect(shouldReplaceLatest(`PREP_${C}.tar.gz\n`, C)).toBe(true);
    expect(shouldReplaceLatest(`PREP_20240602_2100.tar.gz\n`, C)).toBe(false);
  });

  it('APPLIED naming a notice is no delta base: the next package is full', () => {
    expect(appliedCutOf(`${C}-aviso\n`)).toBeNull();
    const pkg = { cutId: '20240602_2100', fileName: 'PREP_20240602_2100.tar.gz', file: '/s/PREP_20240602_2100.tar.gz', bytes: 9 } as BuiltPackage;
    const delta = { lastDeliveredCut: () => C, find: () => ({ baseCutId: C, cutId: '20240602_2100', file: '/s/d', fileName: 'd', sha256File: '/s/d.sha256', sha256: 'x', bytes: 1, fileCount: 0 }) };
    expect(choosePackageFor('el-sol', `${C}-aviso\n`, { pkg, sha256Text: 'x  P\n' }, { delta }).kind).toBe('full');
  });

  it.each([
    ['20240602_2040-aviso', '20240602_2040', false],
    ['20240602_2040', '20240602_2040-aviso', false],
    ['20240602_2040-aviso', '20240602_2100', false],
    ['20240602_2040-aviso', '20240602_2020', true],
  ])('site mode: current %j, publishing %j: rollback %s', (current, next, rollback) => expect(isRollback(current, next)).toBe(rollback));

  it('pruning counts notice releases and never removes the current one', () => {
    const releases = ['20240602_2000', '20240602_2020', '20240602_2040', '20240602_2040-aviso'];
    expect(releasesToPrune(releases, 2, ['20240602_2040-aviso'])).toEqual(['20240602_2000', '20240602_2020']);
    expect(releasesToPrune(releases, 1, ['20240602_2020'])).toEqual(['20240602_2000', '20240602_2040']);
  });
});

describe('buildNoticePackage', () => {
  let stateDir: string;
  beforeEach(() => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'notice-package-'));
  });
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  const registry = aRegistry([aDifusor('el-sol')], { package: { name: 'PREP_{cut}', format: 'zip' } });
  const due = { difusor: registry.difusores[0], since: '2024-06-03T02:41:00.000Z', reason: 'auto: missed 3 consecutive cuts', by: 'auto' as const, publicReason: null, failures: 0 };

  it('holds index.html, json/main.json, the notice manifest and its signature; same notice, same bytes', async () => {
    const signer = aSigner();
    const release = await writeNoticeRelease(registry, stateDir, due, { id: C, time: '2024-06-02T20:40:00-06:00' });
    const pkg = buildNoticePackage(release, registry.package.name, signer);
    expect(pkg).toMatchObject({ cutId: C, format: 'tar.gz', fileName: `PREP_${C}-aviso.tar.gz`, fileCount: 2 });
    const archive = readFileSync(pkg.file);
    expect(tarNames(archive)).toEqual(['json/', 'index.html', 'json/main.json', 'MANIFEST.json', 'MANIFEST.json.sig']);
    expect(readFileSync(pkg.sha256File, 'utf8')).toBe(`${pkg.sha256}  ${pkg.fileName}\n`);
    expect(readFileSync(pkg.sigFile as string, 'utf8')).toMatch(/^-----BEGIN SSH SIGNATURE-----\n/);
    const manifest = JSON.parse(readFileSync(path.join(release.sourceDir, 'MANIFEST.json'), 'utf8'));
    expect(manifest.cut.id).toBe(C);
    expect(manifest.notice).toMatchObject({ difusor: 'el-sol' });
    expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(['index.html', 'json/main.json']);
    expect(buildNoticePackage(release, registry.package.name, signer).sha256).toBe(pkg.sha256);
  });

  it('refuses to build before any cut exists (no name to give it)', async () => {
    const release = await writeNoticeRelease(registry, stateDir, due, null);
    expect(() => buildNoticePackage(release, registry.package.name, aSigner())).toThrow(/no cut has been built yet/);
  });
});
